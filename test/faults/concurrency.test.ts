/**
 * Many commands at once on one store: 20 creates of different names all succeed (ports
 * and the CA bootstrap do not collide), 5 creates of one name leave exactly one host, and
 * rm racing ls never crashes either.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { assertOk } from "../helpers/assert.js";
import { reportCases } from "../helpers/cases.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { removeLabelled, runId, testEngine } from "../helpers/engine.js";

describe("concurrent commands on one store (real engine)", () => {
  let engine: EngineClient;
  let box: Sandbox;
  const prefix = runId("conc");
  const names = Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", ...names, `${prefix}-same`]);
    for (const name of [...names, `${prefix}-same`]) await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  it("20 creates of different names, at once, all succeed on distinct ports", async (t) => {
    const results = await Promise.all(
      names.map((name) => box.dinv(["create", "--no-context", "--timeout", "120", name])),
    );
    results.forEach((result, i) => assertOk(result, `create ${names[i]}`));
    const ls = await box.dinv(["ls", "--format", "{{.Name}} {{.State}} {{.URL}}"]);
    const rows = ls.stdout.trim().split("\n");
    assert.equal(rows.filter((row) => / Running tcp:/.test(row)).length, 20, ls.stdout);
    const ports = new Set(rows.map((row) => row.split(":").pop()));
    assert.equal(ports.size, 20, "one port per host");
    reportCases(t, names.length);
  });

  it("5 creates of one name: exactly one wins", async (t) => {
    const name = `${prefix}-same`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => box.dinv(["create", "--no-context", name])),
    );
    const winners = results.filter((r) => r.code === 0);
    assert.equal(winners.length, 1, results.map((r) => r.stderr).join("\n"));
    for (const loser of results.filter((r) => r.code !== 0)) assert.match(loser.stderr, /already exists/);
    reportCases(t, results.length);
  });

  it("rm racing ls: neither crashes", async () => {
    const [removed, ...listings] = await Promise.all([
      box.dinv(["rm", "-y", ...names]),
      box.dinv(["ls"]),
      box.dinv(["ls", "-q"]),
      box.dinv(["ls", "--timeout", "2"]),
    ]);
    assertOk(removed, "rm of 20 hosts");
    for (const ls of listings) {
      assert.equal(ls.code, 0, ls.stderr);
      assert.doesNotMatch(ls.stderr, /\n\s+at /);
    }
    const left = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.host`] }),
    });
    assert.equal(left.filter((c) => names.includes(c.Labels["io.dinv.host"] ?? "")).length, 0);
  });
});
