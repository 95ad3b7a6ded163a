/**
 * Honest health on the real engine: `dinv status --verbose` and `ls --format` say which storage
 * driver each host's engine uses and why, its privilege mode, its cgroups and its warnings, read
 * from the engine itself (its /info), so a host on vfs says so.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import {
  ENGINE_NAME,
  IMAGE_ARGS,
  TEST_ENGINE,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { assertOk } from "../helpers/assert.js";

describe(`dinv status --verbose and ls health fields (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const plain = runId("health");
  const onVfs = runId("health-vfs");

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    for (const name of [plain, onVfs]) {
      await box.dinv(["rm", "-f", "-y", name]);
      await removeLabelled(engine, name, "io.dinv.host");
    }
    box.cleanup();
  });

  it("shows the storage driver, privilege, cgroups and warnings of a host's own engine", async () => {
    assertOk(await box.dinv(["create", ...IMAGE_ARGS, plain]), "create");
    const status = await box.dinv(["status", "--verbose", plain]);
    assertOk(status, "status --verbose");
    const [state, ...lines] = status.stdout.trim().split("\n");
    assert.equal(state, "Running");
    const info = await box.docker(["--context", plain, "info", "--format", "{{.Driver}}|{{.CgroupVersion}}"]);
    assertOk(info, "docker info");
    const [driver, cgroupVersion] = info.stdout.trim().split("|");
    assert.match(lines[0] ?? "", new RegExp(`^Storage driver: +${driver} \\(dockerd's choice`));
    assert.match(
      lines[1] ?? "",
      TEST_ENGINE === "vic"
        ? /^Privilege: +none \(a VCH runs each container/
        : /^Privilege: +(explicit|privileged) \(/,
    );
    assert.match(lines[2] ?? "", new RegExp(`^Cgroups: +v${cgroupVersion} `));
    assert.match(lines[3] ?? "", /^Engine warnings: /);
  });

  it("says when a host's engine runs on vfs, and why", async () => {
    assertOk(
      await box.dinv(["create", ...IMAGE_ARGS, "--engine-storage-driver", "vfs", onVfs]),
      "create on vfs",
    );
    const status = await box.dinv(["status", "--verbose", onVfs]);
    assertOk(status, "status --verbose");
    assert.match(status.stdout, /^Storage driver: +vfs \(asked for with --engine-storage-driver\)$/m);
  });

  it("gives ls --format the health fields, read only when a format names one", async () => {
    const ls = await box.dinv(["ls", "--format", "{{.Name}}|{{.StorageDriver}}|{{.Privilege}}"]);
    assertOk(ls, "ls --format");
    const rows = Object.fromEntries(
      ls.stdout
        .trim()
        .split("\n")
        .map((l) => [l.split("|")[0], l.split("|")]),
    );
    assert.equal(rows[onVfs]?.[1], "vfs");
    assert.notEqual(rows[plain]?.[1], "", "the plain host's driver is shown");
    assert.notEqual(rows[plain]?.[2], "");
    const json = await box.dinv(["ls", "--format", "json"]);
    assert.doesNotMatch(json.stdout, /"Cgroups"/, "plain listings do not ask the engines for /info");
  });

  it("gives inspect the health of a running host, read from its engine, and none once it is stopped", async () => {
    const info = await box.docker(["--context", plain, "info", "--format", "{{.Driver}}"]);
    assertOk(info, "docker info");
    const view = await box.dinv(["inspect", plain]);
    assertOk(view, "inspect");
    const health = (JSON.parse(view.stdout) as { Health?: Record<string, unknown> }).Health;
    assert.equal(health?.StorageDriver, info.stdout.trim());
    assert.equal(health?.StorageFallback, false);
    assert.match(String(health?.PrivilegeReason), /\w/);
    assert.match(String(health?.Cgroups), /^v\d/);
    assert.ok(Array.isArray(health?.EngineWarnings));
    const vfs = await box.dinv([
      "inspect",
      "-f",
      "{{.Health.StorageDriver}}|{{.Health.StorageReason}}",
      onVfs,
    ]);
    assertOk(vfs, "inspect -f");
    assert.equal(vfs.stdout.trim(), "vfs|asked for with --engine-storage-driver");
    assertOk(await box.dinv(["stop", onVfs]), "stop");
    const stopped = await box.dinv(["inspect", onVfs]);
    assertOk(stopped, "inspect of a stopped host");
    assert.equal("Health" in (JSON.parse(stopped.stdout) as object), false);
  });
});
