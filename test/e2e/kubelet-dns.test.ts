/**
 * Cluster DNS end to end: `dinv kubelet --cluster-dns 127.0.0.1 --cluster-domain cluster.local`
 * on the real engine, and a ClusterFirst pod whose own `dns` container is that name server (the
 * static responder of test/fixtures/dns/responder.c, on the loopback of the pod's network
 * namespace). Its `client` container resolves the short name `db`, which only the search path
 * and ndots the kubelet wrote can turn into the one name the responder knows, and reads the
 * KUBERNETES_SERVICE_* variables of the API test server's default/kubernetes service.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { Pod, Service } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import { HOST_IMAGE, removeImages, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { importStaticImage } from "../helpers/static-image.js";
import {
  registeredKubeletPort,
  spawnKubelet,
  stopProcess,
  testKubeletArgs,
  testPki,
  until,
  type KubeletProcess,
} from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const POD_IMAGE = "dinv-test/pod-base:1";
const DB_IP = "10.96.0.77";

describe("dinv kubelet --cluster-dns (real engine, a pod's own name server)", { timeout: 120_000 }, () => {
  const nodeName = runId("kubelet-dns");
  // A namespace of its own, so the search path the kubelet writes names it.
  const namespace = nodeName;
  const dnsImage = `dinv-test/dns-responder:${nodeName}`;
  const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-dns-"));
  let server: KubeApiTestServer | undefined;
  let engine: EngineClient | undefined;
  let api: RestKubeApi;
  let kubelet: KubeletProcess | undefined;

  before(async () => {
    const pki = await testPki(dir);
    engine = await testEngine();
    await engine.docker.getImage(HOST_IMAGE).tag({ repo: "dinv-test/pod-base", tag: "1" });
    await importStaticImage(engine, "test/fixtures/dns/responder.c", dnsImage);
    server = new KubeApiTestServer();
    await server.start();
    const kubeconfig = join(dir, "kubeconfig");
    const kubeletKubeconfig = join(dir, "kubelet-kubeconfig");
    server.writeKubeconfig(kubeconfig);
    server.writeKubeconfig(kubeletKubeconfig, { node: nodeName });
    api = new RestKubeApi(loadKubeConfig(kubeconfig));
    kubelet = spawnKubelet(
      testKubeletArgs({ kubeconfig: kubeletKubeconfig, nodeName, clientCa: pki.caFile }, [
        "--cluster-dns",
        "127.0.0.1",
        "--cluster-domain",
        "cluster.local",
      ]),
      { DINV_STORAGE_PATH: join(dir, "store") },
    );
    await registeredKubeletPort(api, nodeName, kubelet);
  });

  after(async () => {
    if (kubelet) await stopProcess(kubelet);
    if (engine) {
      await removeLabelled(engine, nodeName, "io.dinv.pod.node");
      await removeImages([[engine, dnsImage]]);
    }
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The text of a non-tty container's log: frames of an 8-byte header (stream, size) and data. */
  function demux(log: Buffer): string {
    let text = "";
    for (let at = 0; at + 8 <= log.length; at += 8 + log.readUInt32BE(at + 4))
      text += log.subarray(at + 8, at + 8 + log.readUInt32BE(at + 4)).toString();
    return text;
  }

  /** Each container's engine log, by container name, for failure messages. */
  async function podLogs(uid: string): Promise<Map<string, string>> {
    const docker = (engine as EngineClient).docker;
    const containers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.pod.uid=${uid}`, "io.dinv.pod.role=app"] }),
    });
    const logs = new Map<string, string>();
    for (const c of containers) {
      const log = await docker.getContainer(c.Id).logs({ stdout: true, stderr: true });
      logs.set(c.Labels["io.dinv.pod.container"] ?? c.Id, demux(log));
    }
    return logs;
  }

  it("a ClusterFirst pod resolves a short name through its own name server and sees KUBERNETES_SERVICE_*", async () => {
    const apiService = await api.request<Service>("GET", "/api/v1/namespaces/default/services/kubernetes");
    const apiHost = apiService.spec?.clusterIP ?? "";
    const apiPort = String(apiService.spec?.ports?.[0]?.port ?? "");
    assert.ok(apiHost && apiPort, "the test server publishes default/kubernetes");
    const fqdn = `db.${namespace}.svc.cluster.local`;
    // Exit code i + 11 names the i-th check. resolv.conf is checked before any lookup: without the
    // cluster DNS it names the engine's resolver, which this test must not query.
    const checks: Array<[string, string]> = [
      [
        "resolv.conf names only the cluster DNS",
        "[ \"$(grep '^nameserver' /etc/resolv.conf)\" = 'nameserver 127.0.0.1' ]",
      ],
      [
        "resolv.conf has the ClusterFirst search path",
        `grep -qx 'search ${namespace}.svc.cluster.local svc.cluster.local cluster.local' /etc/resolv.conf`,
      ],
      ["resolv.conf has options ndots:5", "grep -qx 'options ndots:5' /etc/resolv.conf"],
      [
        "KUBERNETES_SERVICE_HOST is default/kubernetes' cluster IP",
        `[ "$KUBERNETES_SERVICE_HOST" = '${apiHost}' ]`,
      ],
      [
        "KUBERNETES_SERVICE_PORT is default/kubernetes' port",
        `[ "$KUBERNETES_SERVICE_PORT" = '${apiPort}' ]`,
      ],
      // The responder may still be starting: a few seconds of retries.
      [
        "the short name db resolves",
        "i=0; until getent hosts db > /tmp/db; do i=$((i + 1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done; cat /tmp/db",
      ],
      [
        `db resolves to ${DB_IP} as ${fqdn}`,
        `read ip name rest < /tmp/db; [ "$ip $name" = '${DB_IP} ${fqdn}' ]`,
      ],
      ["a name the server does not know does not resolve", "! getent hosts nosuch"],
    ];
    const script = [
      "cat /etc/resolv.conf",
      ...checks.map(([, test], i) => `(${test}) || exit ${i + 11}`),
      "exit 0",
    ].join("\n");
    const created = await api.request<Pod>("POST", `/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "resolver", namespace },
      spec: {
        nodeName,
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 1,
        tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
        // dnsPolicy left out: ClusterFirst is the default.
        containers: [
          { name: "dns", image: dnsImage, args: [`${fqdn}=${DB_IP}`] },
          { name: "client", image: POD_IMAGE, command: ["/bin/sh", "-c", script] },
        ],
      },
    } satisfies Pod);
    assert.equal(created.spec.dnsPolicy, "ClusterFirst");
    const uid = created.metadata?.uid ?? "";

    let last: Pod | undefined;
    const exitCode = await until(
      "the client container to finish",
      async () => {
        last = await api.request<Pod>("GET", `/api/v1/namespaces/${namespace}/pods/resolver`);
        const client = last.status?.containerStatuses?.find((c) => c.name === "client");
        return client?.state.terminated?.exitCode;
      },
      60_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
    });
    const logs = await podLogs(uid);
    // The last lines of each: a failed lookup retried for seconds logs hundreds of queries.
    const seen = [...logs]
      .map(([name, log]) => `--- ${name}:\n${log.trimEnd().split("\n").slice(-30).join("\n")}`)
      .join("\n");
    const failed = checks[exitCode - 11]?.[0] ?? `exit ${exitCode}`;
    assert.equal(exitCode, 0, `check failed: ${failed}; the pod's logs:\n${seen}`);
    // The answer came from the pod's own name server, asked the name the search path made.
    assert.match(
      logs.get("dns") ?? "",
      new RegExp(`${fqdn.replaceAll(".", "\\.")}\\. type 1 -> rcode 0, 1 answer`),
      seen,
    );
  });
});
