/** Lifecycle hooks: preStop before the stop within the grace period, handlers, failure events. */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import type { Container, Pod } from "../../src/kubelet/kube/types.js";
import type { EngineSession, PodEngine, StreamingEngine } from "../../src/kubelet/provider/engine.js";
import type { PodEvent } from "../../src/kubelet/provider/events.js";
import { LifecycleHooks, runHook } from "../../src/kubelet/provider/lifecycle-hooks.js";
import { PodStopper } from "../../src/kubelet/provider/pod-stopper.js";

/** An exec that ends at once with this exit code and output. */
function execEngine(exitCode: number, output = ""): Pick<StreamingEngine, "exec"> & { commands: string[][] } {
  const commands: string[][] = [];
  return {
    commands,
    exec: async (_id, command) => {
      commands.push(command);
      const stream = new PassThrough();
      setImmediate(() => stream.end(output));
      const session: EngineSession = {
        stream,
        resize: async () => undefined,
        exitCode: async () => exitCode,
      };
      return session;
    },
  };
}

const pod: Pod = { metadata: { name: "p", namespace: "ns", uid: "u1" }, spec: { containers: [] } };

describe("PodStopper with preStop hooks", () => {
  it("runs each container's hook before its stop, which gets what is left of the grace period", async () => {
    let now = 0;
    const log: string[] = [];
    const engine = {
      stopContainer: async (id: string, seconds: number) => void log.push(`stop ${id} ${seconds}`),
    } as unknown as PodEngine;
    const containers = new Map([
      ["a", { name: "a", id: "c1", index: 0 }],
      ["b", { name: "b", id: "c2", index: 1 }],
    ]);
    await new PodStopper(engine, () => now).stop({ containers, infraId: "i1" }, 30, async (c, timeoutMs) => {
      log.push(`hook ${c.id} ${timeoutMs}`);
      if (c.id === "c1") now += 12_000; // a hook that took 12 s
    });
    assert.deepEqual(log.slice(0, 2), ["hook c1 30000", "hook c2 18000"], "each gets what is left");
    assert.equal(log.at(-1), "stop i1 0", "the infra container last");
    assert.ok(log.indexOf("stop c1 18") > log.indexOf("hook c1 30000"), log.join(", "));
  });

  it("keeps 2 s for the container after a hook that used the whole grace period", async () => {
    let now = 0;
    const stops: number[] = [];
    const engine = {
      stopContainer: async (_id: string, s: number) => void stops.push(s),
    } as unknown as PodEngine;
    await new PodStopper(engine, () => now).stop(
      { containers: new Map([["a", { name: "a", id: "c1", index: 0 }]]) },
      5,
      async () => void (now += 5_000),
    );
    assert.deepEqual(stops, [2]);
  });
});

describe("lifecycle hook handlers", () => {
  const container: Container = { name: "app", image: "x" };
  const target = { container, containerId: "c1", podIP: undefined };

  it("exec passes on exit 0; sleep waits at most the timeout; tcpSocket is not run", async () => {
    const engine = execEngine(0);
    assert.deepEqual(await runHook(engine, { exec: { command: ["true"] } }, target, 1000), {
      ok: true,
      message: "",
    });
    assert.deepEqual(engine.commands, [["true"]]);
    const started = Date.now();
    assert.equal((await runHook(engine, { sleep: { seconds: 60 } }, target, 50)).ok, true);
    assert.ok(Date.now() - started < 1000, "the sleep was cut at the timeout");
    const tcp = await runHook(engine, { tcpSocket: { port: 80 } }, target, 50);
    assert.equal(tcp.ok, false);
    assert.match(tcp.message, /deprecated/);
  });

  it("a failed hook is a FailedPreStopHook / FailedPostStartHook event with the command's output", async () => {
    const events: PodEvent[] = [];
    const hooks = new LifecycleHooks(execEngine(3, "no such file"), (_pod, e) => events.push(e));
    const withHooks: Container = {
      ...container,
      lifecycle: {
        preStop: { exec: { command: ["stop-it"] } },
        postStart: { exec: { command: ["start-it"] } },
      },
    };
    const t = { pod, container: withHooks, containerId: "c1", podIP: undefined };
    assert.equal(await hooks.run("PreStop", t, 1000), false);
    assert.equal(await hooks.run("PostStart", t, 1000), false);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason, e.fieldPath]),
      [
        ["Warning", "FailedPreStopHook", "spec.containers{app}"],
        ["Warning", "FailedPostStartHook", "spec.containers{app}"],
      ],
    );
    assert.match(
      events[0]?.message ?? "",
      /Exec lifecycle hook \(\["stop-it"\]\) for Container "app" in Pod "p_ns\(u1\)" failed - error: no such file/,
    );
    assert.equal(
      await new LifecycleHooks(execEngine(0)).run("PreStop", { ...t, container }, 1000),
      true,
      "no hook: nothing to fail",
    );
  });
});
