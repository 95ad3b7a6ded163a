import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Endpoint } from "../engine/endpoint.js";
import { describeEngineError } from "../engine/engine-errors.js";
import { engineHttp } from "../engine/http-client.js";
import { LABEL_HOST, machineStateOf } from "../drivers/docker.js";
import type { HostState } from "../drivers/driver.js";
import { speaksDockerApi, type HostConfig } from "../store/host-config.js";
import type { HostStore, StoredHost } from "../store/host-store.js";
import { DinvError } from "../errors.js";
import { hostPlatformEndpoint, hostUrl } from "../engine/host-endpoints.js";
import type { HostHealth } from "./health.js";
import { hostEngineVersion } from "./state.js";
import { cachedEngineVersion, rememberEngineVersion } from "../store/engine-version-cache.js";

/** One row of `dinv ls`. */
export interface HostStatus {
  name: string;
  driver: string;
  state: HostState | "Unknown";
  url: string;
  endpoint: string;
  docker: string;
  errors: string[];
  config?: HostConfig;
  /** The id of the host's container, from the endpoint's list (the key of the cached engine version). */
  containerId?: string;
  /** How long this row's answers took (endpoint list, then the host's engine), in ms. */
  responseMs?: number;
  /** The engine's storage, privilege, cgroups and warnings (only when asked: withHealth). */
  health?: HostHealth;
}

export interface StatusOptions {
  /** Every engine call (endpoint list, nested engine version) gets this long. */
  timeoutMs: number;
  /** Nested engines asked at once. */
  concurrency?: number;
  /** Skip the nested engines' versions altogether (ls -q). */
  withVersions?: boolean;
  /**
   * Ask every running host's engine even when its version is cached: when the caller shows
   * whether and how fast it answers (ls's .Error, .ResponseTime). Otherwise a version cached
   * for the same container is shown without a call (src/store/engine-version-cache.ts).
   */
  askEngines?: boolean;
  /** Also read each running engine's health (ls --format with a health field): one more call per host. */
  withHealth?: boolean;
}

/**
 * The status of every stored host with few calls: one container list per endpoint (by
 * label), then the running hosts' engines whose version is not cached for their container
 * asked concurrently. A dead endpoint costs its timeout once, for all its hosts, and each
 * row says why.
 */
export async function hostStatuses(
  store: HostStore,
  hosts: StoredHost[],
  options: StatusOptions,
): Promise<HostStatus[]> {
  const rows: HostStatus[] = hosts.map((h) =>
    h.config
      ? {
          name: h.name,
          driver: h.config.driver,
          state: "Unknown",
          url: hostUrl(h.config),
          endpoint: h.config.endpoint.url,
          docker: "Unknown",
          errors: [],
          config: h.config,
        }
      : {
          name: h.name,
          driver: "",
          state: "Error",
          url: "",
          endpoint: "",
          docker: "Unknown",
          errors: [h.error.userMessage],
        },
  );
  for (const row of rows)
    if (row.config) row.errors.push(...expiryWarnings(row.config, store.hostDir(row.name)));
  const byEndpoint = new Map<string, HostStatus[]>();
  for (const row of rows) {
    if (!row.config) continue;
    const list = byEndpoint.get(row.endpoint) ?? [];
    list.push(row);
    byEndpoint.set(row.endpoint, list);
  }
  // Each endpoint's hosts are asked for their engine version as soon as that endpoint has
  // answered, so a dead endpoint delays only its own rows; every call has a hard deadline
  // (the plain client's).
  const limit = limiter(options.concurrency ?? 16);
  await Promise.all(
    [...byEndpoint.values()].map(async (group) => {
      const first = group[0] as HostStatus & { config: HostConfig };
      const endpoint = hostPlatformEndpoint(first.config, store.hostDir(first.name));
      const listed = performance.now();
      await fillEndpointStates(endpoint, group, options.timeoutMs);
      const endpointMs = performance.now() - listed;
      for (const row of group) row.responseMs = endpointMs;
      if (options.withVersions === false) return;
      // Only hosts that serve the Docker API have an engine version to show.
      const running = group.filter(
        (r) => r.state === "Running" && r.config !== undefined && speaksDockerApi(r.config),
      );
      await Promise.all(
        running.map((row) =>
          limit(async () => {
            const config = row.config as HostConfig;
            const dir = store.hostDir(row.name);
            const cached = row.containerId ? cachedEngineVersion(dir, row.containerId) : undefined;
            if (cached && !options.askEngines && !options.withHealth) {
              row.docker = `v${cached}`;
              return;
            }
            // A host removed while we look (its files gone) is one row's error, not the listing's.
            const asked = performance.now();
            try {
              const version = await hostEngineVersion({ config, dir }, options.timeoutMs);
              row.docker = version ? `v${version}` : "Unknown";
              if (version && row.containerId && version !== cached)
                await rememberEngineVersion(dir, row.containerId, version);
              if (options.withHealth) {
                const { hostHealth } = await import("./health.js");
                row.health = await hostHealth({ config, dir }, options.timeoutMs);
              }
            } catch (err) {
              row.docker = "Unknown";
              row.errors.push(err instanceof DinvError ? err.userMessage : (err as Error).message);
            }
            row.responseMs = (row.responseMs ?? 0) + performance.now() - asked;
          }),
        ),
      );
    }),
  );
  return rows;
}

