/**
 * The real engine the e2e tests talk to, a parameter of the suites: DINV_TEST_ENGINE=docker
 * (the default: whatever DOCKER_HOST or the docker CLI's context names; scripts/test.sh starts
 * a private dockerd and exports DOCKER_HOST), podman (DINV_PODMAN_HOST, else the socket of
 * scripts/podman.sh's private service) or vch (DINV_VCH_HOST with DINV_VCH_CERT_PATH, else
 * scripts/vch.sh's VCH emulator; a real VCH when they point at one). The CLI runs in tests get
 * the same endpoint. No engine is a failure, not a skip: these tests exist to run against a real one.
 */
import { randomBytes } from "node:crypto";
import { connect, type EngineClient } from "../../src/engine/client.js";
import { detectEngine, type Flavor } from "../../src/engine/flavor.js";
import { resolveEndpoint } from "../../src/engine/resolve.js";
import { DEFAULT_REGISTRY_CACHE_IMAGE } from "../../src/personalities/registry-cache/personality.js";

export const PODMAN_HOST = process.env.DINV_PODMAN_HOST ?? "unix:///run/dinv-podman/podman.sock";
export const VCH_HOST = process.env.DINV_VCH_HOST ?? "tcp://127.0.0.1:12376";
export const VCH_CERT_PATH = process.env.DINV_VCH_CERT_PATH ?? "/var/lib/dinv-vch/certs";
/** The registry a VCH pulls from (scripts/vch.sh starts one on loopback and pushes the host images). */
export const VCH_REGISTRY = process.env.DINV_VCH_REGISTRY ?? "127.0.0.1:5111";

type TestFlavor = Extract<Flavor, "docker" | "podman" | "vic">;

function chosenEngine(): TestFlavor {
  const engine = process.env.DINV_TEST_ENGINE ?? "docker";
  if (engine === "vch") return "vic";
  if (engine !== "docker" && engine !== "podman") {
    throw new Error(`DINV_TEST_ENGINE="${engine}": use docker, podman or vch`);
  }
  return engine;
}

/** The flavor of engine this run of the suites targets. */
export const TEST_ENGINE = chosenEngine();

/** A VCH only pulls: the suites use the host image as its registry serves it. */
export const HOST_IMAGE =
  process.env.DINV_TEST_IMAGE ??
  (TEST_ENGINE === "vic" ? `${VCH_REGISTRY}/dinv/host:latest` : "dinv/host:latest");

/** The registry-cache personality's image, as the test engine gets it. */
export const CACHE_IMAGE =
  TEST_ENGINE === "vic" ? `${VCH_REGISTRY}/${DEFAULT_REGISTRY_CACHE_IMAGE}` : DEFAULT_REGISTRY_CACHE_IMAGE;

/** `dinv create` arguments that pick the test image where the default one cannot be had (a VCH). */
export const IMAGE_ARGS: string[] = TEST_ENGINE === "vic" ? ["--image", HOST_IMAGE] : [];
export const CACHE_IMAGE_ARGS: string[] = TEST_ENGINE === "vic" ? ["--image", CACHE_IMAGE] : [];

/** The environment that points a client (dinv, the docker CLI) at the test engine. */
export const TEST_ENGINE_ENV: NodeJS.ProcessEnv =
  TEST_ENGINE === "podman"
    ? { DOCKER_HOST: PODMAN_HOST, DOCKER_TLS_VERIFY: "", DOCKER_TLS: "", DOCKER_CERT_PATH: "" }
    : TEST_ENGINE === "vic"
      ? { DOCKER_HOST: VCH_HOST, DOCKER_TLS_VERIFY: "1", DOCKER_TLS: "", DOCKER_CERT_PATH: VCH_CERT_PATH }
      : {};

/**
 * Flags for a container a test runs itself on the outer engine with the docker CLI: the private
 * Podman keeps a stock Podman's default ulimits, which containers cannot start with here
 * (scripts/podman.sh says why); dinv sets its own, a test's plain `docker run` needs these.
 */
export const OUTER_RUN_LIMITS: string[] =
  TEST_ENGINE === "podman" ? ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"] : [];
/** Suite titles name the engine, so the runs tell apart in reports. */
export const ENGINE_NAME = { docker: "Docker Engine", podman: "Podman", vic: "VCH" }[TEST_ENGINE];

