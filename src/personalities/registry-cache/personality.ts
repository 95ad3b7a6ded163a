import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { DinvError } from "../../errors.js";
import { hostUrl } from "../../engine/host-endpoints.js";
import type { HostConfig } from "../../store/host-config.js";
import { dockerdEnvFile, hostFilesArchive } from "../host-files.js";
import type { Personality, ProvisionFiles } from "../personality.js";

export const DEFAULT_REGISTRY_CACHE_IMAGE = "dinv/registry-cache:latest";
/** The registry's TLS port inside the container (image contract). */
export const REGISTRY_PORT = 5000;
/** Where the cache volume mounts (image contract). */
export const REGISTRY_DATA_DIR = "/var/lib/registry";
/** The registry's environment, written by dinv (image contract: KEY=VALUE lines, taken literally). */
export const REGISTRY_ENV_FILE = "/etc/dinv/registry.env";
/** distribution's override of proxy.remoteurl: set, the registry is a pull-through cache of it. */
export const UPSTREAM_ENV = "REGISTRY_PROXY_REMOTEURL";

/**
 * The registry-cache personality: a distribution registry (Debian's docker-registry 2.8)
 * serving TLS on 5000 with a certificate from the store's CA, its storage on the host's
 * volume. With an upstream it is a pull-through cache of it; without, a plain registry.
 * Its settings are the host's engineOptions.env (the registry's environment): the upstream
 * is REGISTRY_PROXY_REMOTEURL there, so upgrade and regenerate-certs write it again.
 */
export const registryCachePersonality: Personality = {
  name: "registry-cache",
  defaultImage: DEFAULT_REGISTRY_CACHE_IMAGE,
  servicePort: REGISTRY_PORT,
  dataDir: REGISTRY_DATA_DIR,
  nestedEngine: false,
  command: () => [],
  archive: (config: HostConfig, files: ProvisionFiles) =>
    hostFilesArchive({
      caPem: files.caPem,
      serverCertPem: files.serverCertPem,
      serverKeyPem: files.serverKeyPem,
      extra: [
        { path: REGISTRY_ENV_FILE, mode: 0o600, body: dockerdEnvFile(config.engineOptions.env) },
        ...(files.extra ?? []),
      ],
    }),
  waitReady: (config, hostDir, timeoutMs) => waitForRegistry(config, hostDir, { timeoutMs }),
};

/** The registry's upstream, when it is a pull-through cache. */
export function upstreamOf(config: HostConfig): string | undefined {
  return config.engineOptions.env[UPSTREAM_ENV];
}

/**
 * Poll GET /v2/ over TLS verified against the store's CA (presenting the client
 * certificate) until the registry answers 200 or 401, or fail with the last cause.
 */
export async function waitForRegistry(
  config: HostConfig,
  hostDir: string,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<void> {
  const tls = {
    ca: readFileSync(join(hostDir, config.files.ca)),
    cert: readFileSync(join(hostDir, config.files.clientCert)),
    key: readFileSync(join(hostDir, config.files.clientKey)),
  };
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 25;
  let last = "no answer yet";
  for (;;) {
    try {
      const status = await getV2(config.network.address, config.network.port, tls, 5_000);
      if (status === 200 || status === 401) return;
      last = `GET /v2/ answered ${status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + interval > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 200);
  }
  const url = hostUrl(config).replace(/^tcp:/, "https:");
  throw new DinvError(
    `the registry at ${url} did not answer within ${Math.round(options.timeoutMs / 1000)}s (last: ${last})`,
    { hint: `see its log with \`dinv logs ${config.name}\`` },
  );
}

function getV2(
  host: string,
  port: number,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: "/v2/", method: "GET", ...tls, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