/** Warn 30 days ahead: a host whose certificate expired is unreachable for every client. */
export const EXPIRY_WARNING_DAYS = 30;

/** Whole days until the certificate expires (negative once it has). */
export function daysLeft(cert: X509Certificate, now = Date.now()): number {
  return Math.floor((new Date(cert.validTo).getTime() - now) / 86_400_000);
}

/** Hosts of one store share their CA and client certificate: parse each distinct one once. */
const parsedDays = new Map<string, number>();
function daysLeftOf(pem: string): number {
  let days = parsedDays.get(pem);
  if (days === undefined) {
    days = daysLeft(new X509Certificate(pem));
    parsedDays.set(pem, days);
  }
  return days;
}

export function expiryWarnings(config: HostConfig, hostDir: string): string[] {
  const warnings: string[] = [];
  const check = (file: string, what: string, fix: string) => {
    try {
      const days = daysLeftOf(readFileSync(join(hostDir, file), "utf8"));
      if (days < 0) warnings.push(`${what} expired: ${fix}`);
      else if (days < EXPIRY_WARNING_DAYS) warnings.push(`${what} expires in ${days} days: ${fix}`);
    } catch {
      warnings.push(`${what} cannot be read (${file})`);
    }
  };
  // An adopted host's server certificate is its maker's to renew (dinv keeps no copy).
  if (config.files.serverCert)
    check(config.files.serverCert, "server certificate", `run \`dinv regenerate-certs ${config.name}\``);
  check(config.files.clientCert, "client certificate", "run `dinv regenerate-certs --client-certs`");
  check(
    config.files.ca,
    "CA certificate",
    config.adopted
      ? "it is the CA the host was made with: renew it there, then adopt the host again"
      : "run `dinv regenerate-certs --client-certs`",
  );
  return warnings;
}

async function fillEndpointStates(endpoint: Endpoint, rows: HostStatus[], timeoutMs: number): Promise<void> {
  try {
    const client = engineHttp(endpoint, { timeoutMs });
    type Listed = Array<{ Id?: string; Names?: string[]; State?: string }>;
    const list = (filters: Record<string, string[]>) =>
      client.get<Listed>("/containers/json", { all: true, filters: JSON.stringify(filters) });
    // Adopted hosts' containers carry no dinv label (labels cannot be added later): asked by name.
    const adopted = rows.filter((r) => r.config?.adopted).map((r) => r.config?.container.name ?? "");
    const containers = (
      await Promise.all([list({ label: [LABEL_HOST] }), ...(adopted.length ? [list({ name: adopted })] : [])])
    ).flat();
    const byName = new Map(containers.map((c) => [(c.Names?.[0] ?? "").replace(/^\//, ""), c]));
    for (const row of rows) {
      const container = byName.get(row.config?.container.name ?? "");
      if (!container) {
        row.state = "Error";
        row.errors.push(`container ${row.config?.container.name} is missing on ${endpoint.url}`);
        continue;
      }
      row.state = machineStateOf(container.State, false, undefined).state;
      if (container.Id) row.containerId = container.Id;
    }
  } catch (err) {
    const error = describeEngineError(err, endpoint);
    const timedOut = /did not answer in time/.test(error.message);
    for (const row of rows) {
      row.state = timedOut ? "Timeout" : "Error";
      row.errors.push(error.userMessage);
    }
  }
}

/** Run at most `max` of the given tasks at once. */
export function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
