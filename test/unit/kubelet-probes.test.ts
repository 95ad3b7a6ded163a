/**
 * Probes: each handler against real loopback servers (tcpSocket, httpGet) or an exec double,
 * and the ProbeManager's rules (thresholds, startup gating, restart per restartPolicy) over an
 * engine double. The end-to-end run against the real engine is in test/e2e/kubelet.test.ts.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { Container, Pod, PodStatus, Probe } from "../../src/kubelet/kube/types.js";
import type { EngineContainerDetails, EngineSession } from "../../src/kubelet/provider/engine.js";
import type { PodEvent } from "../../src/kubelet/provider/events.js";
import { ProbeManager } from "../../src/kubelet/provider/probe-manager.js";
import { resolvePort, runProbe } from "../../src/kubelet/provider/probes.js";

/** An exec double: each call answers with the next (exit code, output), or never ends. */
function execDouble(results: Array<{ code: number; output?: string } | "hang">) {
  const calls: string[][] = [];
  return {
    calls,
    exec: async (_id: string, command: string[]): Promise<EngineSession> => {
      calls.push(command);
      const result = results.length > 1 ? results.shift() : results[0];
      const stream = new PassThrough();
      if (result !== "hang" && result) {
        stream.end(result.output ?? "");
      }
      return {
        stream,
        resize: async () => undefined,
        exitCode: async () => (result === "hang" ? undefined : result?.code),
      };
    },
  };
}

const container = (extra: Partial<Container> = {}): Container => ({ name: "main", image: "x", ...extra });
const target = () => ({ containerId: "c1", container: container(), podIP: "127.0.0.1" });

