import { join } from "node:path";
import type { Endpoint } from "../engine/endpoint.js";
import { parseHostUrl } from "../engine/endpoint.js";
import type { HostConfig } from "../store/host-config.js";

/** The URL clients use for a host: tcp://ADDRESS:PORT (IPv6 in brackets). */
export function hostUrl(config: HostConfig): string {
  const address = config.network.address.includes(":")
    ? `[${config.network.address}]`
    : config.network.address;
  return `tcp://${address}:${config.network.port}`;
}

/** The endpoint of the host's own (nested) engine, verified with the host's certificates. */
export function hostEngineEndpoint(config: HostConfig, hostDir: string): Endpoint {
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
