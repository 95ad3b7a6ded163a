/**
 * The outer engine restarts while a host runs (the private dockerd stopped and started by
 * scripts/engine.sh): the host comes back by its restart policy, `ls` shows it Running, and
 * the images inside it survive. Only runs against the private engine scripts/engine.sh manages.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { assertOk } from "../helpers/assert.js";
import { REPO_ROOT, sandbox, type Sandbox } from "../helpers/cli.js";
import { removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";

const PRIVATE_ENGINE = "unix:///run/dinv-engine/docker.sock";
const engineScript = join(REPO_ROOT, "scripts", "engine.sh");

describe("the outer engine restarts under a running host", () => {
  let engine: EngineClient;
  let box: Sandbox;
  const name = runId("restart");

  before(async () => {
    assert.equal(process.env.DOCKER_HOST, PRIVATE_ENGINE, "this test restarts the private engine only");
    engine = await testEngine();
    box = sandbox();
    assertOk(await box.dinv(["create", "--no-context", name]), "create");
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  it("brings the host back Running with its images", async () => {
    const tar = join(box.store, "..", "tiny.tar");
    writeFileSync(tar, await tinyRootfsTar());
    const flags = (await box.dinv(["config", name])).stdout.trim().split("\n");
    assertOk(await box.docker([...flags, "import", tar, "dinv-fault/tiny:1"]), "import into the host");

    execFileSync(engineScript, ["stop"], { stdio: "ignore" });
    execFileSync(engineScript, [], { stdio: "ignore", env: process.env });

    const deadline = Date.now() + 60_000;
    let state = "";
    while (Date.now() < deadline) {
      // .Error makes ls ask the host's engine: a version kept from before the restart proves nothing.
      state = (
        await box.dinv([
          "ls",
          "--filter",
          `name=^${name}$`,
          "--format",
          "{{.State}} {{.DockerVersion}}{{.Error}}",
        ])
      ).stdout.trim();
      if (/^Running v/.test(state)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.match(state, /^Running v/, "the host came back by its restart policy");
    const images = await box.docker([...flags, "image", "inspect", "dinv-fault/tiny:1"]);
    assertOk(images, "the image inside the host survived");
  });
});
