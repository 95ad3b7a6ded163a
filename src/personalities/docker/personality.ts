import { ENGINE_DATA_DIR, HOST_TLS_PORT } from "./container-spec.js";

export const DEFAULT_HOST_IMAGE = "dinv/host:latest";

/**
 * The docker personality: a full Docker engine serving TLS on 2376 (the DinV host image,
 * docs/host-image.md). A manifest like any added personality's (docs/personalities.md).
 */
export const dockerManifest = {
  dinvPersonality: 1,
  name: "docker",
  description: "a Docker engine (the DinV host image)",
  image: DEFAULT_HOST_IMAGE,
  service: { port: HOST_TLS_PORT, protocol: "docker" },
  dataDir: ENGINE_DATA_DIR,
  nestedEngine: true,
  command: "engine-flags",
  files: [
    // Configuration first, certificates last (host-files.ts): the engine starts on the key.
    { path: "/etc/docker/daemon.json", mode: "0644", from: "daemon-json" },
    { path: "/etc/docker/dockerd.env", mode: "0600", from: "engine-env" },
  ],
  ready: { check: "docker-ping" },
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
