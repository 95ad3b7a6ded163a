import { DinvError } from "../errors.js";
import type { HostStore } from "../store/host-store.js";
import { hostStatuses } from "./status.js";

export class TtlError extends DinvError {}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90m", "2h", "1d", "1h30m" -> milliseconds (a disposable host's lifetime, create --ttl). */
export function parseTtl(value: string): number {
  const parts = [...value.matchAll(/(\d+)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) {
    throw new TtlError(`--ttl "${value}" is not a duration`, { hint: "e.g. 30m, 2h, 1d or 1h30m" });
  }
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] ?? "s"] ?? 1), 0);
  if (seconds <= 0) throw new TtlError(`--ttl "${value}" is not a positive duration`);
  return seconds * 1000;
}

export interface PruneCandidate {
  name: string;
  reason: string;
}

/**
 * The hosts `dinv prune` removes: those past their --ttl, and with allStopped every stopped one.
 * A host whose endpoint does not answer is never picked for being stopped (it may well run).
 */
export async function pruneCandidates(
  store: HostStore,
  options: { allStopped: boolean; timeoutMs: number; now?: number },
): Promise<PruneCandidate[]> {
  const now = options.now ?? Date.now();
  const hosts = store.list();
  const statuses = options.allStopped
    ? await hostStatuses(store, hosts, { timeoutMs: options.timeoutMs, withVersions: false })
    : [];
  const out: PruneCandidate[] = [];
  for (const host of hosts) {
    const expires = host.config?.expiresAt ? Date.parse(host.config.expiresAt) : NaN;
    if (expires <= now) {
      out.push({ name: host.name, reason: `expired ${new Date(expires).toISOString()}` });
      continue;
    }
    const state = statuses.find((s) => s.name === host.name)?.state;
    if (state === "Stopped") out.push({ name: host.name, reason: "stopped" });
  }
  return out;
}