describe("probe handlers", () => {
  let http: Server;
  let httpPort = 0;
  let silentPort = 0;
  const silent = createTcpServer(() => undefined); // accepts and never answers

  before(async () => {
    http = createServer((req, res) => {
      res.statusCode = req.url === "/ok" ? 200 : req.url === "/moved" ? 302 : 500;
      res.end(req.headers["x-probe"] ?? "");
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    httpPort = (http.address() as AddressInfo).port;
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as AddressInfo).port;
  });
  after(() => {
    http.close();
    silent.close();
  });

  const noExec = execDouble([{ code: 0 }]);

  it("httpGet: 200-399 pass, 500 fails with the status, a dead port fails", async () => {
    const get = (path: string, port = httpPort): Probe => ({ httpGet: { path, port } });
    assert.deepEqual(await runProbe(noExec, get("/ok"), target()), { ok: true, message: "" });
    assert.equal((await runProbe(noExec, get("/moved"), target())).ok, true);
    const failed = await runProbe(noExec, get("/broken"), target());
    assert.deepEqual(failed, { ok: false, message: "HTTP probe failed with statuscode: 500" });
    const closed = await runProbe(noExec, get("/ok", 1), target());
    assert.equal(closed.ok, false);
    assert.match(closed.message, /ECONNREFUSED/);
  });

  it("httpGet and tcpSocket time out after timeoutSeconds against a server that never answers", async () => {
    const started = Date.now();
    const outcome = await runProbe(
      noExec,
      { httpGet: { path: "/", port: silentPort }, timeoutSeconds: 1 },
      target(),
    );
    assert.equal(outcome.ok, false);
    assert.ok(Date.now() - started < 5_000);
    assert.deepEqual(await runProbe(noExec, { tcpSocket: { port: silentPort } }, target()), {
      ok: true,
      message: "",
    });
    const refused = await runProbe(noExec, { tcpSocket: { port: 1 } }, target());
    assert.match(refused.message, /dial tcp 127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  it("resolves named ports from the container's ports; an unknown name fails the probe", async () => {
    const named = container({ ports: [{ name: "web", containerPort: httpPort }] });
    assert.equal(resolvePort("web", named), httpPort);
    assert.equal(resolvePort("8080", named), 8080);
    assert.equal(resolvePort(0, named), undefined);
    const probe: Probe = { httpGet: { path: "/ok", port: "web" } };
    assert.equal((await runProbe(noExec, probe, { ...target(), container: named })).ok, true);
    const unknown = await runProbe(noExec, { tcpSocket: { port: "db" } }, target());
    assert.deepEqual(unknown, { ok: false, message: "port db is not a port of the container" });
  });

  it("exec: exit 0 passes, another code fails with the output, a hung command times out", async () => {
    const probe: Probe = { exec: { command: ["check"] }, timeoutSeconds: 1 };
    assert.equal((await runProbe(execDouble([{ code: 0 }]), probe, target())).ok, true);
    assert.deepEqual(await runProbe(execDouble([{ code: 2, output: "not yet\n" }]), probe, target()), {
      ok: false,
      message: "not yet",
    });
    assert.deepEqual(await runProbe(execDouble(["hang"]), probe, target()), {
      ok: false,
      message: "command timed out after 1s",
    });
  });
});

describe("ProbeManager", () => {
  const STARTED = "2026-01-01T00:00:00Z";
  const pod = (c: Container, restartPolicy: Pod["spec"]["restartPolicy"] = "Always"): Pod => ({
    metadata: { name: "p", namespace: "ns", uid: "u" },
    spec: { containers: [c], restartPolicy, terminationGracePeriodSeconds: 0 },
  });
  const status = (startedAt = STARTED): PodStatus => ({
    phase: "Running",
    podIP: "127.0.0.1",
    containerStatuses: [
      {
        name: "main",
        state: { running: { startedAt } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: "x",
        imageID: "",
        containerID: "docker://c1",
      },
    ],
  });

  function harness(results: Array<{ code: number; output?: string } | "hang">, exitCode = 137) {
    const exec = execDouble(results);
    const notified: string[] = [];
    const events: PodEvent[] = [];
    const calls: string[] = [];
    let startedAt = STARTED;
    const details = (status: "running" | "exited"): EngineContainerDetails =>
      ({ id: "c1", state: { status, exitCode, startedAt } }) as unknown as EngineContainerDetails;
    let running = true;
    const manager = new ProbeManager({
      engine: {
        exec: exec.exec,
        killContainer: async (_id, signal) => {
          calls.push(`kill ${signal}`);
          running = false;
        },
        startContainer: async () => {
          calls.push("start");
          running = true;
          startedAt = new Date(Date.parse(startedAt) + 60_000).toISOString();
        },
        inspectContainer: async () => details(running ? "running" : "exited"),
      },
      notify: (key) => notified.push(key),
      events: (_pod, event) => events.push(event),
    });
    return { manager, exec, notified, events, calls, startedAt: () => startedAt };
  }
  const until = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const fast = (extra: Partial<Probe> = {}): Probe => ({
    exec: { command: ["check"] },
    periodSeconds: 1,
    ...extra,
  });

  it("a container without probes is ready and started as soon as it runs", () => {
    const { manager } = harness([{ code: 0 }]);
    assert.deepEqual(manager.state(container(), "c1", STARTED), { ready: true, started: true });
  });

  it("readiness: unready until the probe passes, unready again after failureThreshold failures", async () => {
    const c = container({ readinessProbe: fast({ failureThreshold: 2 }) });
    const { manager, notified, events } = harness([{ code: 0 }, { code: 1, output: "down" }]);
    assert.equal(manager.state(c, "c1", STARTED).ready, false, "before any result");
    manager.sync("ns/p", pod(c), status());
    await until("ready", () => manager.state(c, "c1", STARTED).ready);
    assert.deepEqual(notified, ["ns/p"]);
    await until("unready", () => !manager.state(c, "c1", STARTED).ready);
    const unhealthy = events.filter((e) => e.reason === "Unhealthy");
    assert.ok(unhealthy.length >= 2, "one event per failed probe");
    assert.equal(unhealthy[0]?.message, "Readiness probe failed: down");
    manager.close();
  });

  it("startup gates liveness and readiness: nothing else runs before it passes", async () => {
    const c = container({
      startupProbe: fast({ exec: { command: ["startup"] }, failureThreshold: 10 }),
      readinessProbe: fast({ exec: { command: ["ready"] } }),
    });
    const { manager, exec } = harness([{ code: 1 }, { code: 1 }, { code: 0 }]);
    manager.sync("ns/p", pod(c), status());
    assert.deepEqual(manager.state(c, "c1", STARTED), { ready: false, started: false });
    await until("started", () => manager.state(c, "c1", STARTED).started);
    const firstReady = exec.calls.findIndex((cmd) => cmd[0] === "ready");
    const lastStartup = exec.calls.map((cmd) => cmd[0]).lastIndexOf("startup");
    assert.ok(firstReady === -1 || firstReady > lastStartup, exec.calls.join(" "));
    await until("ready", () => manager.state(c, "c1", STARTED).ready);
    manager.close();
  });

  it("liveness failure kills and restarts the container (Always), counted as a restart", async () => {
    const c = container({ livenessProbe: fast({ failureThreshold: 1 }) });
    const { manager, calls, events } = harness([{ code: 1, output: "stuck" }]);
    manager.sync("ns/p", pod(c), status());
    await until("the restart", () => manager.restarts("c1") === 1);
    assert.deepEqual(calls, ["kill SIGKILL", "start"], "grace 0: SIGKILL at once");
    assert.ok(
      events.some(
        (e) => e.reason === "Killing" && /failed liveness probe, will be restarted/.test(e.message),
      ),
    );
    manager.forget("ns/p");
    assert.equal(manager.restarts("c1"), 0, "forgotten with the pod");
  });

  it("a second liveness kill waits the crash-loop back-off before the restart", async () => {
    const c = container({ livenessProbe: fast({ failureThreshold: 1 }) });
    const h = harness([{ code: 1 }]);
    h.manager.sync("ns/p", pod(c), status());
    await until("the first restart", () => h.manager.restarts("c1") === 1);
    h.manager.sync("ns/p", pod(c), status(h.startedAt()));
    await until("the second kill", () => h.calls.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(h.calls, ["kill SIGKILL", "start", "kill SIGKILL"], "no start within the back-off");
    assert.equal(h.manager.restarts("c1"), 1);
    h.manager.close();
  });

  it("restartPolicy Never: killed, not started again; OnFailure with exit 0: not started again", async () => {
    for (const [policy, exitCode] of [
      ["Never", 137],
      ["OnFailure", 0],
    ] as const) {
      const c = container({ livenessProbe: fast({ failureThreshold: 1 }) });
      const { manager, calls } = harness([{ code: 1 }], exitCode);
      manager.sync("ns/p", pod(c, policy), status());
      await until(`the kill (${policy})`, () => calls.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(calls, ["kill SIGKILL"], policy);
      assert.equal(manager.restarts("c1"), 0);
      manager.close();
    }
  });

  it("a new container instance (another start time) starts its probes over", async () => {
    const c = container({ readinessProbe: fast() });
    const { manager } = harness([{ code: 0 }]);
    manager.sync("ns/p", pod(c), status());
    await until("ready", () => manager.state(c, "c1", STARTED).ready);
    const later = "2026-01-01T00:05:00Z";
    assert.equal(manager.state(c, "c1", later).ready, false, "the restarted instance is unready at first");
    manager.sync("ns/p", pod(c), status(later));
    await until("ready again", () => manager.state(c, "c1", later).ready);
    manager.close();
  });
});
