/**
 * `dinv create` killed with SIGKILL at each of its steps: afterwards `ls` answers (the host
 * broken or absent, never a hang), `rm -f` removes every trace, and the name can be created
 * again. Long-running: part of `npm run test:faults`, not `npm test`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { assertOk } from "../helpers/assert.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import { removeLabelled, runId, testEngine } from "../helpers/engine.js";

/** The plain (non-TTY) progress line after which create is killed. */
const KILL_POINTS: Array<[string, RegExp]> = [
  ["after the volume", /^creating volume .*: done/m],
  ["after container create and certificate copy", /^creating the host container: done/m],
  ["after start", /^starting the host: done/m],
  ["while waiting for TLS", /^starting the host: done/m],
];

function killCreateAt(box: Sandbox, name: string, pattern: RegExp, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(DINV_BIN, ["create", name], { env: box.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (pattern.test(stderr) && child.exitCode === null) setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve(stderr);
      else reject(new Error(`create ended before the kill point (code ${code}):\n${stderr}`));
    });
  });
}

async function traces(engine: EngineClient, name: string): Promise<number> {
  const filters = JSON.stringify({ label: [`io.dinv.host=${name}`] });
  const containers = await engine.docker.listContainers({ all: true, filters });
  const { Volumes } = await engine.docker.listVolumes({ filters });
  return containers.length + (Volumes?.length ?? 0);
}

describe("create killed with SIGKILL at each step (real engine)", () => {
  let engine: EngineClient;
  let box: Sandbox;
  const names: string[] = [];

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    for (const name of names) await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  for (const [i, [where, pattern]] of KILL_POINTS.entries()) {
    it(`leaves a removable, re-creatable host when killed ${where}`, async () => {
      const name = runId(`kill${i}`);
      names.push(name);
      await killCreateAt(box, name, pattern, where.startsWith("while") ? 100 : 0);
      assert.ok((await traces(engine, name)) > 0, "the kill left something behind to clean");

      const ls = await box.dinv(["ls", "--timeout", "5"]);
      assertOk(ls, "ls after the kill");
      assert.ok(ls.ms < 15_000, `ls took ${ls.ms} ms`);
      const row = ls.stdout.split("\n").find((line) => line.startsWith(`${name} `));
      assert.ok(row === undefined || /Error|Stopped|Running/.test(row), `row: ${row}`);

      assertOk(await box.dinv(["rm", "-f", "-y", name]), "rm -f");
      assert.equal(await traces(engine, name), 0, "no container or volume labelled with the host");
      assert.ok(!existsSync(join(box.store, "hosts", name)), "no host folder");
      const context = await box.docker(["context", "inspect", name]);
      assert.notEqual(context.code, 0, "no docker context");

      assertOk(await box.dinv(["create", "--no-context", name]), "create again");
      assertOk(await box.dinv(["rm", "-y", name]), "rm");
      assert.equal(await traces(engine, name), 0);
    });
  }
});
