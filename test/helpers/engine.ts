/**
 * The real engine the e2e tests talk to, a parameter of the suites: DINV_TEST_ENGINE=docker
 * (the default: whatever DOCKER_HOST or the docker CLI's context names; scripts/test.sh starts
 * a private dockerd and exports DOCKER_HOST) or podman (DINV_PODMAN_HOST, else the socket of
 * scripts/podman.sh's private service). The CLI runs in tests get the same endpoint.
 * No engine is a failure, not a skip: these tests exist to run against a real one.
 */
import { randomBytes } from "node:crypto";
import { connect, type EngineClient } from "../../src/engine/client.js";
import { detectEngine, type Flavor } from "../../src/engine/flavor.js";
import { resolveEndpoint } from "../../src/engine/resolve.js";

export const HOST_IMAGE = process.env.DINV_TEST_IMAGE ?? "dinv/host:latest";

export const PODMAN_HOST = process.env.DINV_PODMAN_HOST ?? "unix:///run/dinv-podman/podman.sock";

function chosenEngine(): Extract<Flavor, "docker" | "podman"> {
  const engine = process.env.DINV_TEST_ENGINE ?? "docker";
  if (engine !== "docker" && engine !== "podman") {
    throw new Error(`DINV_TEST_ENGINE="${engine}": use docker or podman`);
  }
  return engine;
}

/** The flavor of engine this run of the suites targets. */
export const TEST_ENGINE = chosenEngine();

/** The environment that points a client (dinv, the docker CLI) at the test engine. */
export const TEST_ENGINE_ENV: NodeJS.ProcessEnv =
  TEST_ENGINE === "podman"
    ? { DOCKER_HOST: PODMAN_HOST, DOCKER_TLS_VERIFY: "", DOCKER_TLS: "", DOCKER_CERT_PATH: "" }
    : {};

/** Suite titles name the engine, so the two runs tell apart in reports. */
export const ENGINE_NAME = TEST_ENGINE === "podman" ? "Podman" : "Docker Engine";

export async function testEngine(): Promise<EngineClient> {
  const client = connect(resolveEndpoint({}, { ...process.env, ...TEST_ENGINE_ENV }), { timeoutMs: 30_000 });
  try {
    await client.docker.ping();
  } catch (err) {
    const how = TEST_ENGINE === "podman" ? "scripts/podman.sh" : "scripts/test.sh";
    throw new Error(
      `no ${ENGINE_NAME} answers at ${client.endpoint.url} (${(err as Error).message}); start it with ${how}`,
    );
  }
  // A podman run that reached a Docker Engine (or the reverse) would prove nothing.
  const { flavor } = await detectEngine(client);
  if (flavor !== TEST_ENGINE) {
    throw new Error(`${client.endpoint.url} is ${flavor}, but DINV_TEST_ENGINE asks for ${TEST_ENGINE}`);
  }
  try {
    await client.docker.getImage(HOST_IMAGE).inspect();
  } catch {
    const load = TEST_ENGINE === "podman" ? " and load it with scripts/podman.sh images" : "";
    throw new Error(`image ${HOST_IMAGE} is missing; build it with images/dinv/build-offline.sh${load}`);
  }
  return client;
}

/** A label value unique to this test run, so cleanup only touches what the run made. */
export function runId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * Remove every container and volume carrying label io.dinv.test=<id> (or another label=value);
 * with their anonymous volumes (the host image declares one), so test runs leave none behind.
 */
export async function removeLabelled(
  client: EngineClient,
  id: string,
  label = "io.dinv.test",
): Promise<void> {
  const filters = JSON.stringify({ label: [`${label}=${id}`] });
  const containers = await client.docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => client.docker.getContainer(c.Id).remove({ force: true, v: true })));
  const { Volumes } = await client.docker.listVolumes({ filters });
  await Promise.all((Volumes ?? []).map((v) => client.docker.getVolume(v.Name).remove()));
}
