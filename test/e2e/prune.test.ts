/**
 * Disposable hosts end to end (issue 18): `create --ttl`, `dinv prune` of expired hosts and,
 * with --all-stopped, of stopped ones; nothing else is touched, and nothing goes without -f.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { ENGINE_NAME, IMAGE_ARGS, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

describe(`dinv prune (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const id = runId("prune");
  const [expiring, kept, stopped] = [`${id}-ttl`, `${id}-kept`, `${id}-stopped`];
  const names = async () => (await box.dinv(["ls", "-q"])).stdout.trim().split("\n").filter(Boolean).sort();

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", expiring, kept, stopped]);
    for (const host of [expiring, kept, stopped]) await removeLabelled(engine, host, "io.dinv.host");
    box.cleanup();
  });

  it("removes hosts past their --ttl, then stopped ones with --all-stopped, and asks for -f", async () => {
    assertCleanFailure(
      await box.dinv(["create", "--ttl", "2x", `${id}-bad`]),
      /--ttl "2x" is not a duration/,
    );
    const created = await Promise.all([
      box.dinv(["create", ...IMAGE_ARGS, "--no-context", "--ttl", "1s", expiring]),
      box.dinv(["create", ...IMAGE_ARGS, "--no-context", kept]),
      box.dinv(["create", ...IMAGE_ARGS, "--no-context", stopped]),
    ]);
    created.forEach((c, i) => assertOk(c, `create ${i}`));
    assertOk(await box.dinv(["stop", stopped]), "stop");
    const config = JSON.parse(readFileSync(join(box.store, "hosts", expiring, "config.json"), "utf8")) as {
      expiresAt?: string;
    };
    const expires = Date.parse(config.expiresAt ?? "");
    assert.ok(expires > Date.now() - 60_000, "an end one second after create");
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now() + 50)));

    const dry = await box.dinv(["prune", "--dry-run"]);
    assertOk(dry, "prune --dry-run");
    assert.match(dry.stdout, new RegExp(`^Would remove ${expiring} \\(expired `, "m"));
    assert.doesNotMatch(dry.stdout, new RegExp(`${kept}|${stopped}`));
    assertCleanFailure(await box.dinv(["prune"]), /refusing to prune without confirmation/);
    assert.deepEqual(await names(), [expiring, kept, stopped].sort(), "nothing removed without -f");

    const pruned = await box.dinv(["prune", "-f"]);
    assertOk(pruned, "prune -f");
    assert.match(pruned.stdout, new RegExp(`Successfully removed ${expiring}`));
    assert.deepEqual(await names(), [kept, stopped].sort());
    const left = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.host=${expiring}`] }),
    });
    assert.equal(left.length, 0, "its container is gone from the endpoint");

    const all = await box.dinv(["prune", "--all-stopped", "-f"]);
    assertOk(all, "prune --all-stopped -f");
    assert.match(all.stdout, new RegExp(`Removing ${stopped} \\(stopped\\)`));
    assert.deepEqual(await names(), [kept]);
    assert.equal((await box.dinv(["prune", "-f"])).stdout.trim(), "Nothing to prune.");
  });
});
