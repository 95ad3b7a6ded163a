/**
 * `dinv image check` on the real engine: the official host image keeps the contract
 * (docs/host-image.md), and an image that breaks it fails with the reasons (issue 16).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { ENGINE_NAME, HOST_IMAGE, commitImage, removeImages, runId, testEngine } from "../helpers/engine.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

describe(`dinv image check (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const id = runId("imgcheck");
  const broken = `dinv-e2e/broken-host:${id}`;

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    // The host image without its init and with a contract this dinv does not drive.
    await commitImage(engine, broken, [
      'ENTRYPOINT ["/usr/local/bin/dinv-entrypoint"]',
      "LABEL io.dinv.image.contract=9",
    ]);
  });

  after(async () => {
    await removeImages([[engine, broken]]);
    box.cleanup();
  });

  it("passes the official host image, and leaves nothing behind", async () => {
    const result = await box.dinv(["image", "check", HOST_IMAGE]);
    assertOk(result, "image check");
    assert.doesNotMatch(result.stdout, /^FAIL/m);
    assert.match(result.stdout, /^ok +refuses plain HTTP on its TLS port$/m);
    assert.match(result.stdout, /keeps the host image contract\.$/m);
    assert.ok(result.ms < 60_000, `took ${result.ms} ms`);
    // Its throw-away containers: the certificate-less one (labelled) and the host dinv-check-<pid>.
    for (const filters of [{ label: ["io.dinv.image-check"] }, { name: ["^/dinv-check-"] }]) {
      const left = await engine.docker.listContainers({ all: true, filters: JSON.stringify(filters) });
      assert.deepEqual(
        left.map((c) => c.Names),
        [],
        "no container left",
      );
    }
  });

  it("fails an image that breaks the contract, naming each broken rule", async () => {
    const result = await box.dinv(["image", "check", broken]);
    assertCleanFailure(result, /breaks the host image contract: .*contract this dinv drives.*init as PID 1/);
    assert.match(result.stdout, /^FAIL label io\.dinv\.image\.contract .*\(contract 9; supported: 1\)$/m);
    assert.match(result.stdout, /^FAIL runs an init as PID 1 .*dinv-entrypoint\)$/m);
  });
});
