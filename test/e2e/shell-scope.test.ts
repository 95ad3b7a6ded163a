/**
 * A host per shell or per folder (issue 18): `dinv use` sets DOCKER_CONTEXT for the shell that
 * evals it only (the docker CLI's current context, shared by every terminal, stays), a `.dinv`
 * file names a project folder's host, and `env --testcontainers` adds what Testcontainers needs.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import { ENGINE_NAME, IMAGE_ARGS, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

describe(`dinv use and env --testcontainers (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const name = runId("use");
  const bare = `${name}-bare`;

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    const created = await Promise.all([
      box.dinv(["create", ...IMAGE_ARGS, name]),
      box.dinv(["create", ...IMAGE_ARGS, "--no-context", bare]),
    ]);
    created.forEach((c) => assertOk(c, "create"));
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", name, bare]);
    for (const host of [name, bare]) await removeLabelled(engine, host, "io.dinv.host");
    box.cleanup();
  });

  it("points only the shell that evals it at the host, from a name or the folder's .dinv file", async () => {
    const project = join(box.store, "..", "project");
    mkdirSync(join(project, "src", "deep"), { recursive: true });
    writeFileSync(join(project, ".dinv"), `# this project's Docker host\n${name}\n`);
    const script = [
      `cd ${join(project, "src", "deep")}`,
      `eval "$(${DINV_BIN} use)"`,
      'echo "ctx=$DOCKER_CONTEXT"',
      "docker info --format 'host={{.Name}}'",
      "docker context show",
      `eval "$(${DINV_BIN} use -u)"`,
      'echo "after=${DOCKER_CONTEXT:-unset}"',
    ].join(" && ");
    const result = await box.sh(script, { DOCKER_CONTEXT: "" });
    assertOk(result, "use in a project folder");
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines[0], `ctx=${name}`);
    assert.equal(lines[1], `host=${name}`, "the docker CLI reached the host's own engine");
    assert.equal(lines[2], name, "docker context show follows DOCKER_CONTEXT in this shell");
    assert.equal(lines[3], "after=unset");
    const global = await box.docker(["context", "show"], { DOCKER_CONTEXT: "" });
    assert.equal(
      global.stdout.trim(),
      "default",
      "the CLI's current context, seen by other terminals, is unchanged",
    );

    const fish = await box.dinv(["use", "--shell", "fish", name]);
    assert.match(fish.stdout, /^set -e DOCKER_HOST;$/m, "DOCKER_HOST would win over DOCKER_CONTEXT");
    assert.match(fish.stdout, new RegExp(`^set -gx DOCKER_CONTEXT "${name}";$`, "m"));
  });

  it("refuses with one line: no name and no .dinv, a host without a context", async () => {
    const empty = await box.sh(`cd / && ${DINV_BIN} use`);
    assertCleanFailure(empty, /no host named and no \.dinv file here or above/);
    assertCleanFailure(
      await box.dinv(["use", bare]),
      new RegExp(`host "${bare}" has no docker context.*dinv env`),
    );
    assertCleanFailure(await box.dinv(["use", `${name}-none`]), /does not exist/);
  });

  it("adds Testcontainers' host override and Ryuk's socket to env", async () => {
    const env = await box.dinv(["env", "--shell", "bash", "--testcontainers", name]);
    assertOk(env, "env --testcontainers");
    assert.match(env.stdout, /^export TESTCONTAINERS_HOST_OVERRIDE="127\.0\.0\.1"$/m);
    assert.match(env.stdout, /^export TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE="\/var\/run\/docker\.sock"$/m);
    // A host with a published TLS port: its containers' ports are not on that address.
    assert.match(
      env.stderr,
      /^warning: host ".+" publishes only its TLS port on 127\.0\.0\.1: Testcontainers will not reach/m,
    );
    // Ryuk's socket path is the host engine's own: it exists inside the host.
    assertOk(
      await box.dinv(["exec", name, "--", "test", "-S", "/var/run/docker.sock"]),
      "socket inside the host",
    );
    const unset = await box.dinv(["env", "-u", "--shell", "bash", "--testcontainers"]);
    assert.match(unset.stdout, /^unset TESTCONTAINERS_HOST_OVERRIDE$/m);
  });
});
