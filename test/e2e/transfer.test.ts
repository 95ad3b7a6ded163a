/** export/import between two stores (two "workstations"), through bin/dinv and the real docker CLI. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { assertOk } from "../helpers/assert.js";

describe("export and import (real engine, real docker CLI)", () => {
  let first: Sandbox;
  let second: Sandbox;
  let engine: EngineClient;
  const name = runId("xfer");

  before(async () => {
    engine = await testEngine();
    first = sandbox();
    second = sandbox();
    assertOk(await first.dinv(["create", name]), "create");
  });

  after(async () => {
    await first.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    first.cleanup();
    second.cleanup();
  });

  it("exports without the CA key unless asked, in a file only the owner can read", async () => {
    const file = join(first.store, "..", "plain.tgz");
    assertOk(await first.dinv(["export", name, "-o", file]), "export");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" });
    assert.doesNotMatch(listing, /ca-key\.pem/);
    assert.match(listing, new RegExp(`host/config\\.json`));
    const withCa = join(first.store, "..", "with-ca.tgz");
    assertOk(await first.dinv(["export", name, "--with-ca", "-o", withCa]), "export --with-ca");
    assert.match(execFileSync("tar", ["-tzf", withCa], { encoding: "utf8" }), /ca\/ca-key\.pem/);
  });

  it("imports into a second store that then drives the host with the real docker CLI", async () => {
    const file = join(first.store, "..", "plain.tgz");
    assertOk(await second.dinv(["import", file]), "import");
    const dir = join(second.store, "hosts", name);
    assert.equal(statSync(join(dir, "key.pem")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "server-key.pem")).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const ls = await second.dinv(["ls", "--format", "{{.Name}} {{.State}}"]);
    assert.equal(ls.stdout.trim(), `${name} Running`);
    const info = await second.docker(["--context", name, "info", "--format", "{{.Driver}}"]);
    assertOk(info, "docker --context in the second store");
    assert.equal(info.stdout.trim(), "overlay2");
    const again = await second.dinv(["import", file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`Host "${name}" already exists`));
  });

  it("refuses a file that is not an export, in one line", async () => {
    const bogus = join(first.store, "hosts", name, "ca.pem");
    const result = await second.dinv(["import", bogus]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not a dinv export/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});
