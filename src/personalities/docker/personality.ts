import { connect } from "../../engine/client.js";
import { waitForPing } from "../../engine/wait.js";
import { hostEngineEndpoint } from "../../engine/host-endpoints.js";
import type { HostConfig } from "../../store/host-config.js";
import type { Personality, ProvisionFiles } from "../personality.js";
import { ENGINE_DATA_DIR, HOST_TLS_PORT } from "./container-spec.js";
import { daemonJson } from "./daemon-json.js";
import { hostFilesArchive } from "../host-files.js";

export const DEFAULT_HOST_IMAGE = "dinv/host:latest";

/** Extra daemon.json keys for a host that pulls through a dinv registry cache. */
function registryCacheDaemon(config: HostConfig): Record<string, unknown> {
  return config.registryCache ? { "registry-mirrors": [config.registryCache.url] } : {};
}

/** The docker personality: a full Docker engine serving TLS on 2376 (the DinV host image). */
export const dockerPersonality: Personality = {
  name: "docker",
  defaultImage: DEFAULT_HOST_IMAGE,
  servicePort: HOST_TLS_PORT,
  dataDir: ENGINE_DATA_DIR,
  nestedEngine: true,
  command: (config) => config.engineOptions.flags,
  archive: (config: HostConfig, files: ProvisionFiles) =>
    hostFilesArchive({
      caPem: files.caPem,
      serverCertPem: files.serverCertPem,
      serverKeyPem: files.serverKeyPem,
      daemonJson: daemonJson(config.engineOptions, registryCacheDaemon(config)),
      dockerdEnv: config.engineOptions.env,
      ...(files.extra ? { extra: files.extra } : {}),
    }),
  engineClient: (config, hostDir, timeoutMs) => connect(hostEngineEndpoint(config, hostDir), { timeoutMs }),
  waitReady: (config, hostDir, timeoutMs) =>
    waitForPing(connect(hostEngineEndpoint(config, hostDir), { timeoutMs: 5_000 }), { timeoutMs }),
};

/** Subject alternative names of a host's server certificate: how clients reach it, plus extras. */
export function serverSans(
  clientAddress: string,
  extraSans: readonly string[],
  containerIp?: string,
): string[] {
  const sans = [clientAddress, "localhost", "127.0.0.1", ...(containerIp ? [containerIp] : []), ...extraSans];
  return [...new Set(sans)];
}
