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
 * A manifest like any added personality's (docs/personalities.md); linking hosts to a cache
 * is host/registry-cache.ts's work.
 */
export const registryCacheManifest = {
  dinvPersonality: 1,
  name: "registry-cache",
  description: "a registry, pull-through cache of --upstream (create --registry-cache NAME uses it)",
  image: DEFAULT_REGISTRY_CACHE_IMAGE,
  service: { port: REGISTRY_PORT, protocol: "https" },
  dataDir: REGISTRY_DATA_DIR,
  nestedEngine: false,
  files: [{ path: REGISTRY_ENV_FILE, mode: "0600", from: "engine-env" }],
  ready: { check: "https", path: "/v2/", status: [200, 401] },
};
