/**
 * The kubelet's own restarts (restarts.ts): restartPolicy, crash-loop back-off (at once, then
 * 10 s doubling to 300 s, reset after 10 minutes of running), counting, and forgetting, on
 * mocked timers and a clock that moves with them.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { Pod } from "../../src/kubelet/kube/types.js";
import {
  ContainerRestarter,
  shouldRestart,
  type ExitedContainer,
} from "../../src/kubelet/provider/restarts.js";

const pod = (restartPolicy?: Pod["spec"]["restartPolicy"]): Pod => ({
  metadata: { name: "web", namespace: "team-a", uid: "uid-1" },
  spec: { containers: [{ name: "app", image: "x" }], ...(restartPolicy ? { restartPolicy } : {}) },
});

describe("shouldRestart", () => {
  it("follows restartPolicy; init containers only after a failure; Never never", () => {
    const table: Array<[Pod["spec"]["restartPolicy"], number, boolean, boolean]> = [
      [undefined, 0, false, true],
      ["Always", 0, false, true],
      ["Always", 1, false, true],
      ["OnFailure", 0, false, false],
      ["OnFailure", 137, false, true],
      ["Never", 1, false, false],
      ["Always", 0, true, false],
      ["Always", 1, true, true],
      ["Never", 1, true, false],
    ];
    for (const [policy, code, init, expected] of table)
      assert.equal(shouldRestart(pod(policy), code, init), expected, `${policy} ${code} init=${init}`);
  });
});

describe("ContainerRestarter", () => {
  let clock = 0;
  let starts: string[] = [];
  let notified: string[] = [];
  let failStart = false;
  const logs: string[] = [];
  let restarter: ContainerRestarter;
  let run = 0;

  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout"] });
    clock = Date.parse("2026-01-01T00:00:00Z");
    starts = [];
    notified = [];
    failStart = false;
    run = 0;
    restarter = new ContainerRestarter({
      startContainer: async (id) => {
        if (failStart) throw new Error("engine down");
        starts.push(id);
      },
      notify: (key) => notified.push(key),
      log: (m) => logs.push(m),
      now: () => clock,
    });
  });
  afterEach(() => {
    restarter.close();
    mock.timers.reset();
  });

  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const advance = async (ms: number) => {
    clock += ms;
    mock.timers.tick(ms);
    await settle();
  };
  /** The container ran for runMs and exited just now with this code (a new run each time). */
  const exit = (code: number, p = pod(), runMs = 1000, init = false): ExitedContainer => {
    run++;
    return {
      podKey: "team-a/web",
      pod: p,
      name: "app",
      init,
      details: {
        id: "c1",
        state: {
          status: "exited",
          exitCode: code,
          error: "",
          oomKilled: false,
          startedAt: new Date(clock - runMs + run).toISOString(),
          finishedAt: new Date(clock).toISOString(),
        },
      },
    };
  };

  it("restarts at once, then after 10 s, 20 s, 40 s … capped at 300 s, counting each", async () => {
    restarter.exited(exit(1));
    await advance(0);
    assert.deepEqual(starts, ["c1"], "the first restart does not wait");
    assert.equal(restarter.restarts("c1"), 1);
    assert.deepEqual(notified, ["team-a/web"]);
    const waits = [10, 20, 40, 80, 160, 300, 300];
    for (const [i, seconds] of waits.entries()) {
      restarter.exited(exit(1));
      assert.equal(
        restarter.backOff("c1"),
        `back-off ${seconds}s restarting failed container=app pod=web_team-a(uid-1)`,
      );
      await advance(seconds * 1000 - 1);
      assert.equal(starts.length, i + 1, `not before ${seconds} s`);
      await advance(1);
      assert.equal(starts.length, i + 2, `after ${seconds} s`);
      assert.equal(restarter.backOff("c1"), undefined);
    }
    assert.equal(restarter.restarts("c1"), 1 + waits.length);
  });

  it("forgets the back-off once the container ran 10 minutes", async () => {
    restarter.exited(exit(1));
    await advance(0);
    restarter.exited(exit(1));
    await advance(10_000);
    assert.equal(starts.length, 2);
    await advance(10 * 60_000);
    restarter.exited(exit(1, pod(), 10 * 60_000));
    await advance(0);
    assert.equal(starts.length, 3, "restarted at once again");
  });

  it("the same exit asked about twice restarts once", async () => {
    const e = exit(1);
    restarter.exited(e);
    restarter.exited(e);
    await advance(0);
    restarter.exited(e);
    await advance(60_000);
    assert.deepEqual(starts, ["c1"]);
  });

  it("OnFailure leaves a success stopped; Never leaves everything; init containers restart only after failing", async () => {
    restarter.exited(exit(0, pod("OnFailure")));
    restarter.exited(exit(3, pod("Never")));
    restarter.exited(exit(0, pod("Always"), 1000, true));
    await advance(600_000);
    assert.deepEqual(starts, []);
    restarter.exited(exit(2, pod("OnFailure")));
    await advance(0);
    assert.deepEqual(starts, ["c1"]);
  });

  it("forgetting the pod cancels a restart that waits", async () => {
    restarter.exited(exit(1));
    await advance(0);
    restarter.exited(exit(1));
    restarter.forget("team-a/web");
    await advance(600_000);
    assert.equal(starts.length, 1);
    assert.equal(restarter.restarts("c1"), 0);
    assert.equal(restarter.backOff("c1"), undefined);
  });

  it("a start that fails is logged, not counted, and tried again on the next report after the grown back-off", async () => {
    failStart = true;
    const e = exit(1);
    restarter.exited(e);
    await advance(0);
    assert.equal(restarter.restarts("c1"), 0);
    assert.match(logs.at(-1) ?? "", /restarting container c1: engine down/);
    failStart = false;
    restarter.exited(e);
    assert.match(restarter.backOff("c1") ?? "", /^back-off 10s/);
    await advance(10_000);
    assert.deepEqual(starts, ["c1"]);
  });
});
