import type { HostConfig } from "../store/host-config.js";

/**
 * daemon.json as written into a host: dinv's defaults (networks clear of the outer
 * engine's 172.17.0.0/16, live-restore), then --engine-config, then the flags; extra keys from the
 * personality last (e.g. a registry cache's mirror).
 */
export function daemonJson(
  options: HostConfig["engineOptions"],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const merged: Record<string, unknown> = {
    bip: "10.213.0.1/24",
    "default-address-pools": [{ base: "10.214.0.0/16", size: 24 }],
    // Containers survive a dockerd restart: regenerate-certs reloads without stopping them.
    "live-restore": true,
    ...options.daemon,
  };
  for (const [key, value] of Object.entries(extra)) {
    const existing = merged[key];
    merged[key] =
      Array.isArray(existing) && Array.isArray(value) ? [...new Set([...existing, ...value])] : value;
  }
  return merged;
}
