/**
 * The second external personality end to end (issue 16): dinv's virtual kubelet run as a host
 * (examples/kubelet-host), its image built offline with `dinv image build`, added with
 * `dinv personality add` from examples/, created on the real engine. It makes a dinv Docker host
 * a node of the repository's Kubernetes API test server, with every credential delivered as a
 * file: the kubeconfig, the endpoint's client certificates, the API server's client CA.
 *
 * Topology (all on one container network of this engine): the API test server listens on the
 * network's gateway, the Docker host that becomes the node at .10, the kubelet host at .11.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { Node, Pod } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { DINV_BIN, REPO_ROOT, sandbox, type Sandbox } from "../helpers/cli.js";
import {
  ENGINE_NAME,
  HOST_IMAGE,
  TEST_ENGINE,
  danglingVolumes,
  removeImages,
  removeLabelled,
  runId,
  testEngine,
  volumesLeftSince,
} from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";
import { testPki, until, type TestPki } from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const EXAMPLE = join(REPO_ROOT, "examples", "kubelet-host");
// Off the outer bridge, the inner engines' ranges and network.test.ts's 10.231.0.0/24; one per
// engine, so the Docker Engine and Podman runs may overlap.
const NET = TEST_ENGINE === "podman" ? "10.232.1" : "10.232.0";
const POD_IMAGE = "dinv-test/tiny:1";

function nodeReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

describe(
  `the kubelet example: dinv kubelet as an added personality (real ${ENGINE_NAME})`,
  { timeout: 600_000 },
  () => {
    let box: Sandbox;
    let engine: EngineClient;
    let server: KubeApiTestServer;
    let api: RestKubeApi;
    let pki: TestPki;
    const id = runId("kpers");
    const image = `dinv-e2e/kubelet:${id}`;
    const network = `${id}-lan`;
    const target = `${id}-engine`;
    const kubelet = `${id}-kubelet`;
    const nodeName = `${id}-node`;
    const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-personality-"));
    const nodeKubeconfig = join(dir, "node-kubeconfig");

    const getNode = () => api.request<Node>("GET", `/api/v1/nodes/${nodeName}`).catch(() => undefined);
    /** curl to the kubelet API at the kubelet host's address, with a client certificate. */
    const kubeletApi = (path: string, cert: string, key: string) =>
      box.sh(
        `curl -sS --max-time 10 --cacert ${join(box.store, "hosts", kubelet, "ca.pem")} --cert ${cert} --key ${key} ` +
          `-w '\\n%{http_code}' https://${NET}.11:10250${path}`,
      );

    before(async () => {
      engine = await testEngine();
      box = sandbox();
      await engine.docker.createNetwork({
        Name: network,
        Driver: "bridge",
        IPAM: { Config: [{ Subnet: `${NET}.0/24`, Gateway: `${NET}.1` }] },
        Labels: { "io.dinv.test": id },
      });
      server = new KubeApiTestServer();
      pki = await testPki(dir);
      writeFileSync(join(dir, "apiserver-cert.pem"), pki.client.certPem);
      writeFileSync(join(dir, "apiserver-key.pem"), pki.client.keyPem, { mode: 0o600 });
    });

    after(async () => {
      await box.dinv(["rm", "-f", "-y", kubelet, target]);
      for (const host of [kubelet, target]) await removeLabelled(engine, host, "io.dinv.host");
      await removeLabelled(engine, id);
      await engine.docker
        .getNetwork(network)
        .remove()
        .catch(() => undefined);
      await removeImages([[engine, image]]);
      await server.stop();
      box.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it("builds the image offline: the official one, node and dinv bundled", async () => {
      const built = await box.sh(`${join(EXAMPLE, "build.sh")} --base ${HOST_IMAGE}`, {
        DINV: DINV_BIN,
        TAG: image,
      });
      assertOk(built, "examples/kubelet-host/build.sh");
      assert.match(built.stdout, new RegExp(`^Built ${image} from ${HOST_IMAGE}`, "m"));
      // What it runs is proven by the hosts below; here, what the image holds.
      const inspected = await engine.docker.getImage(image).inspect();
      assert.equal(inspected.Config.Labels["io.dinv.image.base"], HOST_IMAGE);
      const listed = await box.docker(["image", "inspect", "--format", "{{.Size}}", image]);
      assertOk(listed, "docker image inspect");
    });

    it("refuses a kubelet host without its kubeconfig, in one line", async () => {
      assertOk(await box.dinv(["personality", "add", EXAMPLE]), "personality add examples/kubelet-host");
      const ls = await box.dinv(["personality", "ls"]);
      assert.match(ls.stdout, /^kubelet +dinv-examples\/kubelet:latest +10250\/https /m);
      assertCleanFailure(
        await box.dinv([
          "create",
          "--personality",
          "kubelet",
          "--image",
          image,
          "--engine-opt",
          "endpoint=tcp://x:2376",
          `${id}-bad`,
        ]),
        /give --engine-opt kubeconfig=/,
      );
    });

    it("makes a dinv Docker host a node, and runs a pod scheduled to it there", async () => {
      assertOk(
        await box.dinv(["create", "--network", network, "--ip", `${NET}.10`, target]),
        "create the node's engine",
      );
      const tiny = join(dir, "tiny.tar");
      writeFileSync(tiny, await tinyRootfsTar());
      assertOk(
        await box.docker(["--context", target, "import", tiny, POD_IMAGE]),
        "docker import into the node's engine",
      );
      // The network's gateway address exists once a container is on it (at network create on
      // Docker Engine, at the first container on Podman's CNI bridge).
      await server.start(`${NET}.1`);
      server.writeKubeconfig(nodeKubeconfig, { node: nodeName });
      server.writeKubeconfig(join(dir, "admin-kubeconfig"));
      api = new RestKubeApi(loadKubeConfig(join(dir, "admin-kubeconfig")));

      const created = await box.dinv([
        "create",
        "--personality",
        "kubelet",
        "--image",
        image,
        "--network",
        network,
        "--ip",
        `${NET}.11`,
        "--engine-opt",
        `kubeconfig=${nodeKubeconfig}`,
        "--engine-opt",
        `endpoint=tcp://${NET}.10:2376`,
        "--engine-opt",
        `endpoint-certs=${join(box.store, "hosts", target)}`,
        "--engine-opt",
        `client-ca=${pki.caFile}`,
        "--engine-opt",
        `node-name=${nodeName}`,
        kubelet,
      ]);
      assertOk(created, "create --personality kubelet");
      const node = await until("the node to be Ready", async () => {
        const n = await getNode();
        return nodeReady(n) ? n : undefined;
      });
      assert.deepEqual(
        node.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
        `${NET}.11`,
        "the node's address is the kubelet host's",
      );

      const pod: Pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${id}-pod`, namespace: "default" },
        spec: {
          nodeName,
          containers: [
            {
              name: "main",
              image: POD_IMAGE,
              command: ["/bin/sh", "-c", "echo hello from the node; sleep 3600"],
            },
          ],
          tolerations: [{ operator: "Exists" }],
        },
      };
      await api.request("POST", "/api/v1/namespaces/default/pods", pod);
      await until(
        "the pod to run",
        async () => {
          const p = await api.request<Pod>("GET", `/api/v1/namespaces/default/pods/${id}-pod`);
          return p.status?.phase === "Running" ? p : undefined;
        },
        90_000,
        500,
      );
      // Its containers run on the node's engine (the Docker host), not beside the kubelet.
      const ps = await box.docker(["--context", target, "ps", "--format", "{{.Image}}"]);
      assertOk(ps, "docker ps on the node's engine");
      assert.match(ps.stdout, new RegExp(`^${POD_IMAGE.replace(/[./]/g, "\\$&")}$`, "m"));

      // The kubelet API: dinv's client key (the store's CA) and the API server's (its client CA) get in.
      const hostKey = join(box.store, "hosts", kubelet);
      const pods = await kubeletApi("/pods", join(hostKey, "cert.pem"), join(hostKey, "key.pem"));
      assertOk(pods, "GET /pods with dinv's client key");
      assert.match(pods.stdout, /\n200$/);
      assert.ok(pods.stdout.includes(`"name":"${id}-pod"`), pods.stdout);
      const logs = await kubeletApi(
        `/containerLogs/default/${id}-pod/main`,
        join(dir, "apiserver-cert.pem"),
        join(dir, "apiserver-key.pem"),
      );
      assertOk(logs, "GET containerLogs with the API server's client key");
      assert.match(logs.stdout, /^hello from the node\n\n200$/);
    });

    it("keeps dinv's day-2 commands working on the kubelet host", async () => {
      const danglingBefore = await danglingVolumes(engine);
      const ls = await box.dinv(["ls", "--format", "{{.Name}} {{.State}}"]);
      assert.match(ls.stdout, new RegExp(`^${kubelet} Running$`, "m"));
      assertOk(await box.dinv(["regenerate-certs", "-f", kubelet]), "regenerate-certs");
      assertOk(await box.dinv(["stop", kubelet]), "stop");
      await until(
        "the node to go NotReady",
        async () => (nodeReady(await getNode()) ? undefined : true),
        60_000,
        500,
      );
      assertOk(await box.dinv(["start", kubelet]), "start");
      await until(
        "the node to be Ready again",
        async () => (nodeReady(await getNode()) ? true : undefined),
        60_000,
        500,
      );
      assertOk(await box.dinv(["upgrade", kubelet]), "upgrade");
      assertOk(await box.dinv(["rm", "-y", kubelet]), "rm");
      const left = await engine.docker.listContainers({
        all: true,
        filters: JSON.stringify({ name: [`^/dinv-${kubelet}$`] }),
      });
      assert.deepEqual(left, [], "no kubelet container left");
      // Its data is not at the image's declared /var/lib/docker: that anonymous volume goes too.
      assert.deepEqual(await volumesLeftSince(engine, danglingBefore), [], "no volume left");
    });
  },
);
