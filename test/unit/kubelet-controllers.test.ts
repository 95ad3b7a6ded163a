/**
 * The controllers (work queue, pod informer, pod controller, node controller) against the
 * repository's Kubernetes API test server through the real REST client, with test doubles of
 * the providers. Also the test server's own contract (patch kinds, status subresource, graceful
 * delete, preconditions, watch and 410).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isStatus, KubeApiError } from "../../src/kubelet/kube/api.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import type { Lease, Node, Pod, PodStatus } from "../../src/kubelet/kube/types.js";
import { NodeController } from "../../src/kubelet/node-controller.js";
import { PodController, sameStatus } from "../../src/kubelet/pod-controller.js";
import { PodInformer } from "../../src/kubelet/pod-informer.js";
import {
  retryAfterOf,
  type NodeDescription,
  type NodeProvider,
  type PodLifecycleHandler,
  type ProviderPod,
} from "../../src/kubelet/provider-api.js";
import { WorkQueue } from "../../src/kubelet/work-queue.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-unit-"));
let server: KubeApiTestServer;
let api: RestKubeApi;

before(async () => {
  server = new KubeApiTestServer({ token: "t0ken" });
  await server.start();
  server.writeKubeconfig(join(dir, "kubeconfig"));
  api = new RestKubeApi(loadKubeConfig(join(dir, "kubeconfig")));
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function podBody(name: string, node = "vk", extra: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: { name },
    spec: { nodeName: node, containers: [{ name: "c", image: "i:1" }], ...extra },
  };
}
const createPod = (ns: string, p: Pod) => api.request<Pod>("POST", `/api/v1/namespaces/${ns}/pods`, p);

describe("WorkQueue", () => {
  it("runs a key once at a time, again if re-added meanwhile, and at most N keys at once", async () => {
    const running = new Set<string>();
    let max = 0;
    const runs: string[] = [];
    const q = new WorkQueue(
      async (key) => {
        assert.ok(!running.has(key), `${key} ran twice at once`);
        running.add(key);
        max = Math.max(max, running.size);
        runs.push(key);
        await sleep(20);
        running.delete(key);
      },
      { workers: 2 },
    );
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("c");
    await sleep(5);
    q.add("a"); // in flight: runs again afterwards
    await q.idle();
    assert.equal(max, 2);
    assert.deepEqual(runs.sort(), ["a", "a", "b", "c"]);
  });

  it("runs status re-syncs in their own lane, never behind queued work, and a key wanted in both once", async () => {
    const runs: string[] = [];
    const running = new Set<string>();
    const q = new WorkQueue(
      async (key) => {
        assert.ok(!running.has(key), `${key} ran twice at once`);
        running.add(key);
        runs.push(key);
        await sleep(key.startsWith("create") ? 40 : 5);
        running.delete(key);
      },
      { workers: 1, statusWorkers: 1 },
    );
    for (const k of ["create-1", "create-2", "create-3"]) q.add(k);
    q.add("status-a", "status");
    q.add("create-3", "status"); // queued as work: stays there, runs once
    q.add("status-b", "status");
    q.add("status-b"); // wanted for work too: moves to the work lane, runs once
    await sleep(20);
    assert.deepEqual(runs, ["create-1", "status-a"], "the status re-sync did not wait for the creations");
    await q.idle();
    assert.deepEqual(runs.slice(2), ["create-2", "create-3", "status-b"]);
  });

  it("retries a failing key with growing delays until it succeeds", async () => {
    const times: number[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length < 3) throw new Error("not yet");
      },
      { workers: 1, baseDelayMs: 20 },
    );
    q.add("k");
    await q.idle();
    assert.equal(times.length, 3);
    const [t0 = 0, t1 = 0, t2 = 0] = times;
    assert.ok(t1 - t0 >= 18 && t2 - t1 >= 38, `delays ${t1 - t0}, ${t2 - t1}`);
  });

  it("retries after the delay a failure asks for, instead of its own back-off", async () => {
    const times: number[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length < 2) throw Object.assign(new Error("back-off"), { retryAfterMs: 120 });
      },
      { workers: 1, baseDelayMs: 5, retryAfter: retryAfterOf },
    );
    q.add("k");
    await q.idle();
    const [t0 = 0, t1 = 0] = times;
    assert.ok(t1 - t0 >= 115, `retried after ${t1 - t0} ms, not the 120 ms asked for`);
  });

  it("stop drops pending retries", async () => {
    let calls = 0;
    const q = new WorkQueue(
      async () => {
        calls++;
        throw new Error("x");
      },
      { workers: 1, baseDelayMs: 30 },
    );
    q.add("k");
    await sleep(5);
    q.stop();
    await sleep(60);
    assert.equal(calls, 1);
  });
});

describe("PodInformer", () => {
  it("lists, watches, and re-lists after a 410 and after a dropped stream, reporting deletions missed meanwhile", async () => {
    const ns = "informer";
    await createPod(ns, podBody("p1", "inf-node"));
    await createPod(ns, podBody("other", "elsewhere"));
    const seen: Array<[string, boolean]> = [];
    const informer = new PodInformer(
      api,
      "spec.nodeName=inf-node",
      (key, pod) => seen.push([key, pod !== undefined]),
      { retryMs: 10 },
    );
    await informer.start();
    assert.deepEqual(informer.keys(), ["informer/p1"]);
    await createPod(ns, podBody("p2", "inf-node"));
    await until("p2 by watch", () => informer.get("informer/p2"));

    server.compact();
    await until("a re-list after 410", () => informer.relists === 1);
    await createPod(ns, podBody("p3", "inf-node"));
    await until("p3 after the re-list", () => informer.get("informer/p3"));

    // Drop the stream, and delete p1 (unbound deletes are immediate) before the informer is back.
    await until("the watch", () => server.openWatches > 0);
    server.dropWatches();
    await api.request("DELETE", `/api/v1/namespaces/${ns}/pods/p1`, { gracePeriodSeconds: 0 });
    await until("p1 gone", () => (informer.get("informer/p1") ? undefined : true));
    assert.ok(informer.relists >= 2);
    assert.ok(seen.some(([k, present]) => k === "informer/p1" && !present));
    assert.ok(!informer.keys().includes("informer/other"));
    informer.stop();
  });
});

/** A provider double that records calls and reports a fixed status. */
class FakeProvider implements PodLifecycleHandler {
  pods = new Map<string, ProviderPod>();
  calls: string[] = [];
  failCreates = 0;
  status: PodStatus = { phase: "Running", containerStatuses: [] };
  private listeners: Array<(key: string) => void> = [];

