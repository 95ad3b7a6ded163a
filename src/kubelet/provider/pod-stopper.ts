/**
 * PodStopper: SIGTERM to every app container at once, SIGKILL after the grace period
 * (the engine's stop timeout), then the infra container, which has nothing to shut down.
 */
import type { Pod } from "../kube/types.js";
import type { PodEngine } from "./engine.js";
import type { CachedPod } from "./pod-cache.js";

export const DEFAULT_GRACE_SECONDS = 30;

/** The grace Kubernetes asked for: the deletion's, else the spec's, else 30 s. */
export function gracePeriod(pod: Pod | undefined): number {
  const seconds =
    pod?.metadata?.deletionGracePeriodSeconds ??
    pod?.spec.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_SECONDS;
  return Math.max(0, Math.floor(seconds));
}

export class PodStopper {
  constructor(private readonly engine: PodEngine) {}

  async stop(
    entry: Pick<CachedPod, "infraId" | "containers" | "initContainers">,
    graceSeconds: number,
  ): Promise<void> {
    const containers = [...entry.containers.values(), ...(entry.initContainers?.values() ?? [])];
    await Promise.all(containers.map((c) => this.engine.stopContainer(c.id, graceSeconds)));
    if (entry.infraId) await this.engine.stopContainer(entry.infraId, 0);
  }
}
