/**
 * One store, two real engines: a host on Podman (by --endpoint) and one on Docker Engine (by
 * DOCKER_HOST), listed together with their endpoints, each answering the docker CLI.
 * Run by `npm run test:podman`: DOCKER_HOST is the Docker engine (scripts/test.sh exports it),
 * the Podman endpoint is scripts/podman.sh's (or DINV_PODMAN_HOST).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type EngineClient } from "../../src/engine/client.js";
import { detectEngine } from "../../src/engine/flavor.js";
import { resolveEndpoint } from "../../src/engine/resolve.js";
import { assertOk } from "../helpers/assert.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { PODMAN_HOST, removeLabelled, runId } from "../helpers/engine.js";

/** A client for an endpoint that must be of this flavor (a mix-up would prove nothing). */
async function engineOf(url: string, flavor: "docker" | "podman"): Promise<EngineClient> {
  const client = connect(resolveEndpoint({ endpoint: url }, {}), { timeoutMs: 30_000 });
  const profile = await detectEngine(client);
  assert.equal(profile.flavor, flavor, `${url} is ${profile.flavor}, expected ${flavor}`);
  return client;
}

describe("hosts on Podman and Docker Engine side by side in one store", () => {
  const dockerHost = process.env.DOCKER_HOST ?? "";
  const onPodman = runId("pm");
  const onDocker = runId("dk");
  let box: Sandbox;
  let podman: EngineClient;
  let docker: EngineClient;

  before(async () => {
    assert.ok(dockerHost, "DOCKER_HOST names the Docker engine (scripts/test.sh exports it)");
    podman = await engineOf(PODMAN_HOST, "podman");
    docker = await engineOf(dockerHost, "docker");
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", onPodman, onDocker], { DOCKER_HOST: dockerHost });
    await removeLabelled(podman, onPodman, "io.dinv.host");
    await removeLabelled(docker, onDocker, "io.dinv.host");
    box.cleanup();
  });

  it("creates one host on each engine", async () => {
    // The sandbox points at the Podman endpoint in a podman run: name the Docker engine explicitly.
    const env = { DOCKER_HOST: dockerHost };
    const [pm, dk] = await Promise.all([
      box.dinv(["create", "--endpoint", PODMAN_HOST, onPodman], env),
      box.dinv(["create", onDocker], env),
    ]);
    assertOk(pm, "create on Podman");
    assertOk(dk, "create on Docker Engine");
    assert.match(pm.stderr, /checking endpoint .*: done \(podman /);
    assert.match(dk.stderr, /checking endpoint .*: done \(docker /);
  });

  it("lists both as Running, each with its endpoint", async () => {
    const ls = await box.dinv(["ls", "--format", "{{.Name}} {{.State}} {{.Endpoint}}"], {
      DOCKER_HOST: dockerHost,
    });
    assertOk(ls, "ls");
    assert.deepEqual(
      ls.stdout.trim().split("\n").sort(),
      [`${onDocker} Running ${dockerHost}`, `${onPodman} Running ${PODMAN_HOST}`].sort(),
    );
    const table = await box.dinv(["ls"], { DOCKER_HOST: dockerHost });
    for (const name of [onPodman, onDocker]) {
      assert.match(
        table.stdout,
        new RegExp(`^${name}\\s+-\\s+docker\\s+Running\\s+tcp://127\\.0\\.0\\.1:\\d+`, "m"),
      );
    }
  });

  it("serves the docker CLI from both, each container on its own engine", async () => {
    for (const [name, engine] of [
      [onPodman, podman],
      [onDocker, docker],
    ] as const) {
      const info = await box.docker(["--context", name, "info", "--format", "{{.Name}}"]);
      assertOk(info, `docker --context ${name}`);
      const inspected = await engine.docker.getContainer(`dinv-${name}`).inspect();
      assert.equal(inspected.State.Running, true, `dinv-${name} runs on its engine`);
    }
  });
});
