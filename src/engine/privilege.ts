import type { EngineClient } from "./client.js";
import { call } from "./client.js";
import type { EngineProfile } from "./flavor.js";
import { EngineError } from "../errors.js";

export type { PrivilegeMode } from "../personalities/docker/container-spec.js";
import type { PrivilegeMode } from "../personalities/docker/container-spec.js";

/** Matches the engine's refusal of --privileged on hosts lacking capabilities (design.md). */
const PRIVILEGE_REFUSED = /apply caps|operation not permitted/i;

/**
 * Can this endpoint actually start a privileged container? Some kernels/sandboxes refuse
 * (the capability bounding set lacks CAP_SYS_RESOURCE); the flavor alone cannot tell.
 * Starts a throw-away `true` from `image` and removes it.
 */
export async function probePrivileged(client: EngineClient, image: string): Promise<boolean> {
  const container = await call(client, () =>
    client.docker.createContainer({
      Image: image,
      Entrypoint: ["/bin/true"],
      Cmd: [],
      Labels: { "io.dinv.probe": "privileged" },
      HostConfig: { Privileged: true, NetworkMode: "none" },
    }),
  );
  try {
    await container.start();
    await container.wait();
    return true;
  } catch (err) {
    if (PRIVILEGE_REFUSED.test(String((err as Error).message))) return false;
    throw err;
  } finally {
    // v: the image declares a volume; do not leave an anonymous one behind per probe.
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/** Pick how a nested dockerd gets its rights on this endpoint. */
export async function choosePrivilegeMode(
  client: EngineClient,
  profile: EngineProfile,
  image: string,
): Promise<PrivilegeMode> {
  const caps = profile.capabilities;
  if (!caps.nestedEngineNeedsPrivilege) return "none";
  if (caps.privileged && (await probePrivileged(client, image))) return "privileged";
  if (caps.explicitCapabilitiesFallback) return "explicit";
  throw new EngineError(
    `${client.endpoint.url} cannot run privileged containers, which a nested Docker engine needs`,
  );
}
