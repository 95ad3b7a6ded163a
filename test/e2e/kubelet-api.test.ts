/**
 * The kubelet API end to end: `dinv kubelet` in a child process on the real engine, the
 * Kubernetes API test server (TokenReview, SubjectAccessReview, and pods/log + exec relayed to
 * the kubelet with its kubelet-client certificate), and real clients — Node's HTTPS, the `ws`
 * package speaking the channel protocols, and kubectl (pointed at the test server) for logs
 * and exec.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { KubeList, Pod } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import type { StatsSummary } from "../../src/kubelet/stats/types.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import {
  kubeletRequest,
  registeredKubeletPort,
  runChannels,
  runSpdyExec,
  spawnKubelet,
  testKubeletArgs,
  spdyForward,
  spdyUpgrade,
  stopProcess,
  testPki,
  until,
  type Credentials,
  type KubeletProcess,
  type TestPki,
} from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const POD_IMAGE = "dinv-test/pod-base:1";
const KUBECTL = "/usr/bin/kubectl";
const V5 = "v5.channel.k8s.io";
const V4 = "v4.channel.k8s.io";

/** kubectl 1.30+ speaks WebSocket to the API server unless told otherwise; these make it use SPDY/3.1. */
const KUBECTL_SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false", KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" };

function kubectl(
  kubeconfig: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { timeout: 30_000, env: { ...process.env, ...env } };
    execFile(KUBECTL, ["--kubeconfig", kubeconfig, ...args], options, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("dinv kubelet API (HTTPS, authn/authz, logs, exec, stats)", { timeout: 150_000 }, () => {
  const nodeName = runId("kubelet-api");
  const namespace = "default";
  const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-api-"));
  const kubeconfig = join(dir, "kubeconfig");
  // The kubelet runs as its node (system:node:NAME), held to the Node authorizer and NodeRestriction.
  const kubeletKubeconfig = join(dir, "kubelet-kubeconfig");
  let server: KubeApiTestServer;
  let engine: EngineClient;
  let api: RestKubeApi;
  let kubelet: KubeletProcess | undefined;
  let pki: TestPki;
  let port = 0;
  let storeCa = "";
  let admin: Credentials;

  const podsPath = `/api/v1/namespaces/${namespace}/pods`;
  const getPod = (name: string) => api.request<Pod>("GET", `${podsPath}/${name}`);

  function pod(name: string, containers: Pod["spec"]["containers"], extra: Partial<Pod["spec"]> = {}): Pod {
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace },
      spec: {
        nodeName,
        terminationGracePeriodSeconds: 0,
        tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
        containers,
        ...extra,
      },
    };
  }
  const sh = (script: string) => ({ image: POD_IMAGE, command: ["/bin/sh", "-c", script] });

  async function running(name: string): Promise<Pod> {
    return until(`pod ${name} Running`, async () => {
      const p = await getPod(name);
      return p.status?.containerStatuses?.every((c) => c.state.running) && p.status.phase === "Running"
        ? p
        : undefined;
    });
  }

  const wsUrl = (path: string) => `wss://127.0.0.1:${port}${path}`;
  const execPath = (podName: string, container: string, command: string[], flags: string) =>
    `/exec/${namespace}/${podName}/${container}?${command.map((c) => `command=${encodeURIComponent(c)}`).join("&")}&${flags}`;

  before(async () => {
    pki = await testPki(dir);
    engine = await testEngine();
    await engine.docker.getImage(HOST_IMAGE).tag({ repo: "dinv-test/pod-base", tag: "1" });
    server = new KubeApiTestServer({
      kubeletClient: { cert: pki.client.certPem, key: pki.client.keyPem },
      tokens: {
        "reader-token": { username: "reader", groups: ["readers"] },
        "admin-token": { username: "admin", groups: ["system:masters"] },
      },
      // readers may read stats and metrics, nothing else.
      authorize: (r) =>
        r.groups.includes("system:masters") ||
        (r.groups.includes("readers") && r.verb === "get" && ["stats", "metrics"].includes(r.subresource)),
    });
    await server.start();
    server.writeKubeconfig(kubeconfig);
    server.writeKubeconfig(kubeletKubeconfig, { node: nodeName });
    api = new RestKubeApi(loadKubeConfig(kubeconfig));
    kubelet = spawnKubelet(
      testKubeletArgs({ kubeconfig: kubeletKubeconfig, nodeName, clientCa: pki.caFile }, ["--authn-webhook"]),
      { DINV_STORAGE_PATH: join(dir, "store") },
    );
    port = await registeredKubeletPort(api, nodeName, kubelet);
    storeCa = readFileSync(join(dir, "store", "certs", "ca.pem"), "utf8");
    admin = { cert: pki.client, ca: storeCa };
    await Promise.all([
      api.request("POST", podsPath, pod("logger", [{ name: "main", ...sh(LOGGER) }])),
      api.request("POST", podsPath, pod("shell", [{ name: "main", ...sh("exec sleep 3600") }])),
      api.request(
        "POST",
        podsPath,
        pod("crasher", [{ name: "main", ...sh("echo started-$(date +%s%N); sleep 0.5; exit 1") }], {
          restartPolicy: "OnFailure",
        }),
      ),
      api.request(
        "POST",
        podsPath,
        pod("catter", [{ name: "main", image: POD_IMAGE, command: ["cat"], stdin: true }]),
      ),
      api.request(
        "POST",
        podsPath,
        pod("echoer", [
          { name: "main", image: POD_IMAGE, command: ["perl", "-MIO::Socket::INET", "-e", UPPER_ECHO] },
        ]),
      ),
    ]);
  });

  after(async () => {
    if (kubelet) await stopProcess(kubelet);
    if (engine) await removeLabelled(engine, nodeName, "io.dinv.pod.node");
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses requests without credentials, with a bad token or a foreign certificate; authorizes through SubjectAccessReview", async () => {
    for (const path of ["/healthz", "/pods", "/stats/summary", `/containerLogs/${namespace}/logger/main`]) {
      const answer = await kubeletRequest(port, path, { ca: storeCa });
      assert.equal(answer.status, 401, `${path} without credentials`);
    }
    assert.equal((await kubeletRequest(port, "/pods", { token: "stolen", ca: storeCa })).status, 401);
    const stranger = await testPki(dir);
    assert.equal((await kubeletRequest(port, "/pods", { cert: stranger.client, ca: storeCa })).status, 401);
    await assert.rejects(
      runChannels({
        url: wsUrl(execPath("shell", "main", ["id"], "stdout=1")),
        protocols: [V5],
        credentials: { ca: storeCa },
      }),
      (err: { status?: number }) => err.status === 401,
      "an exec upgrade without credentials is refused before any stream",
    );

    const reader: Credentials = { token: "reader-token", ca: storeCa };
    const forbidden = await kubeletRequest(port, "/pods", reader);
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body, /user=reader, verb=get, resource=nodes, subresource\(s\)=\[proxy\]/);
    assert.equal((await kubeletRequest(port, "/metrics/resource", reader)).status, 200);
    assert.equal((await kubeletRequest(port, "/pods", { token: "admin-token", ca: storeCa })).status, 200);
    const reviews = server.requests.filter((r) => r.includes("tokenreviews")).length;
    await kubeletRequest(port, "/pods", { token: "admin-token", ca: storeCa });
    assert.equal(
      server.requests.filter((r) => r.includes("tokenreviews")).length,
      reviews,
      "a reviewed token is cached",
    );
  });

  it("lists its pods on /pods (client certificate)", async () => {
    await running("shell");
    const answer = await kubeletRequest(port, "/pods", admin);
    assert.equal(answer.status, 200);
    const list = JSON.parse(answer.body) as KubeList<Pod>;
    const shell = list.items.find((p) => p.metadata?.name === "shell");
    assert.equal(shell?.status?.phase, "Running");
    assert.equal(shell?.kind, "Pod");
  });

  it("serves container logs: tailLines, timestamps, limitBytes, sinceTime, stderr merged", async () => {
    await running("logger");
    await until("a few log lines", async () => {
      const a = await kubeletRequest(port, `/containerLogs/${namespace}/logger/main`, admin);
      return a.body.split("\n").length > 6 ? a : undefined;
    });
    const all = (await kubeletRequest(port, `/containerLogs/${namespace}/logger/main`, admin)).body;
    assert.match(all, /^out 0\nerr 0\nout 1\n/, "stdout and stderr interleaved in order");
    const tail = await kubeletRequest(port, `/containerLogs/${namespace}/logger/main?tailLines=2`, admin);
    assert.equal(tail.body.split("\n").filter(Boolean).length, 2);
    const stamped = await kubeletRequest(
      port,
      `/containerLogs/${namespace}/logger/main?timestamps=true&tailLines=1`,
      admin,
    );
    assert.match(stamped.body, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z (out|err) \d+\n$/);
    const limited = await kubeletRequest(port, `/containerLogs/${namespace}/logger/main?limitBytes=7`, admin);
    assert.equal(limited.body, "out 0\ne");
    const at = stamped.body.split(" ")[0] as string;
    const since = await kubeletRequest(
      port,
      `/containerLogs/${namespace}/logger/main?sinceTime=${encodeURIComponent(at)}`,
      admin,
    );
    assert.ok(!since.body.includes("out 0\n"), "sinceTime drops older lines");
    assert.ok(since.body.length > 0);
    const bad = await kubeletRequest(port, `/containerLogs/${namespace}/logger/main?tailLines=-1`, admin);
    assert.equal(bad.status, 400);
    const missing = await kubeletRequest(port, `/containerLogs/${namespace}/logger/nope`, admin);
    assert.equal(missing.status, 404);
    const otherNamespace = await kubeletRequest(port, `/containerLogs/kube-system/logger/main`, admin);
    assert.equal(otherNamespace.status, 404, "pods are found by namespace and name");
  });

  it("follows logs: a new line arrives within a second", async () => {
    const lines: Array<{ text: string; at: number }> = [];
    const req = request({
      host: "127.0.0.1",
      port,
      path: `/containerLogs/${namespace}/logger/main?follow=true&tailLines=0`,
      cert: pki.client.certPem,
      key: pki.client.keyPem,
      ca: storeCa,
    });
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      req.on("response", (res) => {
        assert.equal(res.statusCode, 200);
        res.on("data", (chunk: Buffer) => {
          lines.push({ text: chunk.toString(), at: Date.now() });
          if (lines.length >= 2) resolve();
        });
      });
      req.on("error", reject);
      req.end();
      timer = setTimeout(() => reject(new Error("no followed line within 3 s")), 3000);
    }).finally(() => {
      clearTimeout(timer);
      req.destroy();
    });
    assert.ok(
      (lines[0]?.at ?? Infinity) - started < 1000,
      `first line after ${(lines[0]?.at ?? 0) - started} ms`,
    );
    assert.match(lines[0]?.text ?? "", /^(out|err) \d+\n/);
  });

  it("serves the previous instance's logs after a restart, and the current one's by default", async () => {
    const p = await until("crasher to restart", async () => {
      const got = await getPod("crasher");
      return (got.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 &&
        got.status?.containerStatuses?.[0]?.state.running
        ? got
        : undefined;
    });
    assert.ok(p);
    const current = await until("the current instance's first line", async () => {
      const a = await kubeletRequest(port, `/containerLogs/${namespace}/crasher/main`, admin);
      return a.body.includes("started-") ? a : undefined;
    });
    const previous = await kubeletRequest(
      port,
      `/containerLogs/${namespace}/crasher/main?previous=true`,
      admin,
    );
    assert.equal(previous.status, 200);
    assert.equal(current.body.match(/started-/g)?.length, 1, `current instance only: ${current.body}`);
    assert.ok((previous.body.match(/started-/g)?.length ?? 0) >= 1);
    assert.ok(!previous.body.includes(current.body.trim()), "the previous instance's lines differ");
    const never = await kubeletRequest(port, `/containerLogs/${namespace}/shell/main?previous=true`, admin);
    assert.equal(never.status, 400);
    assert.match(never.body, /previous terminated container "main" in pod "shell" not found/);
  });

  it("execs over v5.channel.k8s.io: output and exit code 3 on the error channel", async () => {
    await running("shell");
    const result = await runChannels({
      url: wsUrl(
        execPath("shell", "main", ["sh", "-c", "echo $HOSTNAME; echo oops >&2; exit 3"], "stdout=1&stderr=1"),
      ),
      protocols: [V5, V4],
      credentials: admin,
    });
    assert.equal(result.protocol, V5);
    assert.equal(result.stdout, "shell\n");
    assert.equal(result.stderr, "oops\n");
    const status = JSON.parse(result.error) as {
      status: string;
      reason: string;
      details: { causes: Array<{ reason: string; message: string }> };
    };
    assert.equal(status.status, "Failure");
    assert.equal(status.reason, "NonZeroExitCode");
    assert.deepEqual(status.details.causes, [{ reason: "ExitCode", message: "3" }]);
    assert.equal(result.closeCode, 1000);
  });

  it("passes stdin and ends it with the v5 close signal; v4 reports Success", async () => {
    const v5 = await runChannels({
      url: wsUrl(execPath("shell", "main", ["sh", "-c", "tr a-z A-Z"], "stdin=1&stdout=1")),
      protocols: [V5],
      credentials: admin,
      onOpen: (send) => {
        send(0, "hello ");
        send(0, "stdin\n");
        send(255, Buffer.from([0]));
      },
    });
    assert.equal(v5.stdout, "HELLO STDIN\n");
    assert.deepEqual(JSON.parse(v5.error), { metadata: {}, status: "Success" });

    const v4 = await runChannels({
      url: wsUrl(
        execPath("shell", "main", ["sh", "-c", "read line; echo got:$line"], "stdin=true&stdout=true"),
      ),
      protocols: [V4],
      credentials: admin,
      onOpen: (send) => send(0, "v4 line\n"),
    });
    assert.equal(v4.protocol, V4);
    assert.equal(v4.stdout, "got:v4 line\n");
    assert.deepEqual(JSON.parse(v4.error), { metadata: {}, status: "Success" });
  });

  it("gives exec a terminal that follows the resize channel", async () => {
    const result = await runChannels({
      // The resize travels beside the exec's start: wait (up to 10 s) until the terminal has a size.
      url: wsUrl(
        execPath(
          "shell",
          "main",
          [
            "sh",
            "-c",
            'for i in $(seq 100); do s=$(stty size); [ "$s" != "0 0" ] && break; sleep 0.1; done; echo $s',
          ],
          "stdin=1&stdout=1&tty=1",
        ),
      ),
      protocols: [V5],
      credentials: admin,
      onOpen: (send) => send(4, JSON.stringify({ Width: 123, Height: 45 })),
    });
    assert.equal(result.stdout.trim(), "45 123");
  });

  it("refuses unknown subprotocols with a clear answer", async () => {
    await assert.rejects(
      runChannels({
        url: wsUrl(execPath("shell", "main", ["id"], "stdout=1")),
        protocols: ["channel.k8s.io"],
        credentials: admin,
      }),
      (err: Error & { status?: number }) => err.status === 400 && /v5\.channel\.k8s\.io/.test(err.message),
    );
  });

  it("execs over SPDY/3.1 as an API server does: output and exit code 3 on the error stream, stdin", async () => {
    await running("shell");
    const path = execPath(
      "shell",
      "main",
      ["sh", "-c", "echo $HOSTNAME; echo oops >&2; exit 3"],
      "stdout=1&stderr=1",
    );
    const result = await runSpdyExec(port, path, admin, { streams: ["stdout", "stderr"] });
    assert.equal(result.protocol, V4);
    assert.equal(result.stdout, "shell\n");
    assert.equal(result.stderr, "oops\n");
    const status = JSON.parse(result.error) as { reason: string; details: { causes: unknown[] } };
    assert.equal(status.reason, "NonZeroExitCode");
    assert.deepEqual(status.details.causes, [{ reason: "ExitCode", message: "3" }]);

    const piped = await runSpdyExec(
      port,
      execPath("shell", "main", ["sh", "-c", "tr a-z A-Z"], "stdin=1&stdout=1"),
      admin,
      {
        streams: ["stdin", "stdout"],
        stdin: "through spdy\n",
      },
    );
    assert.equal(piped.stdout, "THROUGH SPDY\n");
    assert.deepEqual(JSON.parse(piped.error), { metadata: {}, status: "Success" });

    const anonymous = await spdyUpgrade(port, path, [V4], { ca: storeCa });
    assert.equal(anonymous.status, 401, "an unauthenticated SPDY upgrade is refused");
    assert.equal(anonymous.connection, undefined);
  });

  it("port-forwards to a pod's server over SPDY/3.1: bytes round-trip, a closed port is reported", async () => {
    await running("echoer");
    const upgrade = await spdyUpgrade(
      port,
      `/portForward/${namespace}/echoer`,
      ["portforward.k8s.io"],
      admin,
    );
    assert.equal(upgrade.status, 101);
    const connection = upgrade.connection;
    assert.ok(connection);
    let request = 0;
    // The server inside may start a moment after the pod is Running.
    const first = await until("the pod's server to answer", async () => {
      const answer = await spdyForward(connection, 8080, request++, "hello pod");
      return answer.data === "HELLO POD" ? answer : undefined;
    });
    assert.equal(first.error, "");
    const big = "x".repeat(300_000);
    const echoed = await spdyForward(connection, 8080, request++, big);
    assert.equal(echoed.data, big.toUpperCase(), "300 kB both ways");
    const closed = await spdyForward(connection, 8081, request++, "anyone?");
    assert.match(
      (JSON.parse(closed.error) as { message: string }).message,
      /error forwarding port 8081 to pod default\/echoer, uid .*: nothing listens on port 8081/,
    );
    await connection.close();
  });

  it("port-forwards over WebSocket (v4 channel pairs, the port first on each channel)", async () => {
    await running("echoer");
    const { WebSocket } = await import("ws");
    const received = await until("an answer through the WebSocket port-forward", async () => {
      const ws = new WebSocket(wsUrl(`/portForward/${namespace}/echoer?ports=8080`), [V4], {
        cert: pki.client.certPem,
        key: pki.client.keyPem,
        ca: storeCa,
      });
      const channels: Array<[number, Buffer]> = [];
      let answer = "";
      ws.on("message", (data: Buffer) => {
        const first = !channels.some(([c]) => c === data[0]);
        channels.push([data[0] as number, data.subarray(1)]);
        if (data[0] === 0 && !first) answer += data.subarray(1).toString();
        // v4 cannot half-close: the client ends the connection once it has its answer.
        if (answer === "WEBSOCKET BYTES") ws.close();
      });
      ws.once("open", () => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("websocket bytes")])));
      await new Promise((resolve) => {
        ws.once("close", resolve);
        ws.once("error", resolve);
        setTimeout(() => ws.terminate(), 5000);
      });
      return answer === "WEBSOCKET BYTES" ? channels : undefined;
    });
    assert.deepEqual(received.slice(0, 2), [
      [0, Buffer.from([0x90, 0x1f])],
      [1, Buffer.from([0x90, 0x1f])],
    ]);
  });

  it("attaches to a container's stdin and stdout", async () => {
    await running("catter");
    const result = await runChannels({
      url: wsUrl(`/attach/${namespace}/catter/main?stdin=1&stdout=1&stderr=1`),
      protocols: [V5],
      credentials: admin,
      onOpen: (send) => send(0, "ping\n"),
      onStdout: (_text, send) => send(255, Buffer.from([0])),
    });
    assert.equal(result.stdout, "ping\n", JSON.stringify(result));
  });

  it("runs a one-shot command on POST /run", async () => {
    const ok = await kubeletRequest(port, `/run/${namespace}/shell/main?cmd=echo+one+shot`, admin, {
      method: "POST",
    });
    assert.deepEqual([ok.status, ok.body], [200, "one shot\n"]);
    const form = await kubeletRequest(port, `/run/${namespace}/shell/main`, admin, {
      method: "POST",
      body: "cmd=false",
      contentType: "application/x-www-form-urlencoded",
    });
    assert.equal(form.status, 500);
    assert.match(form.body, /'false' exited with 1/);
  });

  it("reports stats: /stats/summary with non-zero memory, /metrics/resource in Prometheus text", async () => {
    const started = Date.now();
    const summary = JSON.parse((await kubeletRequest(port, "/stats/summary", admin)).body) as StatsSummary;
    console.log(`# stats summary in ${Date.now() - started} ms`);
    const shell = summary.pods.find((p) => p.podRef.name === "shell");
    assert.ok(shell, "the running pod is in the summary");
    assert.ok((shell.memory?.workingSetBytes ?? 0) > 0, "non-zero memory");
    assert.ok((shell.containers[0]?.cpu?.usageCoreNanoSeconds ?? 0) > 0);
    assert.ok(shell.network?.interfaces?.length, "the pod's network comes from the container holding it");
    assert.equal(summary.node.nodeName, nodeName);
    assert.ok((summary.node.memory?.workingSetBytes ?? 0) >= (shell.memory?.workingSetBytes ?? 0));
    const metrics = (await kubeletRequest(port, "/metrics/resource", admin)).body;
    assert.match(metrics, /# TYPE container_memory_working_set_bytes gauge/);
    assert.match(
      metrics,
      new RegExp(
        `container_memory_working_set_bytes\\{container="main",namespace="${namespace}",pod="shell"\\} [1-9]\\d* \\d+`,
      ),
    );
    assert.match(metrics, /resource_scrape_error 0/);
  });

  it(
    "works with kubectl logs and kubectl exec through the API test server",
    { skip: existsSync(KUBECTL) ? false : "kubectl is not installed" },
    async () => {
      const logs = await kubectl(kubeconfig, ["logs", "logger", "--tail=1"]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^(out|err) \d+\n$/);
      const exec = await kubectl(kubeconfig, ["exec", "shell", "--", "sh", "-c", "echo $HOSTNAME; exit 3"]);
      assert.equal(exec.stdout, "shell\n", exec.stderr);
      assert.equal(exec.code, 3, `kubectl exits with the command's code: ${exec.stderr}`);
      const piped = await new Promise<string>((resolve, reject) => {
        const child = execFile(
          KUBECTL,
          ["--kubeconfig", kubeconfig, "exec", "-i", "shell", "--", "wc", "-c"],
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
        child.stdin?.end("twelve bytes");
      });
      assert.equal(piped.trim(), "12", "stdin reaches the command and its end closes it");
    },
  );

  it(
    "works with kubectl exec and port-forward over SPDY/3.1 (kubectl's Go SPDY passed through to the kubelet)",
    { skip: existsSync(KUBECTL) ? false : "kubectl is not installed" },
    async () => {
      const exec = await kubectl(
        kubeconfig,
        ["exec", "shell", "--", "sh", "-c", "echo $HOSTNAME; exit 3"],
        KUBECTL_SPDY,
      );
      assert.equal(exec.stdout, "shell\n", exec.stderr);
      assert.equal(exec.code, 3, `kubectl exits with the command's code: ${exec.stderr}`);
      assert.ok(
        server.requests.some((r) => r.includes("/pods/shell/exec") && r.endsWith("(upgrade)")),
        "kubectl went through the API server's upgrade",
      );
      const piped = await new Promise<string>((resolve, reject) => {
        const child = execFile(
          KUBECTL,
          ["--kubeconfig", kubeconfig, "exec", "-i", "shell", "--", "wc", "-c"],
          { env: { ...process.env, ...KUBECTL_SPDY } },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
        child.stdin?.end("twelve bytes");
      });
      assert.equal(piped.trim(), "12", "stdin over SPDY reaches the command and its end closes it");

      await running("echoer");
      const forward = await kubectlPortForward(kubeconfig, ["pod/echoer", ":8080"], KUBECTL_SPDY);
      try {
        const answer = await until("kubectl port-forward to answer", async () => {
          const text = await roundTrip(forward.local, "kubectl bytes");
          return text === "KUBECTL BYTES" ? text : undefined;
        });
        assert.equal(answer, "KUBECTL BYTES");
        assert.equal(
          await roundTrip(forward.local, "again"),
          "AGAIN",
          "a second connection on the same forward",
        );
      } finally {
        forward.child.kill();
      }
    },
  );
});

/** `kubectl port-forward` until it says where it listens; the local port and the process. */
async function kubectlPortForward(
  kubeconfig: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ local: number; child: ChildProcess }> {
  const child = spawn(KUBECTL, ["--kubeconfig", kubeconfig, "port-forward", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const local = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`kubectl port-forward exited with ${code}: ${output}`)));
  });
  return { local, child };
}

/** One TCP round trip: send, half-close, read to the end. */
function roundTrip(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = connect(port, "127.0.0.1", () => socket.end(payload));
    socket.on("data", (c: Buffer) => (answer += c.toString()));
    socket.once("end", () => resolve(answer));
    socket.once("error", reject);
  });
}

/** A TCP server on 8080 answering every connection with what it receives, upper-cased, until the client's FIN. */
const UPPER_ECHO =
  "my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!; " +
  "while (my $c = $s->accept) { while (sysread($c, my $b, 65536)) { syswrite($c, uc $b) } close $c }";

/** stdout and stderr lines alternating (apart enough for the engine to keep their order), five a second. */
const LOGGER =
  'i=0; while true; do echo "out $i"; sleep 0.05; echo "err $i" >&2; i=$((i+1)); sleep 0.15; done';
