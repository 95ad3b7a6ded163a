import type { EngineClient } from "./client.js";
import { call } from "./client.js";
import type { EngineProfile } from "./flavor.js";
import { EngineError } from "../errors.js";
import {
  ulimitsHostConfig,
  type ContainerUlimits,
  type HostConfig,
  type PrivilegeMode,
} from "./container-rights.js";

/**
 * The runtime refusing the limits it was asked to set, e.g. Podman here: "error setting rlimits
 * for ready process: error setting rlimit type 7: operation not permitted". Checked before
 * PRIVILEGE_REFUSED: it says "operation not permitted" too.
 */
const RLIMIT_REFUSED = /setting rlimit/i;
/** Matches the engine's refusal of --privileged on hosts lacking capabilities (docs/architecture.md, "Measured here"). */
const PRIVILEGE_REFUSED = /apply caps|operation not permitted/i;

/**
 * Limits tried, highest first, when the engine's defaults do not fit the host. Rootful Podman
 * defaults to nofile=1048576/nproc=4194304; these machines allow nofile 20000 (hard, and it
 * cannot be raised without CAP_SYS_RESOURCE), so the second rung is the one taken here.
 */
export const ULIMIT_LADDER: readonly ContainerUlimits[] = [
  { nofile: 65536, nproc: 65536 },
  { nofile: 16384, nproc: 32768 },
  { nofile: 4096, nproc: 4096 },
];

/** The engine's message says it refused a privileged container's rights (this machine: CAP_SYS_RESOURCE). */
export function privilegeRefused(message: string): boolean {
  return !RLIMIT_REFUSED.test(message) && PRIVILEGE_REFUSED.test(message);
}

export type StartOutcome = "started" | "rlimit-refused" | "privilege-refused";

/**
 * Start a throw-away `true` from `image` with these host config fields, and remove it.
 * What a refusal means is read from the engine's message (runtimes say no other way).
 */
export async function probeStart(
  client: EngineClient,
  image: string,
  hostConfig: HostConfig,
): Promise<StartOutcome> {
  const container = await call(client, () =>
    client.docker.createContainer({
      Image: image,
      Entrypoint: ["/bin/true"],
      Cmd: [],
      Labels: { "io.dinv.probe": "start" },
      // No network: a failed start cannot leave a port bound (Podman may, until it restarts).
      HostConfig: { ...hostConfig, NetworkMode: "none" },
    }),
  );
  try {
    await container.start();
    await container.wait();
    return "started";
  } catch (err) {
    const message = String((err as Error).message);
    if (RLIMIT_REFUSED.test(message)) return "rlimit-refused";
    if (PRIVILEGE_REFUSED.test(message)) return "privilege-refused";
    throw err;
  } finally {
    // v: the image declares a volume; do not leave an anonymous one behind per probe.
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/**
 * The per-container limits containers need on this endpoint: none (the engine's defaults
 * start) or the highest rung of ULIMIT_LADDER the host accepts. Only flavors whose defaults
 * may exceed the host's limits (Podman) are probed; the engine's defaults are tried first, so
 * a user's own containers.conf keeps deciding where it works.
 */
export async function chooseUlimits(
  client: EngineClient,
  profile: EngineProfile,
  image: string,
  ladder: readonly ContainerUlimits[] = ULIMIT_LADDER,
): Promise<ContainerUlimits | undefined> {
  if (!profile.capabilities.defaultUlimitsMayExceedHost) return undefined;
  for (const rung of [undefined, ...ladder]) {
    const outcome = await probeStart(client, image, ulimitsHostConfig(rung));
    if (outcome === "started") return rung;
    if (outcome !== "rlimit-refused") break;
  }
  throw new EngineError(
    `${client.endpoint.url} refuses to start containers with any open-file limit dinv tried`,
    {
      hint: "lower default_ulimits in the engine's containers.conf (e.g. nofile=20000:20000)",
    },
  );
}

/**
 * Can this endpoint actually start a privileged container? Some kernels/sandboxes refuse
 * (the capability bounding set lacks CAP_SYS_RESOURCE); the flavor alone cannot tell.
 */
export async function probePrivileged(
  client: EngineClient,
  image: string,
  ulimits?: ContainerUlimits,
): Promise<boolean> {
  const outcome = await probeStart(client, image, { Privileged: true, ...ulimitsHostConfig(ulimits) });
  if (outcome === "rlimit-refused") {
    throw new EngineError(`${client.endpoint.url} refused the container limits dinv chose`);
  }
  return outcome === "started";
}

/** Pick how a nested dockerd gets its rights on this endpoint (with the limits chooseUlimits picked). */
export async function choosePrivilegeMode(
  client: EngineClient,
  profile: EngineProfile,
  image: string,
  ulimits?: ContainerUlimits,
): Promise<PrivilegeMode> {
  const caps = profile.capabilities;
  if (!caps.nestedEngineNeedsPrivilege) return "none";
  if (caps.privileged && (await probePrivileged(client, image, ulimits))) return "privileged";
  if (caps.explicitCapabilitiesFallback) return "explicit";
  throw new EngineError(
    `${client.endpoint.url} cannot run privileged containers, which a nested Docker engine needs`,
  );
}
