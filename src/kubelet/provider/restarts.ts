/**
 * Container restarts the kubelet makes itself, as a kubelet's runtime manager makes them: per
 * the pod's restartPolicy (Always; OnFailure when the exit code is not 0; Never: none; init
 * containers only on failure, unless Never), with the kubelet's crash-loop back-off — the first
 * restart at once, then 10 s, doubling to 300 s, forgotten once the container ran 10 minutes —
 * and counted, since the engine's RestartCount knows nothing of them.
 *
 * Two callers, one mechanism: the probe manager after it killed a container for a failed
 * liveness or startup probe (every flavor: the engine treats a kill as stopped by hand), and,
 * where the engine applies no restart policy at all (a VCH, vmware/vic#4033), every exited
 * container the pod's status shows.
 */
import { errorMessage } from "../../errors.js";
import type { Pod } from "../kube/types.js";
import type { EngineContainerDetails } from "./engine.js";

export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
/** A container that ran this long before exiting starts over with no back-off (the kubelet's 2 × max). */
export const BACKOFF_RESET_MS = 600_000;

/** Whether a container that exited with this code is started again. */
export function shouldRestart(pod: Pod, exitCode: number, init: boolean, name?: string): boolean {
  // A sidecar (an init container with restartPolicy Always) is restarted whatever the pod's policy.
  if (init && pod.spec.initContainers?.some((c) => c.name === name && c.restartPolicy === "Always"))
    return true;
  const policy = pod.spec.restartPolicy ?? "Always";
  if (policy === "Never") return false;
  // Init containers run to completion once: restarted only after a failure.
  if (init || policy === "OnFailure") return exitCode !== 0;
  return true;
}

export interface RestarterDeps {
  startContainer(id: string): Promise<void>;
  /** The pod's status should be read again (a restart happened or failed). */
  notify(podKey: string): void;
  log?: (message: string) => void;
  now?: () => number;
}

/** An exited container instance the restarter is asked about. */
export interface ExitedContainer {
  podKey: string;
  pod: Pod;
  name: string;
  init: boolean;
  details: Pick<EngineContainerDetails, "id" | "state">;
}

interface Track {
  podKey: string;
  count: number;
  /** The back-off the next restart waits (0: at once). */
  nextDelayMs: number;
  /** When the kubelet last started it again. */
  restartedAtMs?: number;
  /** The run (its startedAt) whose exit was last dealt with (restarted, or left stopped by policy). */
  handledRun?: string;
  pending?: { timer: NodeJS.Timeout; delayMs: number; message: string };
}

export class ContainerRestarter {
  private readonly tracks = new Map<string, Track>();
  private readonly now: () => number;

  constructor(private readonly deps: RestarterDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The container exited: start it again if its policy says so, after its back-off. Asking
   * again about the same exit (another status read, the probe manager and the status both)
   * changes nothing.
   */
  exited(c: ExitedContainer): void {
    const id = c.details.id;
    // Each run of a container has its own start time: that names the exit being dealt with.
    const run = c.details.state.startedAt ?? "";
    let track = this.tracks.get(id);
    if (track?.pending || (track && track.handledRun === run)) return;
    if (!shouldRestart(c.pod, c.details.state.exitCode, c.init, c.name)) {
      if (track) track.handledRun = run;
      return;
    }
    track ??= { podKey: c.podKey, count: 0, nextDelayMs: 0 };
    this.tracks.set(id, track);
    const now = this.now();
    const finishedAt = c.details.state.finishedAt ?? "";
    const finished = finishedAt.startsWith("0001-") ? NaN : Date.parse(finishedAt);
    // The back-off counts from the exit, as the kubelet's does; an engine clock ahead counts as now.
    const exitedAt = Number.isNaN(finished) ? now : Math.min(finished, now);
    if (track.restartedAtMs !== undefined && exitedAt - track.restartedAtMs >= BACKOFF_RESET_MS) {
      track.nextDelayMs = 0;
    }
    const delayMs = track.nextDelayMs;
    track.nextDelayMs = delayMs === 0 ? BACKOFF_INITIAL_MS : Math.min(delayMs * 2, BACKOFF_MAX_MS);
    const meta = c.pod.metadata;
    const message = `back-off ${delayMs / 1000}s restarting failed container=${c.name} pod=${meta?.name ?? ""}_${meta?.namespace ?? "default"}(${meta?.uid ?? ""})`;
    const timer = setTimeout(() => void this.restart(id, track, run), Math.max(0, exitedAt + delayMs - now));
    timer.unref();
    track.pending = { timer, delayMs, message };
  }

  private async restart(id: string, track: Track, run: string): Promise<void> {
    try {
      await this.deps.startContainer(id);
      track.count++;
      track.restartedAtMs = this.now();
      track.handledRun = run;
    } catch (err) {
      // Left unhandled: the next status read tries again, after the (grown) back-off.
      this.deps.log?.(`restarting container ${id}: ${errorMessage(err)}`);
    } finally {
      delete track.pending;
    }
    if (this.tracks.get(id) === track) this.deps.notify(track.podKey);
  }

  /** Restarts the kubelet made of this container (the engine does not count them). */
  restarts(id: string): number {
    return this.tracks.get(id)?.count ?? 0;
  }

  /** While a restart waits: the kubelet's CrashLoopBackOff message. */
  backOff(id: string): string | undefined {
    return this.tracks.get(id)?.pending?.message;
  }

  /** The pod is going away: no restart of its containers may happen any more. */
  forget(podKey: string): void {
    for (const [id, track] of this.tracks) {
      if (track.podKey !== podKey) continue;
      if (track.pending) clearTimeout(track.pending.timer);
      this.tracks.delete(id);
    }
  }

  close(): void {
    for (const track of this.tracks.values()) if (track.pending) clearTimeout(track.pending.timer);
    this.tracks.clear();
  }
}