  async createPod(pod: Pod) {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    this.calls.push(`create ${key}`);
    if (this.failCreates-- > 0) throw new Error("engine away");
    this.pods.set(key, { key, uid: pod.metadata?.uid ?? "" });
  }
  async updatePod(pod: Pod) {
    this.calls.push(`update ${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }
  async deletePod(pod: Pod) {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    this.calls.push(`delete ${key}`);
    const held = this.pods.delete(key);
    return held ? this.status : undefined;
  }
  getPod(key: string) {
    return this.pods.get(key);
  }
  getPods() {
    return [...this.pods.values()];
  }
  async getPodStatus(pod: Pod) {
    return this.pods.has(`${pod.metadata?.namespace}/${pod.metadata?.name}`) ? this.status : undefined;
  }
  notifyPods(cb: (key: string) => void) {
    this.listeners.push(cb);
  }
  notify(key: string) {
    for (const l of this.listeners) l(key);
  }
}

describe("PodController", () => {
  it("creates bound pods, writes status through the status subresource only on change, finalises deletions", async () => {
    const ns = "ctrl";
    const provider = new FakeProvider();
    provider.pods.set("ctrl/dangling", { key: "ctrl/dangling", uid: "gone" });
    await createPod(ns, podBody("done", "ctrl-node"));
    await api.request(
      "PATCH",
      `/api/v1/namespaces/${ns}/pods/done/status`,
      { status: { phase: "Succeeded" } },
      "application/merge-patch+json",
    );
    const controller = new PodController(api, provider, {
      nodeName: "ctrl-node",
      workers: 4,
      baseDelayMs: 10,
    });
    await controller.start();
    await until("the dangling pod removed", () => provider.calls.includes("delete ctrl/dangling"));

    await createPod(ns, podBody("web", "ctrl-node"));
    await createPod(ns, podBody("not-mine", "another-node"));
    const running = await until("status written", async () => {
      const p = await api.request<Pod>("GET", `/api/v1/namespaces/${ns}/pods/web`);
      return p.status?.phase === "Running" ? p : undefined;
    });
    assert.equal(running.status?.phase, "Running");
    assert.ok(server.requests.some((r) => r.startsWith(`PATCH /api/v1/namespaces/${ns}/pods/web/status`)));
    assert.ok(!provider.calls.includes("create ctrl/not-mine"));
    assert.ok(!provider.calls.includes("create ctrl/done"), "a finished pod is not started again");

    // Same status again: no write.
    const patches = () =>
      server.requests.filter((r) => r.startsWith(`PATCH /api/v1/namespaces/${ns}/pods/web/status`)).length;
    const before = patches();
    provider.notify("ctrl/web");
    await sleep(50);
    await controller.queue.idle();
    assert.equal(patches(), before);
    // A change notified by the provider: written.
    provider.status = { phase: "Failed", reason: "Oops", message: "it broke", containerStatuses: [] };
    provider.notify("ctrl/web");
    await until("Failed written", async () =>
      (await api.request<Pod>("GET", `/api/v1/namespaces/${ns}/pods/web`)).status?.phase === "Failed"
        ? true
        : undefined,
    );
    await until("the Warning event", () => server.objects("events").find((e) => e.reason === "Oops"));

    await api.request("DELETE", `/api/v1/namespaces/${ns}/pods/web`, { gracePeriodSeconds: 30 });
    await until("the pod object removed", async () => {
      try {
        await api.request("GET", `/api/v1/namespaces/${ns}/pods/web`);
        return undefined;
      } catch (err) {
        return isStatus(err, 404) ? true : undefined;
      }
    });
    assert.ok(provider.calls.includes("delete ctrl/web"));
    controller.stop();
  });

  it("retries a failed creation", async () => {
    const provider = new FakeProvider();
    provider.failCreates = 2;
    const controller = new PodController(api, provider, {
      nodeName: "retry-node",
      workers: 1,
      baseDelayMs: 10,
    });
    await controller.start();
    await createPod("retry", podBody("flaky", "retry-node"));
    await until("created on the third try", () => provider.pods.get("retry/flaky"));
    assert.equal(provider.calls.filter((c) => c === "create retry/flaky").length, 3);
    controller.stop();
  });

  it("compares statuses on the fields it writes only", () => {
    assert.ok(
      sameStatus(
        { phase: "Running", hostIP: "1" },
        { hostIP: "1", phase: "Running", qosClass: "BestEffort" },
      ),
    );
    assert.ok(!sameStatus({ phase: "Running" }, { phase: "Pending" }));
    assert.ok(!sameStatus({ phase: "Running" }, undefined));
  });
});

class FakeNodeProvider implements NodeProvider {
  up = true;
  async ping() {
    if (!this.up) throw new Error("endpoint down");
  }
  async describe(): Promise<NodeDescription> {
    return {
      capacity: { cpu: "2", memory: "4096Ki", pods: "2" },
      allocatable: { cpu: "2", memory: "4096Ki", pods: "2" },
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

describe("NodeController", () => {
  const taint = { key: "virtual-kubelet.io/provider", value: "vic", effect: "NoSchedule" as const };
  const options = (name: string) => ({
    nodeName: name,
    taints: [taint],
    port: 10250,
    nodeIP: "127.0.0.1",
    kubeletVersion: "dinv-0.1.0",
    leaseRenewMs: 50,
    pingIntervalMs: 20,
    statusIntervalMs: 200,
  });

  it("registers the node, heartbeats through the lease, follows the endpoint's health, and goes NotReady on stop", async () => {
    const provider = new FakeNodeProvider();
    const controller = new NodeController(api, provider, options("node-a"));
    await controller.start();
    const node = await api.request<Node>("GET", "/api/v1/nodes/node-a");
    assert.deepEqual(node.spec?.taints, [taint]);
    assert.equal(node.metadata?.labels?.type, "virtual-kubelet");
    assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250);
    assert.equal(node.status?.nodeInfo?.kubeletVersion, "dinv-0.1.0");

    const leasePath = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a";
    const first = await api.request<Lease>("GET", leasePath);
    assert.equal(first.spec?.leaseDurationSeconds, 40);
    await until("a renewal", async () =>
      (await api.request<Lease>("GET", leasePath)).spec?.renewTime !== first.spec?.renewTime
        ? true
        : undefined,
    );

    const heartbeat = (n: Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.lastHeartbeatTime;
    provider.up = false;
    const down = await until("Ready=False", async () => {
      const n = await api.request<Node>("GET", "/api/v1/nodes/node-a");
      return n.status?.conditions?.find((c) => c.type === "Ready")?.status === "False" ? n : undefined;
    });
    assert.match(down.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /endpoint down/);
    provider.up = true;
    await until("Ready again", async () =>
      (await api.request<Node>("GET", "/api/v1/nodes/node-a")).status?.conditions?.find(
        (c) => c.type === "Ready",
      )?.status === "True"
        ? true
        : undefined,
    );
    await until(
      "a periodic status write (fresh heartbeat)",
      async () =>
        heartbeat(await api.request<Node>("GET", "/api/v1/nodes/node-a")) !== heartbeat(down)
          ? true
          : undefined,
      3000,
    );

    await controller.stop();
    const stopped = await api.request<Node>("GET", "/api/v1/nodes/node-a");
    assert.equal(stopped.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
  });

  it("takes over an existing node, keeping others' labels and its taints as they are (NodeRestriction)", async () => {
    await api.request("POST", "/api/v1/nodes", {
      metadata: { name: "node-b", labels: { team: "x" } },
      spec: {
        taints: [
          { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" },
          { ...taint, value: "old" },
        ],
      },
    });
    const controller = new NodeController(api, new FakeNodeProvider(), options("node-b"));
    await controller.start();
    const node = await api.request<Node>("GET", "/api/v1/nodes/node-b");
    assert.equal(node.metadata?.labels?.team, "x");
    assert.deepEqual(node.spec?.taints, [
      { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" },
      { ...taint, value: "old" },
    ]);
    await controller.stop();
  });
});

describe("Kubernetes API test server", () => {
  const ns = "srv";
  const path = (name: string) => `/api/v1/namespaces/${ns}/pods/${name}`;

  it("refuses requests without the token", async () => {
    const anonymous = join(dir, "anonymous");
    writeFileSync(
      anonymous,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: ${server.url}\n    insecure-skip-tls-verify: true\n` +
        `contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\ncurrent-context: t\nusers:\n- name: u\n  user: {}\n`,
    );
    const noToken = new RestKubeApi(loadKubeConfig(anonymous));
    await assert.rejects(noToken.request("GET", "/api/v1/nodes"), (e: unknown) => isStatus(e, 401));
  });

  it("keeps status and spec apart (status subresource) and honours uid and resourceVersion preconditions", async () => {
    const created = await createPod(ns, podBody("a"));
    assert.equal(created.status?.phase, "Pending");
    const replaced = await api.request<Pod>("PUT", path("a"), {
      ...created,
      status: { phase: "Running" },
      metadata: { ...created.metadata, labels: { x: "1" } },
    });
    assert.equal(replaced.status?.phase, "Pending", "PUT on the resource ignores status");
    assert.equal(replaced.metadata?.labels?.x, "1");
    const patched = await api.request<Pod>(
      "PATCH",
      `${path("a")}/status`,
      { metadata: { uid: created.metadata?.uid, labels: { y: "2" } }, status: { phase: "Running" } },
      "application/merge-patch+json",
    );
    assert.equal(patched.status?.phase, "Running");
    assert.equal(patched.metadata?.labels?.y, undefined, "the status subresource ignores metadata");
    await assert.rejects(
      api.request(
        "PATCH",
        `${path("a")}/status`,
        { metadata: { uid: "other" }, status: {} },
        "application/merge-patch+json",
      ),
      // As kube-apiserver: the patched uid fails validation (immutable), no precondition 409.
      (e: unknown) => e instanceof KubeApiError && e.status === 422 && e.reason === "Invalid",
    );
    await assert.rejects(
      api.request("PUT", path("a"), created),
      (e: unknown) => e instanceof KubeApiError && e.status === 409 && e.reason === "Conflict",
    );
    await assert.rejects(
      api.request("PATCH", path("a"), [{ op: "add" }], "application/json-patch+json"),
      (e: unknown) => isStatus(e, 415),
    );
  });

  it("strategic merge patches lists by their merge key", async () => {
    const created = await createPod(ns, podBody("b"));
    await api.request(
      "PATCH",
      `${path("b")}/status`,
      {
        status: {
          conditions: [
            { type: "Ready", status: "False" },
            { type: "PodScheduled", status: "True" },
          ],
        },
      },
      "application/merge-patch+json",
    );
    const p = await api.request<Pod>(
      "PATCH",
      `${path("b")}/status`,
      { status: { conditions: [{ type: "Ready", status: "True" }] } },
      "application/strategic-merge-patch+json",
    );
    assert.deepEqual(
      p.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ["Ready=True", "PodScheduled=True"],
    );
    const q = await api.request<Pod>(
      "PATCH",
      path("b"),
      { spec: { containers: [{ name: "c", image: "i:2" }] } },
      "application/strategic-merge-patch+json",
    );
    assert.deepEqual(
      q.spec.containers.map((c) => c.image),
      ["i:2"],
    );
    assert.equal(q.metadata?.uid, created.metadata?.uid);
  });

  it("deletes bound pods gracefully, unbound ones at once", async () => {
    await createPod(ns, podBody("c"));
    const marked = await api.request<Pod>("DELETE", path("c"), { gracePeriodSeconds: 10 });
    assert.ok(marked.metadata?.deletionTimestamp);
    assert.equal(marked.metadata?.deletionGracePeriodSeconds, 10);
    await api.request("DELETE", path("c"), { gracePeriodSeconds: 0 });
    await assert.rejects(api.request("GET", path("c")), (e: unknown) => isStatus(e, 404));
    await createPod(ns, podBody("d", ""));
    await api.request("DELETE", path("d"));
    await assert.rejects(api.request("GET", path("d")), (e: unknown) => isStatus(e, 404));
  });

  it("answers a watch from a compacted version with a 410 ERROR event", async () => {
    const list = await api.listPods("spec.nodeName=nobody");
    server.compact();
    const events: Array<{ type: string; code?: number }> = [];
    await new Promise<void>((resolve) => {
      void api.watchPods(
        "spec.nodeName=nobody",
        list.metadata?.resourceVersion ?? "",
        (type, object) => events.push({ type, code: (object as { code?: number }).code }),
        () => resolve(),
      );
    });
    assert.deepEqual(events, [{ type: "ERROR", code: 410 }]);
  });

  it("folds secret stringData into data", async () => {
    await api.request("POST", `/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: "s" },
      stringData: { k: "v" },
    });
    assert.deepEqual((await api.getSecret(ns, "s"))?.data, { k: Buffer.from("v").toString("base64") });
    assert.equal(await api.getConfigMap(ns, "absent"), undefined);
  });
});
