/**
 * The virtual kubelet end to end: the real `dinv kubelet` command in a child process, the real
 * engine (DOCKER_HOST), and the repository's Kubernetes API test server — or a real cluster
 * when KUBE_E2E_KUBECONFIG names one (pods are bound with spec.nodeName and tolerate the
 * node's taint, so no scheduler decision is involved; tests that need the test server's hooks
 * are skipped there).
 *
 * Pod images: dinv/host:latest tagged as dinv-test/pod-base:1 (it has sh, sleep and perl; its
 * ENTRYPOINT is overridden through `command`, as Kubernetes does). Every container the kubelet
 * makes carries io.dinv.pod.node=<this run's node name>; after() removes them all.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { KubeList, Lease, Node, Pod } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import {
  kubeletRequest,
  spawnKubelet,
  testKubeletArgs,
  stopProcess,
  testPki,
  until,
  type KubeletProcess,
  type TestPki,
} from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const POD_IMAGE = "dinv-test/pod-base:1";
const REAL_CLUSTER = process.env.KUBE_E2E_KUBECONFIG;

describe("dinv kubelet (real engine, Kubernetes API test server)", { timeout: 180_000 }, () => {
  const nodeName = runId("kubelet-e2e");
  const namespace = REAL_CLUSTER ? nodeName : "default";
  const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-e2e-"));
  const kubeconfig = REAL_CLUSTER ?? join(dir, "kubeconfig");
  // The kubelet runs as its node (system:node:NAME), held to the Node authorizer and NodeRestriction.
  const kubeletKubeconfig = REAL_CLUSTER ?? join(dir, "kubelet-kubeconfig");
  let server: KubeApiTestServer | undefined;
  let engine: EngineClient;
  let api: RestKubeApi;
  let kubelet: KubeletProcess | undefined;
  let pki: TestPki;

  function startKubelet(): KubeletProcess {
    const args = testKubeletArgs({ kubeconfig: kubeletKubeconfig, nodeName, clientCa: pki.caFile }, [
      "--pod-sync-workers",
      "10",
    ]);
    // The serving certificate is issued by the CA of a store private to this run.
    return spawnKubelet(args, { DINV_STORAGE_PATH: join(dir, "store") });
  }

  async function stopKubelet(): Promise<number | null> {
    if (!kubelet) return null;
    const current = kubelet;
    kubelet = undefined;
    const code = await stopProcess(current);
    if (code === "hung")
      throw new Error(`the kubelet did not exit within 15 s of SIGTERM:\n${current.output()}`);
    return code;
  }

  const podsPath = `/api/v1/namespaces/${namespace}/pods`;
  const getPod = (name: string) => api.request<Pod>("GET", `${podsPath}/${name}`);
  const getNode = () => api.request<Node>("GET", `/api/v1/nodes/${nodeName}`);

  function pod(name: string, containers: Pod["spec"]["containers"], extra: Partial<Pod["spec"]> = {}): Pod {
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: { "dinv-e2e": nodeName } },
      spec: {
        nodeName,
        terminationGracePeriodSeconds: 1,
        tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
        containers,
        ...extra,
      },
    };
  }

  const sh = (script: string) => ({ image: POD_IMAGE, command: ["/bin/sh", "-c", script] });

  async function createPod(p: Pod): Promise<Pod> {
    return api.request<Pod>("POST", podsPath, p);
  }

  async function waitPhase(name: string, phases: string[], timeoutMs = 30_000): Promise<Pod> {
    return until(
      `pod ${name} to reach ${phases.join("/")}`,
      async () => {
        const p = await getPod(name);
        return phases.includes(p.status?.phase ?? "") ? p : undefined;
      },
      timeoutMs,
    );
  }

  async function podContainers(
    uid?: string,
  ): Promise<Array<{ Id: string; Labels: Record<string, string>; State: string }>> {
    const label = [`io.dinv.pod.node=${nodeName}`, ...(uid ? [`io.dinv.pod.uid=${uid}`] : [])];
    return engine.docker.listContainers({ all: true, filters: JSON.stringify({ label }) });
  }

  before(async () => {
    pki = await testPki(dir);
    engine = await testEngine();
    await engine.docker.getImage(HOST_IMAGE).tag({ repo: "dinv-test/pod-base", tag: "1" });
    if (!REAL_CLUSTER) {
      server = new KubeApiTestServer();
      await server.start();
      server.writeKubeconfig(kubeconfig);
      server.writeKubeconfig(kubeletKubeconfig, { node: nodeName });
    }
    api = new RestKubeApi(loadKubeConfig(kubeconfig));
    if (REAL_CLUSTER) await api.request("POST", "/api/v1/namespaces", { metadata: { name: namespace } });
    kubelet = startKubelet();
    await until(
      "the node to register and be Ready",
      async () => {
        if (kubelet && kubelet.child.exitCode !== null)
          throw new Error(`kubelet exited: ${kubelet.output()}`);
        const node = await getNode().catch(() => undefined);
        return node?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True")
          ? node
          : undefined;
      },
      30_000,
      50,
    );
  });

  after(async () => {
    await stopKubelet().catch(() => undefined);
    if (engine) await removeLabelled(engine, nodeName, "io.dinv.pod.node");
    if (REAL_CLUSTER && api) {
      await api.request("DELETE", `/api/v1/namespaces/${namespace}`).catch(() => undefined);
      await api.request("DELETE", `/api/v1/nodes/${nodeName}`).catch(() => undefined);
      await api
        .request("DELETE", `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`)
        .catch(() => undefined);
    }
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers the node: capacity from /info, labels, taint, Ready, real port, nodeInfo, lease", async () => {
    const node = await getNode();
    const info = (await engine.docker.info()) as { NCPU: number; MemTotal: number };
    assert.equal(node.status?.capacity?.cpu, String(info.NCPU));
    assert.equal(node.status?.capacity?.memory, `${Math.floor(info.MemTotal / 1024)}Ki`);
    assert.equal(node.status?.capacity?.pods, String(Math.max(1, Math.floor(info.MemTotal / 2 ** 31))));
    assert.deepEqual(node.status?.allocatable, node.status?.capacity);
    assert.equal(node.metadata?.labels?.type, "virtual-kubelet");
    // NodeRestriction refuses kubernetes.io/role from a node: dinv no longer sets it.
    assert.equal(node.metadata?.labels?.["kubernetes.io/role"], undefined);
    assert.equal(node.metadata?.labels?.type, "virtual-kubelet");
    assert.equal(node.metadata?.labels?.["node.kubernetes.io/exclude-from-external-load-balancers"], "true");
    assert.deepEqual(node.spec?.taints, [
      { key: "virtual-kubelet.io/provider", value: "vic", effect: "NoSchedule" },
    ]);
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True");
    assert.ok(ready?.lastHeartbeatTime && Date.now() - Date.parse(ready.lastHeartbeatTime) < 60_000);
    assert.deepEqual(node.status?.addresses, [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: nodeName },
    ]);
    assert.match(node.status?.nodeInfo?.kubeletVersion ?? "", /^dinv-\d+\.\d+\.\d+/);
    assert.match(node.status?.nodeInfo?.containerRuntimeVersion ?? "", /^docker:\/\/\d+/);
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
    assert.ok(port > 0, "daemonEndpoints carries the real port");
    // HTTPS with a serving certificate from the store's CA, verified against it; client certificate auth.
    const storeCa = readFileSync(join(dir, "store", "certs", "ca.pem"), "utf8");
    const healthz = await kubeletRequest(port, "/healthz", { cert: pki.client, ca: storeCa });
    assert.deepEqual([healthz.status, healthz.body], [200, "ok"]);
    const anonymous = await kubeletRequest(port, "/healthz", { ca: storeCa });
    assert.equal(anonymous.status, 401, "anonymous requests are refused");
    const lease = await api.request<Lease>(
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`,
    );
    assert.equal(lease.spec?.holderIdentity, nodeName);
    assert.equal(lease.spec?.leaseDurationSeconds, 40);
    assert.match(lease.spec?.renewTime ?? "", /\.\d{6}Z$/, "renewTime is a MicroTime");
  });

  it("runs 20 pods scheduled at once (all Running, one container each: a single-container pod needs no infra container)", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    const started = Date.now();
    await Promise.all(names.map((n) => createPod(pod(n, [{ name: "main", ...sh("exec sleep 3600") }]))));
    const running = await until(
      "20 pods Running",
      async () => {
        const list = await api.request<KubeList<Pod>>(
          "GET",
          `${podsPath}?labelSelector=dinv-e2e%3D${nodeName}`,
        );
        const pods = list.items.filter((p) => p.metadata?.name?.startsWith("burst-"));
        return pods.length === 20 && pods.every((p) => p.status?.phase === "Running") ? pods : undefined;
      },
      90_000,
      200,
    );
    const elapsed = Date.now() - started;
    console.log(`# 20 pods Running after ${elapsed} ms`);
    for (const p of running) {
      const status = p.status;
      assert.ok(status?.podIP, `${p.metadata?.name} has a pod IP`);
      assert.equal(status?.hostIP, "127.0.0.1");
      assert.ok(status?.startTime);
      assert.equal(status?.containerStatuses?.[0]?.ready, true);
      assert.match(status?.containerStatuses?.[0]?.containerID ?? "", /^docker:\/\/[0-9a-f]{64}$/);
      for (const type of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) {
        assert.equal(
          status?.conditions?.find((c) => c.type === type)?.status,
          "True",
          `${p.metadata?.name} ${type}`,
        );
      }
    }
    const containers = await podContainers();
    const burst = containers.filter((c) => c.Labels["io.dinv.pod.name"]?.startsWith("burst-"));
    assert.equal(burst.length, 20, "one app container per pod, no infra container, nothing duplicated");
    assert.ok(burst.every((c) => c.Labels["io.dinv.pod.role"] === "app"));
  });

  it("gives a pod's containers one network namespace: they talk over localhost", async () => {
    const server = `exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:8080", Listen => 5, ReuseAddr => 1) or die; while ($c = $s->accept) { print $c "hello-over-localhost\\n"; close $c }'`;
    const client = `for i in $(seq 1 50); do if exec 3<>/dev/tcp/127.0.0.1/8080; then read -r line <&3; [ "$line" = hello-over-localhost ] && exit 0; exit 2; fi; sleep 0.1; done; exit 1`;
    await createPod(
      pod(
        "localhost",
        [
          { name: "server", ...sh(server), ports: [{ containerPort: 8080 }] },
          { name: "client", image: POD_IMAGE, command: ["/bin/bash", "-c", client] },
        ],
        { restartPolicy: "Never" },
      ),
    );
    const p = await until("the client container to finish", async () => {
      const got = await getPod("localhost");
      return got.status?.containerStatuses?.find((c) => c.name === "client")?.state.terminated
        ? got
        : undefined;
    });
    const clientState = p.status?.containerStatuses?.find((c) => c.name === "client")?.state.terminated;
    assert.equal(
      clientState?.exitCode,
      0,
      "the client read the server's greeting on 127.0.0.1 (1: never connected, 2: wrong answer)",
    );
    assert.equal(clientState?.reason, "Completed");
    assert.ok(
      p.status?.containerStatuses?.find((c) => c.name === "server")?.state.running,
      "the server keeps running",
    );
    assert.equal(p.status?.phase, "Running");
    assert.equal(
      p.status?.conditions?.find((c) => c.type === "Ready")?.status,
      "False",
      "a terminated container is not ready",
    );
  });

  it("resolves env from a configMap, a secret and the downward API", async () => {
    await api.request("POST", `/api/v1/namespaces/${namespace}/configmaps`, {
      metadata: { name: "e2e-config" },
      data: { greeting: "hello from a configmap", MODE: "from-envFrom" },
    });
    await api.request("POST", `/api/v1/namespaces/${namespace}/secrets`, {
      metadata: { name: "e2e-secret" },
      data: { password: Buffer.from("s3cr3t value").toString("base64") },
    });
    const checks = [
      '[ "$GREETING" = "hello from a configmap" ] || exit 11',
      '[ "$PASSWORD" = "s3cr3t value" ] || exit 12',
      '[ "$POD_NAME" = env-pod ] || exit 13',
      '[ "$MODE" = from-envFrom ] || exit 14',
      '[ "$COMBINED" = "env-pod/s3cr3t value" ] || exit 15',
      "exit 0",
    ].join("; ");
    await createPod(
      pod(
        "env-pod",
        [
          {
            name: "check",
            ...sh(checks),
            envFrom: [{ configMapRef: { name: "e2e-config" } }],
            env: [
              { name: "GREETING", valueFrom: { configMapKeyRef: { name: "e2e-config", key: "greeting" } } },
              { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "e2e-secret", key: "password" } } },
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "COMBINED", value: "$(POD_NAME)/$(PASSWORD)" },
            ],
          },
        ],
        { restartPolicy: "Never" },
      ),
    );
    const p = await waitPhase("env-pod", ["Succeeded", "Failed"]);
    const terminated = p.status?.containerStatuses?.[0]?.state.terminated;
    assert.equal(terminated?.exitCode, 0, "exit 11..15 name the variable that was wrong");
    assert.equal(p.status?.phase, "Succeeded");
  });

  it("writes the pod's resolv.conf (dnsPolicy None + dnsConfig), hostAliases and service variables", async () => {
    const svc = await api.request<{ spec?: { clusterIP?: string } }>(
      "POST",
      `/api/v1/namespaces/${namespace}/services`,
      {
        metadata: { name: "e2e-db" },
        spec: { ...(REAL_CLUSTER ? {} : { clusterIP: "10.96.0.42" }), ports: [{ port: 5432 }] },
      },
    );
    const ip = svc.spec?.clusterIP ?? "";
    const checks = [
      "cat /etc/resolv.conf /etc/hosts",
      "grep -qx 'nameserver 10.96.0.10' /etc/resolv.conf || exit 11",
      "grep -qx 'search e2e.example dinv.test' /etc/resolv.conf || exit 12",
      "grep -q 'ndots:2' /etc/resolv.conf || exit 13",
      "grep -Eq '^10\\.1\\.2\\.3[[:space:]]+db\\.e2e' /etc/hosts || exit 14",
      `[ "$E2E_DB_SERVICE_HOST" = "${ip}" ] || exit 15`,
      `[ "$E2E_DB_PORT_5432_TCP" = "tcp://${ip}:5432" ] || exit 16`,
      "exit 0",
    ].join("; ");
    await createPod(
      pod("dns-pod", [{ name: "check", ...sh(checks) }], {
        restartPolicy: "Never",
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["10.96.0.10"],
          searches: ["e2e.example", "dinv.test"],
          options: [{ name: "ndots", value: "2" }],
        },
        hostAliases: [{ ip: "10.1.2.3", hostnames: ["db.e2e"] }],
      }),
    );
    const p = await waitPhase("dns-pod", ["Succeeded", "Failed"]);
    const terminated = p.status?.containerStatuses?.[0]?.state.terminated;
    const app = (await podContainers(p.metadata?.uid)).find((c) => c.Labels["io.dinv.pod.role"] === "app");
    const logs = app
      ? String(await engine.docker.getContainer(app.Id).logs({ stdout: true, stderr: true }))
      : "";
    assert.equal(terminated?.exitCode, 0, `exit 11..16 name the check that failed; the pod saw:\n${logs}`);
  });

  it("keeps a pod whose image cannot be had Pending: ErrImagePull, then ImagePullBackOff; an invalid name fails it", async () => {
    await createPod(
      pod("bad-image", [
        { name: "main", image: "dinv-test/no-such-image:1", imagePullPolicy: "IfNotPresent" },
      ]),
    );
    await createPod(pod("invalid-image", [{ name: "main", image: "Not A Valid/Image!" }]));
    const reasons: string[] = [];
    const waiting = (p: Pod) => p.status?.containerStatuses?.[0]?.state.waiting;
    const backedOff = await until(
      "the pull to back off",
      async () => {
        const p = await getPod("bad-image");
        const reason = waiting(p)?.reason;
        if (reason && reasons.at(-1) !== reason) reasons.push(reason);
        return reason === "ImagePullBackOff" ? p : undefined;
      },
      30_000,
      100,
    );
    assert.equal(reasons[0], "ErrImagePull", `the reasons seen: ${reasons.join(", ")}`);
    assert.equal(backedOff.status?.phase, "Pending", "a missing image does not fail the pod");
    assert.match(waiting(backedOff)?.message ?? "", /Back-off pulling image "dinv-test\/no-such-image:1"/);
    const invalid = await waitPhase("invalid-image", ["Failed"]);
    assert.equal(invalid.status?.reason, "InvalidImageName");
    assert.equal(
      (await podContainers(backedOff.metadata?.uid)).length,
      0,
      "a pod waiting for its image holds no container",
    );
    if (server) {
      const api = server;
      const storyOf = () =>
        api
          .objects("events")
          .filter((e) => (e.involvedObject as { name?: string }).name === "bad-image")
          .map((e) => `${String(e.type)} ${String(e.reason)} ${String(e.message)}`);
      await until("the back-off events", async () =>
        storyOf().some((e) => e.startsWith("Normal BackOff")) ? true : undefined,
      );
      const story = storyOf();
      assert.ok(
        story.some((e) => e.startsWith("Normal Pulling")),
        story.join("\n"),
      );
      assert.ok(story.includes("Warning Failed Error: ErrImagePull"), story.join("\n"));
      assert.ok(story.includes('Normal BackOff Back-off pulling image "dinv-test/no-such-image:1"'));
    }
  });

  it("applies securityContext (read-only root, no-new-privileges, user and groups) and refuses what it cannot honour", async () => {
    await createPod(
      pod(
        "secured",
        [
          {
            name: "ro",
            ...sh(
              'if touch /written 2>/dev/null; then exit 11; fi; grep -Eq "^NoNewPrivs:\\s+1" /proc/self/status || exit 12; grep -Eq "^CapEff:\\s+0+$" /proc/self/status || exit 13',
            ),
            securityContext: {
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ["ALL"] },
            },
          },
          {
            name: "user",
            ...sh('[ "$(id -u):$(id -g)" = 1000:3000 ] || exit 14; id -G | grep -qw 4000 || exit 15'),
            securityContext: { runAsUser: 1000, runAsGroup: 3000 },
          },
        ],
        {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { supplementalGroups: [4000] },
        },
      ),
    );
    await createPod(
      pod("seccomp-localhost", [
        {
          name: "main",
          ...sh("exit 0"),
          securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "p.json" } },
        },
      ]),
    );
    const secured = await waitPhase("secured", ["Succeeded", "Failed"]);
    const exits = secured.status?.containerStatuses?.map((c) => `${c.name}=${c.state.terminated?.exitCode}`);
    assert.equal(
      secured.status?.phase,
      "Succeeded",
      `exit 11..15 name the check that failed: ${exits?.join(" ")} ${secured.status?.message ?? ""}`,
    );
    const refused = await waitPhase("seccomp-localhost", ["Failed"]);
    assert.equal(refused.status?.reason, "CreateContainerConfigError");
    assert.match(
      refused.status?.message ?? "",
      /^spec\.containers\[0\]\.securityContext\.seccompProfile\.type Localhost/,
    );
    assert.equal((await podContainers(refused.metadata?.uid)).length, 0, "nothing is made for a refused pod");
    if (server) {
      const api = server;
      await until("the refusal's event", async () =>
        api
          .objects("events")
          .some(
            (e) =>
              (e.involvedObject as { name?: string }).name === "seccomp-localhost" &&
              e.type === "Warning" &&
              e.reason === "CreateContainerConfigError" &&
              String(e.message).includes("securityContext.seccompProfile"),
          )
          ? true
          : undefined,
      );
    }
  });

  it("reports a container's exit as Terminated with its exit code, within a second", async () => {
    await createPod(pod("exits", [{ name: "main", ...sh("sleep 1; exit 7") }], { restartPolicy: "Never" }));
    const p = await until(
      "the container to terminate",
      async () => {
        const got = await getPod("exits");
        return got.status?.containerStatuses?.[0]?.state.terminated ? got : undefined;
      },
      30_000,
      25,
    );
    const seen = Date.now();
    const terminated = p.status?.containerStatuses?.[0]?.state.terminated;
    assert.equal(terminated?.exitCode, 7);
    assert.equal(terminated?.reason, "Error");
    assert.equal(p.status?.phase, "Failed");
    const id = (terminated?.containerID ?? "").replace("docker://", "");
    const finished = Date.parse((await engine.docker.getContainer(id).inspect()).State.FinishedAt);
    console.log(`# exit reflected in the API ${seen - finished} ms after the container died`);
    assert.ok(seen - finished < 1000, `reflected ${seen - finished} ms after the exit`);
  });

  it("runs a single-container pod without an infra container: its container holds the IP, which the status follows across restarts", async () => {
    await createPod(pod("solo", [{ name: "main", ...sh("sleep 2; exit 1") }], { restartPolicy: "Always" }));
    const first = await waitPhase("solo", ["Running"]);
    const containers = await podContainers(first.metadata?.uid);
    assert.deepEqual(
      containers.map((c) => c.Labels["io.dinv.pod.role"]),
      ["app"],
      "one container, no infra container",
    );
    const id = containers[0]?.Id ?? "";
    const ipOf = async () =>
      Object.values((await engine.docker.getContainer(id).inspect()).NetworkSettings.Networks)[0]?.IPAddress;
    assert.equal(first.status?.podIP, await ipOf(), "the pod IP is its container's");
    // The engine restarts it in a new network namespace: the status shows the IP it has now.
    const restarted = await until("a restart with the container running again", async () => {
      const got = await getPod("solo");
      const s = got.status?.containerStatuses?.[0];
      return (s?.restartCount ?? 0) >= 1 && s?.state.running && got.status?.podIP === (await ipOf())
        ? got
        : undefined;
    });
    console.log(`# pod IP ${first.status?.podIP} before the restart, ${restarted.status?.podIP} after`);
    await api.request("DELETE", `${podsPath}/solo`);
  });

  it("restarts per restartPolicy OnFailure and counts restarts", async () => {
    await createPod(
      pod("restarts", [{ name: "main", ...sh("sleep 0.3; exit 3") }], { restartPolicy: "OnFailure" }),
    );
    const p = await until("a restart to be counted", async () => {
      const got = await getPod("restarts");
      return (got.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? got : undefined;
    });
    assert.ok((p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  });

  it("runs readiness and liveness probes: unready until the check passes, restarted when liveness fails", async () => {
    const probe = (script: string) => ({
      exec: { command: ["/bin/sh", "-c", script] },
      periodSeconds: 1,
      timeoutSeconds: 10,
      failureThreshold: 1,
    });
    await createPod(
      pod("probed", [
        {
          name: "main",
          ...sh("exec sleep 3600"),
          readinessProbe: probe("test -f /tmp/ready"),
          // Fails once per marker: the engine restarts a container in place (its files stay), so a
          // marker that outlived the kill would fail the restarted instance too.
          livenessProbe: probe("if [ -f /tmp/die ]; then rm -f /tmp/die; exit 1; fi"),
        },
      ]),
    );
    const container = (p: Pod) => p.status?.containerStatuses?.[0];
    const ready = (p: Pod) => p.status?.conditions?.find((c) => c.type === "Ready")?.status;
    const running = await waitPhase("probed", ["Running"]);
    assert.equal(container(running)?.ready, false, "unready before the readiness probe passes");
    assert.equal(ready(running), "False");
    const id = (container(running)?.containerID ?? "").replace(/^docker:\/\//, "");
    const inContainer = async (script: string) => {
      const exec = await engine.docker.getContainer(id).exec({ Cmd: ["/bin/sh", "-c", script] });
      const stream = await exec.start({});
      stream.resume();
      await new Promise((resolve) => stream.on("end", resolve));
    };

    const storyOf = () =>
      (server?.objects("events") ?? [])
        .filter((e) => (e.involvedObject as { name?: string }).name === "probed")
        .map((e) => `${String(e.reason)}: ${String(e.message)}`);
    if (server) {
      // The first probe runs once the kubelet has seen the container run: let it fail first.
      await until("a failed readiness probe", async () =>
        storyOf().some((e) => e.startsWith("Unhealthy: Readiness probe failed")) ? true : undefined,
      );
    }
    await inContainer("touch /tmp/ready");
    await until("the pod to become Ready", async () => {
      const p = await getPod("probed");
      return ready(p) === "True" && container(p)?.ready ? p : undefined;
    });

    await inContainer("touch /tmp/die");
    const restarted = await until("the liveness failure to restart the container", async () => {
      const p = await getPod("probed");
      return (container(p)?.restartCount ?? 0) >= 1 ? p : undefined;
    });
    assert.equal(container(restarted)?.containerID, `docker://${id}`, "the engine restarted it in place");
    // Ready again: /tmp/ready survives an in-place restart, and the new instance's probe passes.
    await until("the restarted container to become Ready again", async () => {
      const p = await getPod("probed");
      return ready(p) === "True" ? p : undefined;
    });
    if (server) {
      await until("the probe events", async () =>
        storyOf().some((e) => e.startsWith("Killing: Container main failed liveness probe"))
          ? true
          : undefined,
      );
      const story = storyOf();
      assert.ok(
        story.some((e) => e.startsWith("Unhealthy: Liveness probe failed")),
        story.join("\n"),
      );
    }
  });

  it("runs a preStop hook before SIGTERM, within the grace period", async () => {
    // The TERM trap exits 0 only if the preStop marker is already there (21: TERM came first).
    const script =
      "trap 'if [ -f /tmp/prestop ]; then exit 0; else exit 21; fi' TERM; while true; do sleep 0.1; done";
    await createPod(
      pod(
        "prestop",
        [
          {
            name: "main",
            ...sh(script),
            lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 1; touch /tmp/prestop"] } } },
          },
        ],
        { terminationGracePeriodSeconds: 10 },
      ),
    );
    const running = await waitPhase("prestop", ["Running"]);
    const seen: Pod[] = [];
    const watch = await api.watchPods(
      `spec.nodeName=${nodeName}`,
      running.metadata?.resourceVersion ?? "0",
      (_type, object) => {
        if ((object as Pod).metadata?.name === "prestop") seen.push(object as Pod);
      },
      () => undefined,
    );
    try {
      const started = Date.now();
      await api.request("DELETE", `${podsPath}/prestop`, { gracePeriodSeconds: 10 });
      const last = await until("the pod's terminal status", async () =>
        seen.find((p) => p.status?.containerStatuses?.[0]?.state.terminated),
      );
      const took = Date.now() - started;
      const terminated = last.status?.containerStatuses?.[0]?.state.terminated;
      assert.equal(terminated?.exitCode, 0, "the app saw the preStop marker when TERM came (21: it did not)");
      assert.ok(
        took >= 1000 && took < 10_000,
        `stopped ${took} ms after the delete: after the hook, within the grace`,
      );
    } finally {
      watch.abort();
    }
  });

  it("runs postStart after a start; a failing one kills the container, which is restarted", async () => {
    await createPod(
      pod(
        "poststart",
        [
          {
            name: "main",
            // Finishes only once the hook has written its marker.
            ...sh("for i in $(seq 100); do [ -f /tmp/started ] && exit 0; sleep 0.1; done; exit 31"),
            lifecycle: { postStart: { exec: { command: ["/bin/sh", "-c", "touch /tmp/started"] } } },
          },
        ],
        { restartPolicy: "Never" },
      ),
    );
    await createPod(
      pod("poststart-fails", [
        {
          name: "main",
          ...sh("exec sleep 3600"),
          lifecycle: { postStart: { exec: { command: ["/bin/sh", "-c", "exit 3"] } } },
        },
      ]),
    );
    const done = await waitPhase("poststart", ["Succeeded", "Failed"]);
    assert.equal(done.status?.phase, "Succeeded", "exit 31: the hook's marker never came");
    await until("a restart after the failed hook", async () => {
      const p = await getPod("poststart-fails");
      return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
    });
    if (server) {
      const api = server;
      await until("the FailedPostStartHook event", async () =>
        api
          .objects("events")
          .some(
            (e) =>
              (e.involvedObject as { name?: string }).name === "poststart-fails" &&
              e.reason === "FailedPostStartHook",
          )
          ? true
          : undefined,
      );
    }
  });

  it("runs a native sidecar beside the main container, restarts it, and stops it when the main container is done", async () => {
    await createPod(
      pod(
        "sidecar",
        [
          {
            name: "main",
            // Sees the sidecar's file (written after the sidecar started) and its restart, then finishes.
            ...sh(
              "for i in $(seq 200); do [ -f /shared/restarted ] && exit 0; sleep 0.1; done; [ -f /shared/up ] || exit 41; exit 42",
            ),
            volumeMounts: [{ name: "shared", mountPath: "/shared" }],
          },
        ],
        {
          restartPolicy: "Never",
          volumes: [{ name: "shared", emptyDir: {} }],
          initContainers: [
            {
              name: "side",
              restartPolicy: "Always",
              // First run: marks itself up and exits 1; the restarted run marks the restart and stays.
              ...sh(
                "if [ -f /shared/up ]; then touch /shared/restarted; exec sleep 3600; fi; touch /shared/up; sleep 0.5; exit 1",
              ),
              volumeMounts: [{ name: "shared", mountPath: "/shared" }],
            },
          ],
        },
      ),
    );
    const done = await waitPhase("sidecar", ["Succeeded", "Failed"], 45_000);
    const exit = done.status?.containerStatuses?.[0]?.state.terminated?.exitCode;
    assert.equal(
      done.status?.phase,
      "Succeeded",
      `main exited ${exit} (41: no sidecar ran beside it; 42: not restarted)`,
    );
    assert.equal(done.status?.initContainerStatuses?.[0]?.name, "side");
    const side = await until("the sidecar to be stopped after the main container", async () => {
      const p = await getPod("sidecar");
      const s = p.status?.initContainerStatuses?.[0];
      return s?.state.terminated ? s : undefined;
    });
    assert.ok(side.restartCount >= 1, `the sidecar was restarted (${side.restartCount})`);
  });

  it("deletes a pod: containers removed, then the API object", async () => {
    await createPod(pod("doomed", [{ name: "main", ...sh("exec sleep 3600") }]));
    const running = await waitPhase("doomed", ["Running"]);
    const uid = running.metadata?.uid;
    assert.equal((await podContainers(uid)).length, 1, "one container, no infra container");
    await api.request("DELETE", `${podsPath}/doomed`, { gracePeriodSeconds: 1 });
    await until("the pod object to go", async () =>
      (await getPod("doomed").catch(() => undefined)) ? undefined : true,
    );
    assert.equal((await podContainers(uid)).length, 0, "no container of the pod is left");
  });

  it("survives a restart: SIGTERM leaves the node NotReady and pods running; the next start rehydrates without duplicates", async () => {
    await createPod(pod("gone-while-down", [{ name: "main", ...sh("exec sleep 3600") }]));
    const goneUid = (await waitPhase("gone-while-down", ["Running"])).metadata?.uid;
    const before = await podContainers();
    const beforeStatus = await getPod("burst-0");
    const code = await stopKubelet();
    assert.equal(code, 0, "exits 0 on SIGTERM");
    const node = await getNode();
    assert.equal(
      node.status?.conditions?.find((c) => c.type === "Ready")?.status,
      "False",
      "NotReady after SIGTERM",
    );
    // The "restarts" pod crash-loops on purpose: its containers come and go whoever runs them.
    const steady = (list: typeof before) =>
      list.filter((c) => c.State === "running" && c.Labels["io.dinv.pod.name"] !== "restarts").length;
    assert.equal(steady(await podContainers()), steady(before), "pods keep running");

    // While it is down: one pod deleted for good (force), one created.
    await api.request("DELETE", `${podsPath}/gone-while-down`, { gracePeriodSeconds: 0 });
    await createPod(pod("born-while-down", [{ name: "main", ...sh("exec sleep 3600") }]));

    kubelet = startKubelet();
    await waitPhase("born-while-down", ["Running"]);
    await until("the node to be Ready again", async () => {
      const n = await getNode();
      return n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? n : undefined;
    });
    await until("the deleted pod's containers to be removed", async () =>
      (await podContainers(goneUid)).length === 0 ? true : undefined,
    );
    const after = await podContainers();
    const ids = (list: typeof before) =>
      list
        .filter((c) => c.Labels["io.dinv.pod.name"]?.startsWith("burst-"))
        .map((c) => c.Id)
        .sort();
    assert.deepEqual(ids(after), ids(before), "the same containers, none duplicated");
    const afterStatus = await getPod("burst-0");
    assert.equal(afterStatus.status?.phase, "Running");
    assert.equal(
      afterStatus.status?.containerStatuses?.[0]?.containerID,
      beforeStatus.status?.containerStatuses?.[0]?.containerID,
    );
    assert.equal(afterStatus.status?.startTime, beforeStatus.status?.startTime, "startTime kept");
  });

  it(
    "re-lists after the watch history expires (410) and after a dropped stream",
    { skip: REAL_CLUSTER ? "needs the test server's hooks" : false },
    async () => {
      const test = server as KubeApiTestServer;
      const lists = () =>
        test.requests.filter((r) => r.startsWith("GET /api/v1/pods?") && !r.includes("watch=true")).length;
      for (const [name, cut] of [
        ["after-410", () => test.compact()],
        ["after-drop", () => test.dropWatches()],
      ] as const) {
        await until("the kubelet's watch", async () => (test.openWatches > 0 ? true : undefined));
        const before = lists();
        cut();
        await until("a fresh list", async () => (lists() > before ? true : undefined));
        await createPod(pod(name, [{ name: "main", ...sh("exec sleep 3600") }]));
        await waitPhase(name, ["Running"]);
      }
    },
  );
});