export async function testEngine(): Promise<EngineClient> {
  const client = connect(resolveEndpoint({}, { ...process.env, ...TEST_ENGINE_ENV }), { timeoutMs: 30_000 });
  try {
    await client.docker.ping();
  } catch (err) {
    const how = { docker: "scripts/test.sh", podman: "scripts/podman.sh", vic: "scripts/vch.sh" }[
      TEST_ENGINE
    ];
    throw new Error(
      `no ${ENGINE_NAME} answers at ${client.endpoint.url} (${(err as Error).message}); start it with ${how}`,
    );
  }
  // A podman run that reached a Docker Engine (or the reverse) would prove nothing.
  const { flavor } = await detectEngine(client);
  if (flavor !== TEST_ENGINE) {
    throw new Error(`${client.endpoint.url} is ${flavor}, but DINV_TEST_ENGINE asks for ${TEST_ENGINE}`);
  }
  // A VCH gets images only by pull: tests that make containers themselves need it there.
  if (TEST_ENGINE === "vic") {
    await pullImage(client, HOST_IMAGE);
    return client;
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
 *
 * Rounds of list-then-remove until nothing is left: a forced remove can outlast the client's
 * 30 s idle timeout on a loaded engine (docker-modem then destroys the request: "socket hang
 * up"), and a volume is refused while a container being removed still holds it. A few at a
 * time, joined containers before the ones whose network namespace they share.
 */
export async function removeLabelled(
  client: EngineClient,
  id: string,
  label = "io.dinv.test",
  deadlineMs = 180_000,
): Promise<void> {
  const filters = JSON.stringify({ label: [`${label}=${id}`] });
  const until = Date.now() + deadlineMs;
  for (;;) {
    const failures: unknown[] = [];
    const attempt = async (work: () => Promise<unknown>): Promise<void> => {
      await work().catch((err: unknown) => failures.push(err));
    };
    const containers = await client.docker.listContainers({ all: true, filters });
    const joinedFirst = [...containers].sort((a, b) => Number(isJoined(b)) - Number(isJoined(a)));
    await inBatches(joinedFirst, 4, (c) =>
      attempt(() => client.docker.getContainer(c.Id).remove({ force: true, v: true })),
    );
    const { Volumes } = await client.docker.listVolumes({ filters });
    await inBatches(Volumes ?? [], 4, (v) => attempt(() => client.docker.getVolume(v.Name).remove()));
    if (failures.length === 0) return;
    if (Date.now() > until) throw failures[0];
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function isJoined(container: { HostConfig?: { NetworkMode?: string } }): boolean {
  return container.HostConfig?.NetworkMode?.startsWith("container:") ?? false;
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

/** Pull an image into the engine (a VCH's only way to get one). */
export async function pullImage(client: EngineClient, ref: string): Promise<void> {
  const stream = await client.docker.pull(ref);
  await new Promise<void>((resolve, reject) =>
    client.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
  );
}

/**
 * Where the suites make images a VCH then pulls: the engine behind the emulator (DINV_VCH_BACKEND),
 * which pushes to the VCH's registry. On Docker Engine and Podman, the test engine itself.
 */
export function imageWorkshop(client: EngineClient): EngineClient {
  if (TEST_ENGINE !== "vic") return client;
  return connect(
    resolveEndpoint({ endpoint: process.env.DINV_VCH_BACKEND ?? "unix:///run/dinv-engine/docker.sock" }, {}),
    {
      timeoutMs: 120_000,
    },
  );
}

/**
 * Make `local` (an image on the workshop engine) available to the test engine: on a VCH, tagged
 * and pushed to its registry, returning the reference to pull; elsewhere the local name as it is.
 */
export async function publishImage(workshop: EngineClient, local: string): Promise<string> {
  if (TEST_ENGINE !== "vic") return local;
  const [repo = local, tag = "latest"] = local.split(/:(?=[^/:]+$)/);
  const target = `${VCH_REGISTRY}/${repo}`;
  await workshop.docker.getImage(local).tag({ repo: target, tag });
  // The engine wants an X-Registry-Auth header even for an open registry.
  const authconfig = { username: "", password: "", serveraddress: VCH_REGISTRY };
  const stream = await workshop.docker.getImage(`${target}:${tag}`).push({ authconfig });
  await new Promise<void>((resolve, reject) =>
    workshop.docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: { error?: string }) => event.error && reject(new Error(event.error)),
    ),
  );
  return `${target}:${tag}`;
}

/** A variant of the host image made locally (no registry, no build): HOST_IMAGE with Dockerfile-style changes. */
export async function commitImage(client: EngineClient, ref: string, changes: string[]): Promise<void> {
  const [repo = ref, tag = "latest"] = ref.split(/:(?=[^/:]+$)/);
  const seed = await client.docker.createContainer({ Image: HOST_IMAGE, Labels: { "io.dinv.test": ref } });
  try {
    await seed.commit({ repo, tag, changes });
  } finally {
    await seed.remove({ v: true });
  }
}

/** An anonymous volume's name: 64 hex digits (Docker Engine, Podman) or a UUID (VIC). */
const ANONYMOUS_VOLUME = /^([0-9a-f]{64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Anonymous volumes no container uses: what a container removed without `v` leaves behind. */
export async function danglingVolumes(client: EngineClient): Promise<Set<string>> {
  const { Volumes } = await client.docker.listVolumes({ filters: JSON.stringify({ dangling: ["true"] }) });
  return new Set((Volumes ?? []).map((v) => v.Name).filter((name) => ANONYMOUS_VOLUME.test(name)));
}

/**
 * Dangling anonymous volumes that were not in `before`. Asked again after 2 s when there are
 * some: a concurrent suite's container removal may be between its container and its volumes.
 */
export async function volumesLeftSince(client: EngineClient, before: Set<string>): Promise<string[]> {
  const fresh = async () => [...(await danglingVolumes(client))].filter((v) => !before.has(v));
  if ((await fresh()).length === 0) return [];
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return fresh();
}

/** Remove images a test made, where it made them (missing ones are fine). */
export async function removeImages(pairs: ReadonlyArray<readonly [EngineClient, string]>): Promise<void> {
  for (const [client, ref] of pairs) {
    await client.docker
      .getImage(ref)
      .remove()
      .catch(() => undefined);
  }
}
