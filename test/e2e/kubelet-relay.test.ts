/**
 * The relay into pods' network namespaces (`dinv kubelet --pod-network relay`): port-forward and
 * tcpSocket probes go through a forwarder exec'd in the pod's infra container instead of dialing
 * the pod's IP — what a kubelet that cannot route to the engine's container network needs. The
 * flag forces it here, on the real engine, where the pod IPs would be routable.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { Pod } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import {
  registeredKubeletPort,
  spawnKubelet,
  spdyForward,
  spdyUpgrade,
  stopProcess,
  testKubeletArgs,
  testPki,
  until,
  type KubeletProcess,
  type TestPki,
} from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const POD_IMAGE = "dinv-test/pod-base:1";
const UPPER_ECHO =
  "my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1:8080', Listen => 5, ReuseAddr => 1) or die $!; " +
  "while (my $c = $s->accept) { while (sysread($c, my $b, 65536)) { syswrite($c, uc $b) } close $c }";
/** The smallest HTTP server: 200 to every request, on the pod's loopback. */
const HTTP_OK =
  "my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1:8082', Listen => 5, ReuseAddr => 1) or die $!; " +
  'while (my $c = $s->accept) { sysread($c, my $b, 65536); print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"; close $c }';

describe("dinv kubelet --pod-network relay (real engine)", { timeout: 120_000 }, () => {
  const nodeName = runId("kubelet-relay");
  const namespace = "default";
  const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-relay-"));
  const kubeconfig = join(dir, "kubeconfig");
  const kubeletKubeconfig = join(dir, "kubelet-kubeconfig");
  let server: KubeApiTestServer;
  let engine: EngineClient;
  let api: RestKubeApi;
  let kubelet: KubeletProcess | undefined;
  let pki: TestPki;
  let port = 0;
  let storeCa = "";

  const podsPath = `/api/v1/namespaces/${namespace}/pods`;
  const getPod = (name: string) => api.request<Pod>("GET", `${podsPath}/${name}`);

  before(async () => {
    pki = await testPki(dir);
    engine = await testEngine();
    await engine.docker.getImage(HOST_IMAGE).tag({ repo: "dinv-test/pod-base", tag: "1" });
    server = new KubeApiTestServer({ kubeletClient: { cert: pki.client.certPem, key: pki.client.keyPem } });
    await server.start();
    server.writeKubeconfig(kubeconfig);
    server.writeKubeconfig(kubeletKubeconfig, { node: nodeName });
    api = new RestKubeApi(loadKubeConfig(kubeconfig));
    kubelet = spawnKubelet(
      testKubeletArgs({ kubeconfig: kubeletKubeconfig, nodeName, clientCa: pki.caFile }, [
        "--pod-network",
        "relay",
      ]),
      { DINV_STORAGE_PATH: join(dir, "store") },
    );
    port = await registeredKubeletPort(api, nodeName, kubelet);
    storeCa = readFileSync(join(dir, "store", "certs", "ca.pem"), "utf8");
    // The server listens on the pod's loopback only: nothing but a relay inside the pod reaches it.
    await api.request("POST", podsPath, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "echoer", namespace },
      spec: {
        nodeName,
        terminationGracePeriodSeconds: 0,
        tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
        containers: [
          {
            name: "main",
            image: POD_IMAGE,
            command: ["perl", "-MIO::Socket::INET", "-e", UPPER_ECHO],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
          {
            name: "web",
            image: POD_IMAGE,
            command: ["perl", "-MIO::Socket::INET", "-e", HTTP_OK],
            readinessProbe: { httpGet: { port: 8082, path: "/healthz" }, periodSeconds: 1 },
          },
        ],
      },
    });
  });

  after(async () => {
    if (kubelet) await stopProcess(kubelet);
    if (engine) await removeLabelled(engine, nodeName, "io.dinv.pod.node");
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives every pod an infra container; its tcpSocket and httpGet probes pass through the relay to loopback-only servers", async () => {
    let last: Pod | undefined;
    const ready = await until("the pod Ready through its tcpSocket and httpGet probes", async () => {
      const p = (last = await getPod("echoer"));
      const statuses = p.status?.containerStatuses ?? [];
      return statuses.length === 2 && statuses.every((c) => c.ready) ? p : undefined;
    }).catch(async (err: Error) => {
      const events = await api.request<{ items: Array<{ reason?: string; message?: string }> }>(
        "GET",
        `/api/v1/namespaces/${namespace}/events`,
      );
      const unhealthy = events.items.filter((e) => e.reason === "Unhealthy").map((e) => e.message);
      throw new Error(
        `${err.message}; probe failures: ${JSON.stringify(unhealthy.slice(-3))}; last status: ${JSON.stringify(last?.status)}`,
      );
    });
    const containers = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.pod.uid=${ready.metadata?.uid}`] }),
    });
    const infra = containers.find((c) => c.Labels["io.dinv.pod.role"] === "infra");
    assert.ok(infra, "relay mode keeps an infra container even for a single-container pod");
    const relay = await engine.docker.getContainer(infra.Id).infoArchive({ path: "/dinv-relay" });
    assert.ok(relay, "the relay was put into the infra container, not into the pod's own container");
  });

  it("port-forwards through the relay: bytes round-trip, a closed port is reported", async () => {
    const upgrade = await spdyUpgrade(port, `/portForward/${namespace}/echoer`, ["portforward.k8s.io"], {
      cert: pki.client,
      ca: storeCa,
    });
    assert.equal(upgrade.status, 101);
    const connection = upgrade.connection;
    assert.ok(connection);
    let request = 0;
    const first = await until("the pod's server to answer through the relay", async () => {
      const answer = await spdyForward(connection, 8080, request++, "hello relay");
      return answer.data === "HELLO RELAY" ? answer : undefined;
    });
    assert.equal(first.error, "");
    const big = "x".repeat(300_000);
    assert.equal(
      (await spdyForward(connection, 8080, request++, big)).data,
      big.toUpperCase(),
      "300 kB both ways",
    );
    const closed = await spdyForward(connection, 8081, request++, "anyone?");
    assert.match(
      (JSON.parse(closed.error) as { message: string }).message,
      /nothing listens on port 8081 in the pod \(refused, through the relay\)/,
    );
    await connection.close();
  });
});
