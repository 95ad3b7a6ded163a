/**
 * The Kubernetes API test server holding a kubelet to what kube-apiserver holds it to (Node
 * authorizer, NodeRestriction, pod status validation, ServiceAccount admission), and the node
 * and pod controllers behaving under node credentials.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isStatus } from "../../src/kubelet/kube/api.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import type { ConfigMap, Lease, Node, Pod, PodStatus } from "../../src/kubelet/kube/types.js";
import { NodeController, NODE_LABELS } from "../../src/kubelet/node-controller.js";
import { PodController } from "../../src/kubelet/pod-controller.js";
import type {
  NodeDescription,
  NodeProvider,
  PodLifecycleHandler,
  ProviderPod,
} from "../../src/kubelet/provider-api.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const dir = mkdtempSync(join(tmpdir(), "dinv-node-access-"));
let server: KubeApiTestServer;
let admin: RestKubeApi;
const forbidden = (e: unknown) => isStatus(e, 403);

function asNode(node: string): RestKubeApi {
  const file = join(dir, `kubeconfig-${node}`);
  server.writeKubeconfig(file, { node });
  return new RestKubeApi(loadKubeConfig(file));
}

before(async () => {
  server = new KubeApiTestServer({ token: "admin-t0ken" });
  await server.start();
  server.writeKubeconfig(join(dir, "admin"));
  admin = new RestKubeApi(loadKubeConfig(join(dir, "admin")));
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pods = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
function pod(name: string, node: string, spec: Partial<Pod["spec"]> = {}): Pod {
  return { metadata: { name }, spec: { nodeName: node, containers: [{ name: "c", image: "i:1" }], ...spec } };
}

class FakeNodeProvider implements NodeProvider {
  cpu = "2";
  async ping() {}
  async describe(): Promise<NodeDescription> {
    return {
      capacity: { cpu: this.cpu, memory: "4096Ki", pods: "2" },
      allocatable: { cpu: this.cpu, memory: "4096Ki", pods: "2" },
      os: "linux",
      arch: "amd64",
      kernelVersion: "6.1",
      osImage: "Debian",
      containerRuntimeVersion: "docker://20.10.24",
      flavor: "docker",
      machineID: "m1",
    };
  }
}

const taint = { key: "virtual-kubelet.io/provider", value: "vic", effect: "NoSchedule" as const };
const nodeOptions = (nodeName: string) => ({
  nodeName,
  taints: [taint],
  port: 10250,
  nodeIP: "127.0.0.1",
  kubeletVersion: "dinv-test",
  leaseRenewMs: 50,
  pingIntervalMs: 20,
  statusIntervalMs: 100,
});

describe("NodeRestriction and the Node authorizer (test server)", () => {
  it("refuses a node the labels and taint changes dinv used to make, and other nodes' objects", async () => {
    const api = asNode("n1");
    // dinv's old registration: kubernetes.io/role is not a kubelet label.
    await assert.rejects(
      api.createNode({ metadata: { name: "n1", labels: { "kubernetes.io/role": "agent" } } }),
      (e: unknown) => forbidden(e) && String(e).includes("kubernetes.io/role"),
    );
    await assert.rejects(api.createNode({ metadata: { name: "n2" } }), forbidden);
    const created = await api.createNode({
      metadata: { name: "n1", labels: { ...NODE_LABELS, "kubernetes.io/hostname": "n1" } },
      spec: { taints: [taint] },
    });
    // dinv's old take-over rewrote its taints.
    await assert.rejects(
      api.updateNode({ ...created, spec: { taints: [{ ...taint, value: "other" }] } }),
      (e: unknown) => forbidden(e) && String(e).includes("not allowed to modify taints"),
    );
    await assert.rejects(
      api.createLease({ metadata: { name: "n2", namespace: "kube-node-lease" }, spec: {} }),
      forbidden,
    );
    await assert.rejects(
      api.createLease({ metadata: { name: "n1", namespace: "default" }, spec: {} }),
      forbidden,
    );
    await assert.rejects(api.listPods(""), forbidden);
    assert.ok(await api.listPods("spec.nodeName=n1"));
  });

  it("lets a node read only what its pods reference, and write only its pods' status", async () => {
    const ns = "graph";
    for (const name of ["mine", "theirs"])
      await admin.request("POST", `/api/v1/namespaces/${ns}/secrets`, { metadata: { name }, data: {} });
    await admin.request(
      "POST",
      pods(ns),
      pod("p", "n3", { volumes: [{ name: "s", secret: { secretName: "mine" } }] }),
    );
    await admin.request("POST", pods(ns), pod("q", "elsewhere"));
    const api = asNode("n3");
    assert.ok(await api.getSecret(ns, "mine"));
    await assert.rejects(api.getSecret(ns, "theirs"), (e: unknown) =>
      String(e).includes("no relationship found between node 'n3' and this object"),
    );
    await assert.rejects(api.request("GET", `/api/v1/namespaces/${ns}/secrets`), forbidden);
    const p = await admin.request<Pod>("GET", `${pods(ns)}/p`);
    const q = await admin.request<Pod>("GET", `${pods(ns)}/q`);
    await api.patchPodStatus(ns, "p", p.metadata?.uid ?? "", { phase: "Running" });
    await assert.rejects(api.patchPodStatus(ns, "q", q.metadata?.uid ?? "", { phase: "Running" }), forbidden);
    await assert.rejects(api.request("PUT", `${pods(ns)}/p`, p), forbidden);
    await assert.rejects(api.request("POST", pods(ns), pod("made", "n3")), forbidden);
    await assert.rejects(api.deletePod(ns, "q", { gracePeriodSeconds: 0 }), forbidden);
    // Services of every namespace, for pods' env (the system:node role's get/list/watch).
    await admin.request("POST", `/api/v1/namespaces/${ns}/services`, {
      metadata: { name: "db" },
      spec: { clusterIP: "10.96.0.20", ports: [{ port: 5432 }] },
    });
    assert.deepEqual(
      (await api.listServices(ns)).map((s) => s.metadata?.name),
      ["db"],
    );
    assert.equal((await api.getService(ns, "db"))?.spec?.clusterIP, "10.96.0.20");
    assert.equal(await api.getService(ns, "absent"), undefined);
    await assert.rejects(api.request("DELETE", `/api/v1/namespaces/${ns}/services/db`), forbidden);
    // Tokens only for its pods' service account, bound to one of them.
    const bound = { kind: "Pod", apiVersion: "v1", name: "p", uid: p.metadata?.uid ?? "" };
    const token = await api.requestToken(ns, "default", { spec: { boundObjectRef: bound } });
    assert.ok(token.status?.token);
    await assert.rejects(api.requestToken(ns, "default", { spec: {} }), forbidden);
    await assert.rejects(api.requestToken(ns, "builder", { spec: { boundObjectRef: bound } }), forbidden);
    await assert.rejects(
      api.requestToken(ns, "default", { spec: { boundObjectRef: { ...bound, name: "q" } } }),
      forbidden,
    );
  });
});

describe("pod status validation (test server)", () => {
  const terminated: PodStatus = {
    phase: "Failed",
    containerStatuses: [
      {
        name: "c",
        state: { terminated: { exitCode: 1 } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: "i:1",
        imageID: "",
      },
    ],
  };
  const running: PodStatus = {
    phase: "Running",
    containerStatuses: [
      {
        ...(terminated.containerStatuses?.[0] as NonNullable<PodStatus["containerStatuses"]>[0]),
        state: { running: {} },
      },
    ],
  };

  it("refuses a terminated container back to running under Never (422), allows it under Always", async () => {
    const ns = "transitions";
    for (const [name, restartPolicy] of [
      ["never", "Never"],
      ["always", "Always"],
      ["onfailure", "OnFailure"],
    ] as const) {
      const p = await admin.request<Pod>("POST", pods(ns), pod(name, "n4", { restartPolicy }));
      const uid = p.metadata?.uid ?? "";
      await admin.patchPodStatus(ns, name, uid, terminated);
      if (restartPolicy === "Never")
        await assert.rejects(
          admin.patchPodStatus(ns, name, uid, running),
          (e: unknown) =>
            isStatus(e, 422) && String(e).includes("may not be transitioned to non-terminated state"),
        );
      else await admin.patchPodStatus(ns, name, uid, running); // exit 1 may restart under OnFailure
    }
  });
});

describe("ServiceAccount admission (test server)", () => {
  it("injects the kube-api-access volume in every container and publishes kube-root-ca.crt", async () => {
    const ns = "sa";
    const created = await admin.request<Pod>(
      "POST",
      pods(ns),
      pod("with", "n5", { initContainers: [{ name: "init", image: "i:1" }] }),
    );
    assert.equal(created.spec.serviceAccountName, "default");
    const volume = created.spec.volumes?.find((v) =>
      /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(v.name),
    );
    assert.ok(volume, JSON.stringify(created.spec.volumes));
    assert.deepEqual(
      volume.projected?.sources?.map((s) => Object.keys(s)[0]),
      ["serviceAccountToken", "configMap", "downwardAPI"],
    );
    assert.equal(volume.projected?.sources?.[0]?.serviceAccountToken?.expirationSeconds, 3607);
    for (const c of [...(created.spec.initContainers ?? []), ...created.spec.containers])
      assert.deepEqual(c.volumeMounts, [
        { name: volume.name, readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
      ]);
    const ca = await admin.request<ConfigMap>("GET", `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`);
    assert.match(ca.data?.["ca.crt"] ?? "", /^-----BEGIN CERTIFICATE-----/);
    const without = await admin.request<Pod>(
      "POST",
      pods(ns),
      pod("without", "n5", { automountServiceAccountToken: false }),
    );
    assert.equal(without.spec.volumes, undefined);
    assert.equal(without.spec.containers[0]?.volumeMounts, undefined);
  });
});

describe("the controllers under node credentials", () => {
  it("registers without forbidden labels, owns its lease by the Node, keeps other writers' conditions", async () => {
    const api = asNode("n6");
    const controller = new NodeController(api, new FakeNodeProvider(), nodeOptions("n6"));
    const node = await controller.start();
    const lease = await admin.request<Lease>(
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n6",
    );
    assert.deepEqual(lease.metadata?.ownerReferences, [
      { apiVersion: "v1", kind: "Node", name: "n6", uid: node.metadata?.uid },
    ]);
    // Another writer (e.g. a node-problem-detector) adds its own condition.
    await admin.request(
      "PATCH",
      "/api/v1/nodes/n6/status",
      {
        status: { conditions: [{ type: "KernelDeadlock", status: "False", reason: "KernelHasNoDeadlock" }] },
      },
      "application/strategic-merge-patch+json",
    );
    const before = (await admin.request<Node>("GET", "/api/v1/nodes/n6")).metadata?.resourceVersion;
    await until("another status write", async () => {
      const n = await admin.request<Node>("GET", "/api/v1/nodes/n6");
      return n.metadata?.resourceVersion !== before ? n : undefined;
    });
    await sleep(150);
    const n = await admin.request<Node>("GET", "/api/v1/nodes/n6");
    const types = n.status?.conditions?.map((c) => c.type) ?? [];
    assert.ok(types.includes("KernelDeadlock"), `conditions: ${types.join(", ")}`);
    assert.ok(types.includes("Ready"));
    // A restarted kubelet takes over under NodeRestriction (labels and taints untouched).
    await controller.stop();
    const again = new NodeController(api, new FakeNodeProvider(), nodeOptions("n6"));
    await again.start();
    await again.stop();
  });

  it("reads capacity again and writes it into the node status when it changed (a VCH's limits)", async () => {
    const provider = new FakeNodeProvider();
    const controller = new NodeController(asNode("n8"), provider, {
      ...nodeOptions("n8"),
      statusIntervalMs: 60_000,
      describeIntervalMs: 50,
    });
    await controller.start();
    provider.cpu = "7";
    await until("the new capacity", async () => {
      const n = await admin.request<Node>("GET", "/api/v1/nodes/n8");
      return n.status?.capacity?.cpu === "7" && n.status.allocatable?.cpu === "7" ? n : undefined;
    });
    await controller.stop();
  });

  it("treats a refused (422) status as final and writes a terminal status before the pod is removed", async () => {
    const ns = "final";
    const api = asNode("n7");
    const exited: PodStatus = {
      phase: "Running",
      containerStatuses: [
        {
          name: "c",
          state: { terminated: { exitCode: 0, reason: "Completed" } },
          lastState: {},
          ready: false,
          restartCount: 0,
          image: "i:1",
          imageID: "",
        },
      ],
    };
    const held = new Map<string, ProviderPod>();
    let status: PodStatus = exited;
    const provider: PodLifecycleHandler = {
      async createPod(p) {
        held.set(`${ns}/${p.metadata?.name}`, {
          key: `${ns}/${p.metadata?.name}`,
          uid: p.metadata?.uid ?? "",
        });
      },
      async updatePod() {},
      async deletePod(p) {
        return held.delete(`${ns}/${p.metadata?.name}`) ? status : undefined;
      },
      getPod: (k) => held.get(k),
      getPods: () => [...held.values()],
      getPodStatus: async (p) => (held.has(`${ns}/${p.metadata?.name}`) ? status : undefined),
      notifyPods() {},
    };
    const logs: string[] = [];
    const controller = new PodController(api, provider, {
      nodeName: "n7",
      workers: 1,
      baseDelayMs: 10,
      log: (m) => logs.push(m),
    });
    const seen: Pod[] = [];
    const watch = await admin.watchPods(
      "spec.nodeName=n7",
      "0",
      (type, o) => {
        if (type === "DELETED") seen.push(o as Pod);
      },
      () => undefined,
    );
    await controller.start();
    await admin.request("POST", pods(ns), pod("once", "n7", { restartPolicy: "Never" }));
    await until("the exit written", async () => {
      const p = await admin.request<Pod>("GET", `${pods(ns)}/once`);
      return p.status?.containerStatuses?.[0]?.state.terminated ? p : undefined;
    });
    // The provider now claims the container runs again: the server refuses, and nothing retries.
    status = {
      ...exited,
      containerStatuses: [
        {
          ...(exited.containerStatuses?.[0] as NonNullable<PodStatus["containerStatuses"]>[0]),
          state: { running: {} },
        },
      ],
    };
    const patches = () => server.requests.filter((r) => r.startsWith(`PATCH ${pods(ns)}/once/status`)).length;
    const sent = patches();
    controller.queue.add(`${ns}/once`);
    await until("the refused write", () => patches() === sent + 1 || undefined);
    await sleep(200);
    assert.equal(patches(), sent + 1, "a 422 is not retried");
    assert.ok(!logs.some((m) => m.includes("retrying")), logs.join("\n"));
    assert.ok(
      logs.some((m) => m.includes("refused")),
      logs.join("\n"),
    );
    // Deleted: the last status (every container terminated, a phase) comes before the removal.
    status = exited;
    await admin.request("DELETE", `${pods(ns)}/once`, { gracePeriodSeconds: 30 });
    await until(
      "the pod removed",
      async () =>
        (await admin
          .request(`GET`, `${pods(ns)}/once`)
          .catch((e: unknown) => (isStatus(e, 404) ? "gone" : undefined))) === "gone" || undefined,
    );
    const removed = await until("the DELETED event", () => seen[0]);
    assert.equal(removed.status?.phase, "Succeeded");
    assert.equal(removed.status?.containerStatuses?.[0]?.state.terminated?.exitCode, 0);
    watch.abort();
    controller.stop();
  });
});
