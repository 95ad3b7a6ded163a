/**
 * The virtual kubelet on a VCH (DINV_TEST_ENGINE=vch: the VCH emulator of scripts/vch.sh, or a
 * real VCH), with the repository's Kubernetes API test server: a pod whose image the VCH must
 * pull from its registry runs as a containerVM, with its status, logs and exec through the
 * kubelet API. Part of `npm run test:vch`; elsewhere it fails at once, saying so.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { Node, Pod } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import { HOST_IMAGE, TEST_ENGINE, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import {
  kubeletRequest,
  registeredKubeletPort,
  runChannels,
  spawnKubelet,
  testKubeletArgs,
  stopProcess,
  testPki,
  until,
  type Credentials,
  type KubeletProcess,
} from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

describe("dinv kubelet on a VCH (Kubernetes API test server)", { timeout: 180_000 }, () => {
  const nodeName = runId("vch-kubelet");
  const dir = mkdtempSync(join(tmpdir(), "dinv-vch-kubelet-"));
  const kubeconfig = join(dir, "kubeconfig");
  // The kubelet runs as its node (system:node:NAME), held to the Node authorizer and NodeRestriction.
  const kubeletKubeconfig = join(dir, "kubelet-kubeconfig");
  const podsPath = "/api/v1/namespaces/default/pods";
  let server: KubeApiTestServer;
  let engine: EngineClient;
  let api: RestKubeApi;
  let kubelet: KubeletProcess;
  let port: number;
  let admin: Credentials;

  const pod = (name: string, script: string, extra: Partial<Pod["spec"]> = {}): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
      // The host image has sh and sleep; a VCH pulls it from its registry (IfNotPresent).
      containers: [{ name: "main", image: HOST_IMAGE, command: ["/bin/sh", "-c", script] }],
      ...extra,
    },
  });
  const getPod = (name: string) => api.request<Pod>("GET", `${podsPath}/${name}`);
  const waitPhase = (name: string, phase: string) =>
    until(
      `pod ${name} ${phase}`,
      async () => ((await getPod(name)).status?.phase === phase ? true : undefined),
      60_000,
    );

  before(async () => {
    assert.equal(TEST_ENGINE, "vic", "this suite runs with DINV_TEST_ENGINE=vch (npm run test:vch)");
    engine = await testEngine();
    const pki = await testPki(dir);
    server = new KubeApiTestServer();
    await server.start();
    server.writeKubeconfig(kubeconfig);
    server.writeKubeconfig(kubeletKubeconfig, { node: nodeName });
    api = new RestKubeApi(loadKubeConfig(kubeconfig));
    kubelet = spawnKubelet(
      testKubeletArgs({ kubeconfig: kubeletKubeconfig, nodeName, clientCa: pki.caFile }),
      { DINV_STORAGE_PATH: join(dir, "store") },
    );
    port = await registeredKubeletPort(api, nodeName, kubelet).catch((err: Error) => {
      throw new Error(`${err.message}; the kubelet said:\n${kubelet.output()}`);
    });
    admin = { cert: pki.client, ca: readFileSync(join(dir, "store", "certs", "ca.pem"), "utf8") };
  });

  after(async () => {
    if (kubelet) await stopProcess(kubelet);
    if (engine) await removeLabelled(engine, nodeName, "io.dinv.pod.node");
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers a node that says it is a VCH, sized from its MHz and memory limits", async () => {
    const node = await api.request<Node>("GET", `/api/v1/nodes/${nodeName}`);
    assert.match(node.status?.nodeInfo?.containerRuntimeVersion ?? "", /^vic:\/\/v?1\.5\.6/);
    const info = (await engine.docker.info()) as { NCPU: number; MemTotal: number };
    assert.equal(
      node.status?.capacity?.cpu,
      String(Math.floor(info.NCPU / 1000)),
      "MHz counted at 1 core per GHz",
    );
  });

  it("runs a pod as a containerVM, with logs and exec through the kubelet API", async () => {
    await api.request("POST", podsPath, pod("hello", "echo hello-from-vch; exec sleep 3600"));
    await waitPhase("hello", "Running");
    const logs = await until("the pod's log line", async () => {
      const answer = await kubeletRequest(port, "/containerLogs/default/hello/main", admin);
      return answer.body.includes("hello-from-vch") ? answer : undefined;
    });
    assert.equal(logs.status, 200);
    const exec = await runChannels({
      url: `wss://127.0.0.1:${port}/exec/default/hello/main?command=sh&command=-c&command=${encodeURIComponent("echo in-vm; exit 4")}&stdout=1&stderr=1`,
      protocols: ["v5.channel.k8s.io"],
      credentials: admin,
    });
    assert.equal(exec.stdout, "in-vm\n");
    const status = JSON.parse(exec.error) as { details?: { causes?: Array<{ message?: string }> } };
    assert.equal(status.details?.causes?.[0]?.message, "4", "the exit code");
    // One containerVM for the pod: no infra container on a VCH.
    const uid = (await getPod("hello")).metadata?.uid ?? "";
    const containers = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.pod.uid=${uid}`] }),
    });
    assert.equal(containers.length, 1);
  });

  it("restarts an exited container itself, since a VCH applies no restart policy", async () => {
    await api.request("POST", podsPath, pod("crasher", "echo once; exit 3"));
    const restarted = await until(
      "the kubelet to restart the container",
      async () => {
        const status = (await getPod("crasher")).status?.containerStatuses?.[0];
        return (status?.restartCount ?? 0) >= 1 ? status : undefined;
      },
      60_000,
    );
    assert.equal(restarted?.lastState?.terminated?.exitCode, 3);
    const uid = (await getPod("crasher")).metadata?.uid ?? "";
    const [container] = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.pod.uid=${uid}`] }),
    });
    const info = await engine.docker.getContainer(container?.Id ?? "").inspect();
    assert.equal(info.HostConfig.RestartPolicy?.Name, "no", "nothing asked of the VCH that it would ignore");
  });

  it("sizes an emptyDir's disk from sizeLimit, and refuses what a VCH cannot do, naming the field", async () => {
    const volumes = (name: string, emptyDir: Record<string, string>) => ({
      volumes: [{ name, emptyDir }],
    });
    const withMount = (p: Pod, volume: string): Pod => {
      const [main] = p.spec.containers;
      if (main) main.volumeMounts = [{ name: volume, mountPath: "/data" }];
      return p;
    };
    await api.request(
      "POST",
      podsPath,
      withMount(pod("sized", "exec sleep 3600", volumes("scratch", { sizeLimit: "2Gi" })), "scratch"),
    );
    await api.request(
      "POST",
      podsPath,
      withMount(pod("in-memory", "exec sleep 3600", volumes("shm", { medium: "Memory" })), "shm"),
    );
    await api.request("POST", podsPath, pod("host-net", "exec sleep 3600", { hostNetwork: true }));
    await waitPhase("sized", "Running");
    const uid = (await getPod("sized")).metadata?.uid ?? "";
    const volume = await engine.docker.getVolume(`k8s_scratch_sized_default_${uid}`).inspect();
    assert.equal(volume.Options?.Capacity, "2048", "2 GiB as VIC's MB (MiB on disk)");
    await waitPhase("in-memory", "Failed");
    assert.match((await getPod("in-memory")).status?.message ?? "", /emptyDir\.medium "Memory"/);
    await waitPhase("host-net", "Failed");
    assert.match((await getPod("host-net")).status?.message ?? "", /hostNetwork/);
  });

  it("reports CPU from VIC's MHz stats: a busy pod above an idle one, once two samples exist", async () => {
    await api.request("POST", podsPath, pod("busy", "while :; do :; done"));
    await api.request("POST", podsPath, pod("idle", "exec sleep 3600"));
    await waitPhase("busy", "Running");
    await waitPhase("idle", "Running");
    type Summary = {
      pods: Array<{ podRef: { name: string }; containers: Array<{ cpu?: { usageNanoCores?: number } }> }>;
    };
    const cpuOf = (summary: Summary, name: string) =>
      summary.pods.find((p) => p.podRef.name === name)?.containers[0]?.cpu?.usageNanoCores;
    const summary = await until(
      "CPU figures for both pods",
      async () => {
        const doc = JSON.parse((await kubeletRequest(port, "/stats/summary", admin)).body) as Summary;
        return cpuOf(doc, "busy") !== undefined && cpuOf(doc, "idle") !== undefined ? doc : undefined;
      },
      120_000,
      500,
    );
    const busy = cpuOf(summary, "busy") ?? 0;
    const idle = cpuOf(summary, "idle") ?? 0;
    assert.ok(busy > 0.3e9, `a spinning shell uses a good part of a core (${busy} nanocores)`);
    assert.ok(busy > 5 * idle, `busy ${busy} against idle ${idle}`);
  });
});
