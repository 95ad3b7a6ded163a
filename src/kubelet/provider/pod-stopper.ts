/**
 * PodStopper: every app container at once — its preStop hook, then SIGTERM, SIGKILL when the
 * grace period is over (the engine's stop timeout) — then the init containers (sidecars) in
 * reverse order, then the infra container, which has nothing to shut down.
 */
import type { Pod } from "../kube/types.js";
import type { PodEngine } from "./engine.js";
import type { CachedContainer, CachedPod } from "./pod-cache.js";

export const DEFAULT_GRACE_SECONDS = 30;

/** The grace Kubernetes asked for: the deletion's, else the spec's, else 30 s. */
export function gracePeriod(pod: Pod | undefined): number {
  const seconds =
    pod?.metadata?.deletionGracePeriodSeconds ??
    pod?.spec.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_SECONDS;
  return Math.max(0, Math.floor(seconds));
}

/** What a container keeps for its own shutdown once its preStop hook ran, as on a kubelet. */
export const MIN_GRACE_AFTER_HOOK_SECONDS = 2;

/** Runs a container's preStop hook within timeoutMs (nothing when it has none). */
export type PreStop = (container: CachedContainer, timeoutMs: number) => Promise<void>;

export class PodStopper {
  constructor(
    private readonly engine: PodEngine,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Each container: its preStop hook (when given), then SIGTERM and SIGKILL once the rest of
   * the grace period is over, so the whole stop stays within it (at least 2 s after a hook).
   */
  async stop(
    entry: Pick<CachedPod, "infraId" | "containers" | "initContainers">,
    graceSeconds: number,
    preStop?: PreStop,
  ): Promise<void> {
    const deadline = this.now() + graceSeconds * 1000;
    const left = () => Math.max(0, Math.ceil((deadline - this.now()) / 1000));
    const stopOne = async (c: CachedContainer) => {
      if (!preStop || graceSeconds === 0) return this.engine.stopContainer(c.id, left());
      await preStop(c, left() * 1000);
      return this.engine.stopContainer(c.id, Math.max(MIN_GRACE_AFTER_HOOK_SECONDS, left()));
    };
    await Promise.all([...entry.containers.values()].map(stopOne));
    // Then the init containers — sidecars still run — the last started first (KEP-753), within
    // what is left of the grace period.
    const inits = [...(entry.initContainers?.values() ?? [])].sort((a, b) => b.index - a.index);
    for (const c of inits) await stopOne(c);
    if (entry.infraId) await this.engine.stopContainer(entry.infraId, 0);
  }
}
