import { call } from "../engine/client.js";
import { detectEngine } from "../engine/flavor.js";
import { DinvError, errorMessage } from "../errors.js";
import { madeByDinv, type HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { copyCacheVolume } from "./cache-copy.js";
import { machineNames } from "./create.js";
import { hostLabels } from "./provision.js";
import { hostPersonality, openHost } from "./open.js";
import type { Progress } from "./progress.js";
import { recreateHost, RecreateRolledBack } from "./recreate.js";
import { applyResources, VIC_DEFAULT_CACHE_BYTES, type Resources } from "./resources.js";

export class ResizeError extends DinvError {}

export type ResourceChange = Pick<Resources, "cpus" | "memoryBytes" | "cacheBytes">;

/** How a resize is carried out on an endpoint of this kind. */
export interface ResizePlan {
  resources: Resources;
  /** The cache must move to a larger volume (the endpoint cannot grow one in place). */
  moveCache: boolean;
  /** What the endpoint cannot enforce, said as create says it. */
  notes: string[];
}

/**
 * Decide what `dinv set` does: the new resources, and whether the cache moves. Only endpoints whose
 * volumes have a fixed size need a new volume (a VCH's Capacity is set at create: docs/vic.md, "A
 * volume's disk keeps the Capacity"); a cache never shrinks (its images would not fit, and nothing
 * says which to drop).
 */
export function planResize(
  config: HostConfig,
  change: ResourceChange,
  capacityFixed: boolean,
  flavor: HostConfig["engine"]["flavor"],
): ResizePlan {
  const resources: Resources = { ...config.resources, ...change };
  const notes = applyResources(change, flavor).notes;
  let moveCache = false;
  if (capacityFixed && change.cacheBytes !== undefined) {
    const now = config.resources.cacheBytes ?? VIC_DEFAULT_CACHE_BYTES;
    if (change.cacheBytes < now)
      throw new ResizeError(
        `the cache of ${config.name} has ${Math.round(now / 1024 ** 2)} MiB and cannot shrink to ${Math.round(change.cacheBytes / 1024 ** 2)} MiB`,
        { hint: "give a --cache-size at least as large as the current one" },
      );
    moveCache = change.cacheBytes > now;
  }
  return { resources, moveCache, notes };
}

/** The cache volume a host moves to: two names take turns (the old one is removed after each move). */
export function nextCacheVolume(config: HostConfig): string {
  const base = machineNames(config.name).volume;
  return config.container.volume === base ? `${base}-2` : base;
}

export interface ResizeResult {
  changed: boolean;
  cacheVolume: string;
}

/**
 * `dinv set`: recreate the host's container with new CPU, memory and cache sizes on the same cache
 * volume (upgrade's recreate path), or, where the volume cannot grow, on a larger copy of it; the
 * old volume is removed only once the new host answers.
 */
export async function resizeHost(
  store: HostStore,
  name: string,
  change: ResourceChange,
  options: { timeoutSeconds: number },
  progress: Progress,
): Promise<ResizeResult> {
  if (change.cpus === undefined && change.memoryBytes === undefined && change.cacheBytes === undefined)
    throw new ResizeError("nothing to change", { hint: "pass --cpus, --memory or --cache-size" });
  const host = openHost(store, name);
  const { client, driver, config } = host;
  const oldVolume = madeByDinv(config, "resize").volume;
  const personality = await hostPersonality(host);
  const profile = await detectEngine(client);
  const plan = planResize(config, change, profile.capabilities.volumeCapacityOption, profile.flavor);
  for (const note of plan.notes) progress.warn(note);
  const current = await call(client, () => driver.inspect());
  if (!current)
    throw new ResizeError(`the container of ${name} is missing on ${client.endpoint.url}`, {
      hint: `remove the host with \`dinv rm -f ${name}\``,
    });
  const newVolume = plan.moveCache ? nextCacheVolume(config) : oldVolume;
  const next: HostConfig = {
    ...config,
    resources: plan.resources,
    container: { ...config.container, volume: newVolume },
  };
  if (JSON.stringify(next) === JSON.stringify(config)) return { changed: false, cacheVolume: oldVolume };

  const { volumeOptions } = applyResources(plan.resources, profile.flavor);
  try {
    await recreateHost(store, host, current, next, profile, personality, progress, {
      timeoutSeconds: options.timeoutSeconds,
      ...(plan.moveCache
        ? {
            beforeCreate: async () => {
              progress.step(`creating volume ${newVolume}`);
              await call(client, () =>
                client.docker.createVolume({
                  Name: newVolume,
                  Labels: hostLabels(next, "cache"),
                  DriverOpts: volumeOptions,
                }),
              );
              progress.done(volumeOptions.Capacity);
              await copyCacheVolume(client, config, oldVolume, newVolume, progress);
            },
            onRollback: () => call(client, () => client.docker.getVolume(newVolume).remove()),
          }
        : {}),
    });
  } catch (err) {
    if (!(err instanceof RecreateRolledBack)) throw err;
    throw new ResizeError(`resizing ${name} failed: ${err.message}; the host is back as it was`, {
      cause: err.cause,
    });
  }
  if (plan.moveCache) {
    progress.step(`removing the old cache volume ${oldVolume}`);
    try {
      await call(client, () => client.docker.getVolume(oldVolume).remove());
      progress.done();
    } catch (err) {
      progress.warn(
        `could not remove the old cache volume ${oldVolume}: ${errorMessage(err)}; remove it by hand`,
      );
    }
  }
  return { changed: true, cacheVolume: newVolume };
}
