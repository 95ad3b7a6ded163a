import { join } from "node:path";
import type { Endpoint } from "./endpoint.js";
import { parseHostUrl } from "./endpoint.js";
import type { HostConfig } from "../store/host-config.js";
import { readPrivateFile, readPublicFile } from "../store/secure-fs.js";

/*
 * The endpoints of a stored host: its own service (the nested engine, the registry) and the
 * endpoint it lives on. Here, below host and the personalities, because both need them.
 */

/** How to get a host's copy of the store's client pair back. */
export const CLIENT_FILES_FIX =
  "restore it (the host folder holds copies of the store's certs/), or run `dinv regenerate-certs --client-certs`";

/**
 * Check the host's client files before they are used, so a lost or exposed one is reported with
 * the store's fix rather than as an unreadable TLS flag.
 */
export function checkClientFiles(config: HostConfig, hostDir: string): void {
  readPublicFile(join(hostDir, config.files.ca), CLIENT_FILES_FIX);
  readPublicFile(join(hostDir, config.files.clientCert), CLIENT_FILES_FIX);
  readPrivateFile(join(hostDir, config.files.clientKey), CLIENT_FILES_FIX);
}

/** The URL clients use for a host: tcp://ADDRESS:PORT (IPv6 in brackets). */
export function hostUrl(config: HostConfig): string {
  const address = config.network.address.includes(":")
    ? `[${config.network.address}]`
    : config.network.address;
  return `tcp://${address}:${config.network.port}`;
}

/** The endpoint of the host's own (nested) engine, verified with the host's certificates. */
export function hostEngineEndpoint(config: HostConfig, hostDir: string): Endpoint {
  checkClientFiles(config, hostDir);
  return {
    url: hostUrl(config),
    source: "flag",
    protocol: "tcp",
    host: config.network.address,
    port: config.network.port,
    tls: {
      verify: true,
      ca: join(hostDir, config.files.ca),
      cert: join(hostDir, config.files.clientCert),
      key: join(hostDir, config.files.clientKey),
    },
  };
}

/** The endpoint the host lives on, with its TLS files resolved inside the host folder. */
export function hostPlatformEndpoint(config: HostConfig, hostDir: string): Endpoint {
  const parsed = parseHostUrl(config.endpoint.url, `endpoint of host ${config.name}`);
  if (parsed.protocol === "unix")
    return { url: parsed.url, source: "flag", protocol: "unix", socketPath: parsed.socketPath };
  const tls = config.endpoint.tls;
  return {
    url: parsed.url,
    source: "flag",
    protocol: "tcp",
    host: parsed.host,
    port: parsed.port,
    ...(tls
      ? {
          tls: {
            verify: tls.verify,
            ...(tls.ca ? { ca: join(hostDir, tls.ca) } : {}),
            ...(tls.cert ? { cert: join(hostDir, tls.cert) } : {}),
            ...(tls.key ? { key: join(hostDir, tls.key) } : {}),
          },
        }
      : {}),
  };
}
