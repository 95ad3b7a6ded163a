/**
 * containerLogs options → the engine's log query. An engine restarts a container in place, so
 * its log holds every instance: the current instance's lines are those since it last started,
 * and `previous` means the lines from before that (the previous instance and any older ones).
 */
import type { ContainerLogOptions } from "../provider-api.js";
import type { EngineLogOptions } from "./engine.js";
import { StreamingError } from "../provider-api.js";

/** RFC 3339 (nanosecond fractions kept) → Unix "seconds.nanoseconds", as the engine's since/until take. */
export function unixTime(rfc3339: string): string {
  const match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339);
  if (!match) throw new StreamingError(`not an RFC 3339 time: "${rfc3339}"`, 400);
  const seconds = Date.parse(`${match[1]}${match[3]}`) / 1000;
  if (Number.isNaN(seconds)) throw new StreamingError(`not an RFC 3339 time: "${rfc3339}"`, 400);
  return `${seconds}.${(match[2] ?? "").padEnd(9, "0")}`;
}

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Number(a) >= Number(b) ? a : b;
}

export interface InstanceFacts {
  /** When the current instance started (the engine's zero time if it never did). */
  startedAt: string;
  restartCount: number;
}

export function engineLogQuery(
  options: ContainerLogOptions,
  instance: InstanceFacts,
  describe: { pod: string; container: string },
  now: Date = new Date(),
): EngineLogOptions {
  const started =
    instance.startedAt && !instance.startedAt.startsWith("0001-") ? instance.startedAt : undefined;
  const asked =
    options.sinceTime !== undefined
      ? unixTime(options.sinceTime)
      : options.sinceSeconds !== undefined
        ? String(Math.floor(now.getTime() / 1000) - options.sinceSeconds)
        : undefined;
  const base = {
    timestamps: options.timestamps,
    ...(options.tailLines !== undefined ? { tail: options.tailLines } : {}),
  };
  if (options.previous) {
    if (instance.restartCount === 0 || !started) {
      throw new StreamingError(
        `previous terminated container "${describe.container}" in pod "${describe.pod}" not found`,
        400,
      );
    }
    // A previous instance is over: nothing to follow.
    return { ...base, follow: false, until: unixTime(started), ...(asked ? { since: asked } : {}) };
  }
  const since = later(asked, instance.restartCount > 0 && started ? unixTime(started) : undefined);
  return { ...base, follow: options.follow, ...(since ? { since } : {}) };
}
