/**
 * Hosts and their registry cache: `create --personality registry-cache [--upstream URL]`
 * and `create --registry-cache CACHE`. A host reaches its cache over a user-defined
 * network that dinv creates and labels on the endpoint (container-name DNS), as
 * https://dinv-CACHE:5000; the cache's server certificate carries that name. The host's
 * config records the cache (registryCache) so its mirror and trust are written again by
 * upgrade and regenerate-certs.
 */
import { call, type EngineClient } from "../engine/client.js";
import { LABEL_ROLE } from "../drivers/docker.js";
import { DinvError } from "../errors.js";
import { REGISTRY_PORT, UPSTREAM_ENV } from "../personalities/registry-cache/personality.js";
import type { HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { validateHostName } from "../store/names.js";
import { HOST_FILES } from "../store/paths.js";
import {
  privateFile,
  publicFile,
  readPublicFile,
  writeFilesAtomically,
  writePublicFile,
} from "../store/secure-fs.js";
import { silentProgress, type Progress } from "./progress.js";

/** The network hosts and their caches share on an endpoint. */
export const CACHE_NETWORK = "dinv";
export const CACHE_NETWORK_LABELS: Record<string, string> = {
  [LABEL_ROLE]: "network",
  "io.dinv.network": "registry-cache",
};

export class RegistryCacheError extends DinvError {}

export interface RegistryCacheOptions {
  personality: string;
  /** For a registry-cache: the registry it pulls through (none: a plain registry). */
  upstream?: string;
  /** For a docker host: the dinv registry cache to use as its mirror. */
  registryCache?: string;
  /** For a registry-cache: require client certificates (the default) or serve anyone who reaches it. */
  registryAuth?: RegistryAuth;
}

export type RegistryAuth = "client-cert" | "none";

/**
 * What create does for a cache or a host using one: adjust the config. Joining the cache
 * network happens wherever a container is made (createMachineContainer), so upgrade keeps it.
 */
export interface RegistryCacheLink {
  prepare(config: HostConfig, client: EngineClient, progress: Progress): Promise<HostConfig>;
}

/** Check the options up front; undefined when neither a cache nor a cache user is created. */
export function registryCacheLink(
  store: HostStore,
  options: RegistryCacheOptions,
): RegistryCacheLink | undefined {
  const isCache = options.personality === "registry-cache";
  if (options.upstream !== undefined && !isCache) {
    throw new RegistryCacheError("--upstream is for --personality registry-cache");
  }
  if (options.registryAuth !== undefined && !isCache) {
    throw new RegistryCacheError("--registry-auth is for --personality registry-cache");
  }
  if (isCache) {
    if (options.registryCache !== undefined) {
      throw new RegistryCacheError("a registry cache does not use another cache as its mirror", {
        hint: `make it pull through that one instead: --upstream https://dinv-${options.registryCache}:${REGISTRY_PORT}`,
      });
    }
    const upstream = options.upstream === undefined ? undefined : upstreamUrl(options.upstream);
    if (upstream !== undefined) refuseAuthenticatedUpstream(store, upstream);
    const auth = options.registryAuth ?? "client-cert";
    return {
      prepare: async (config, client, progress) => {
        const prepared = await prepareCache(config, client, progress, upstream);
        return auth === "client-cert" ? requireClientCertificates(store, prepared) : prepared;
      },
    };
  }
  if (options.registryCache === undefined) return undefined;
  validateHostName(options.registryCache);
  if (!store.exists(options.registryCache)) {
    throw new RegistryCacheError(`registry cache "${options.registryCache}" does not exist`, {
      hint: `create it with \`dinv create --personality registry-cache ${options.registryCache}\``,
    });
  }
  const cache = store.load(options.registryCache);
  if (cache.personality !== "registry-cache") {
    throw new RegistryCacheError(
      `"${cache.name}" is not a registry cache (its personality is ${cache.personality})`,
      {
        hint: "give the name of a host created with --personality registry-cache",
      },
    );
  }
  return {
    prepare: async (config, client, progress) =>
      issueRegistryClientPair(store, await prepareCacheUser(config, client, progress, cache), cache),
  };
}

/** --upstream: an http(s) URL without credentials, query or fragment. */
export function upstreamUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RegistryCacheError(`--upstream "${value}" is not a URL`, {
      hint: "e.g. https://registry-1.docker.io or https://dinv-upstream:5000",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RegistryCacheError(`--upstream "${value}" must be http:// or https://`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new RegistryCacheError(`--upstream "${value}" must be a plain registry URL`, {
      hint: "pass credentials as --engine-env REGISTRY_PROXY_USERNAME=… and REGISTRY_PROXY_PASSWORD=…",
    });
  }
  return value.replace(/\/+$/, "");
}

/**
 * distribution's proxy presents no client certificate to its upstream, so a dinv cache
 * that asks for one cannot be another cache's upstream.
 */
function refuseAuthenticatedUpstream(store: HostStore, upstream: string): void {
  const host = new RegExp(`^https://dinv-([^:/]+):${REGISTRY_PORT}$`).exec(upstream)?.[1];
  if (host === undefined || !store.exists(host)) return;
  const upstreamCache = store.load(host);
  if (upstreamCache.personality === "registry-cache" && upstreamCache.registryAuth) {
    throw new RegistryCacheError(
      `registry cache "${host}" requires client certificates, which a pull-through cache cannot present`,
      { hint: `create "${host}" with --registry-auth none to make it another cache's upstream` },
    );
  }
}

/** The cache serves only clients with a certificate from the store's CA or the registry-client CA. */
async function requireClientCertificates(store: HostStore, config: HostConfig): Promise<HostConfig> {
  const ca = await store.registryClientCa();
  await writePublicFile(store.hostFile(config.name, HOST_FILES.registryClientsCa), ca.certPem);
  return { ...config, registryAuth: { clientCa: HOST_FILES.registryClientsCa } };
}

/** A host using a cache that asks for client certificates gets its own pair from the registry-client CA. */
async function issueRegistryClientPair(
  store: HostStore,
  config: HostConfig,
  cache: HostConfig,
): Promise<HostConfig> {
  if (!config.registryCache || !cache.registryAuth) return config;
  const ca = await store.registryClientCa();
  const trusted = readPublicFile(store.hostFile(cache.name, cache.registryAuth.clientCa));
  if (trusted.trim() !== ca.certPem.trim()) {
    throw new RegistryCacheError(
      `registry cache "${cache.name}" trusts another store's registry-client CA (it was imported)`,
      {
        hint: `export it from its first store with --with-ca and import that, or create the cache anew here`,
      },
    );
  }
  const { issueClientCertificate } = await import("../pki/certificates.js");
  const pair = await issueClientCertificate(ca, {
    organization: `dinv registry client ${config.name}`,
  });
  await writeFilesAtomically([
    publicFile(store.hostFile(config.name, HOST_FILES.registryClientCert), pair.certPem),
    privateFile(store.hostFile(config.name, HOST_FILES.registryClientKey), pair.keyPem),
  ]);
  return {
    ...config,
    registryCache: {
      ...config.registryCache,
      clientCert: HOST_FILES.registryClientCert,
      clientKey: HOST_FILES.registryClientKey,
    },
  };
}

async function prepareCache(
  config: HostConfig,
  client: EngineClient,
  progress: Progress,
  upstream: string | undefined,
): Promise<HostConfig> {
  const { daemon, flags, env } = config.engineOptions;
  if (Object.keys(daemon).length > 0 || flags.length > 0) {
    throw new RegistryCacheError("a registry cache runs no Docker engine: only --engine-env applies to it", {
      hint: "registry settings go in as --engine-env REGISTRY_…=… (distribution's configuration overrides)",
    });
  }
  if (upstream !== undefined && env[UPSTREAM_ENV] !== undefined && env[UPSTREAM_ENV] !== upstream) {
    throw new RegistryCacheError(`--upstream and --engine-env ${UPSTREAM_ENV} disagree`);
  }
  const cacheName = config.container.name;
  const next: HostConfig = {
    ...config,
    engineOptions: {
      ...config.engineOptions,
      env: { ...env, ...(upstream ? { [UPSTREAM_ENV]: upstream } : {}) },
    },
    // Hosts reach it by its container name on the cache network: the certificate must say so.
    tls: { ...config.tls, extraSans: [...new Set([...config.tls.extraSans, cacheName])] },
  };
  await ensureCacheNetwork(client, progress);
  return next;
}

async function prepareCacheUser(
  config: HostConfig,
  client: EngineClient,
  progress: Progress,
  cache: HostConfig,
): Promise<HostConfig> {
  if (cache.endpoint.url !== config.endpoint.url) {
    throw new RegistryCacheError(
      `registry cache "${cache.name}" lives on ${cache.endpoint.url}, not on ${config.endpoint.url}`,
      { hint: "a host reaches its cache over a container network: create both on the same endpoint" },
    );
  }
  await ensureCacheNetwork(client, progress);
  // The cache joined the network when it was created; join it again if it was lost
  // (network removed and recreated, container recreated by an upgrade).
  const container = await call(client, () =>
    client.docker.getContainer(cache.container.name).inspect(),
  ).catch((err: unknown) => {
    throw new RegistryCacheError(`the container of registry cache "${cache.name}" is missing`, {
      cause: err,
      hint: `remove the cache with \`dinv rm -f ${cache.name}\` and create it again`,
    });
  });
  if (!container.NetworkSettings.Networks?.[CACHE_NETWORK]) {
    progress.step(`connecting ${cache.container.name} to network ${CACHE_NETWORK}`);
    await connect(client, container.Id);
    progress.done();
  }
  if (!container.State.Running) {
    progress.warn(`registry cache "${cache.name}" is not running: pulls skip it until it runs`);
  }
  const registry = `${cache.container.name}:${REGISTRY_PORT}`;
  return { ...config, registryCache: { host: cache.name, url: `https://${registry}`, registry } };
}

/**
 * Connect a new container of a registry cache, or of a host using one, to the cache network
 * (nothing for other hosts). createMachineContainer calls it, for create and upgrade alike.
 */
export async function joinCacheNetwork(
  config: HostConfig,
  client: EngineClient,
  containerId: string,
): Promise<void> {
  if (config.personality !== "registry-cache" && !config.registryCache) return;
  if (config.network.mode === "network" && config.network.name === CACHE_NETWORK) return;
  await ensureCacheNetwork(client, silentProgress);
  await connect(client, containerId).catch(async (err: unknown) => {
    // A concurrent `rm` of the last host on it removed the network meanwhile: make it again, once.
    if (statusOf(err) !== 404) throw err;
    await ensureCacheNetwork(client, silentProgress);
    await connect(client, containerId);
  });
}

/**
 * After a registry cache or a host using one is removed: remove the cache network when dinv
 * made it and no container is left on it. Best effort: a container joining meanwhile wins (409).
 */
export async function removeCacheNetworkIfUnused(config: HostConfig, client: EngineClient): Promise<void> {
  if (config.personality !== "registry-cache" && !config.registryCache) return;
  const network = client.docker.getNetwork(CACHE_NETWORK);
  const info = (await call(client, () => network.inspect()).catch(() => undefined)) as
    { Labels?: Record<string, string>; Containers?: Record<string, unknown> } | undefined;
  if (!info || info.Labels?.["io.dinv.network"] !== CACHE_NETWORK_LABELS["io.dinv.network"]) return;
  if (Object.keys(info.Containers ?? {}).length > 0) return;
  await call(client, () => network.remove()).catch(() => undefined);
}

function connect(client: EngineClient, containerId: string): Promise<void> {
  return call(client, () =>
    client.docker.getNetwork(CACHE_NETWORK).connect({ Container: containerId }),
  ) as Promise<void>;
}

/** The cache network, created (and labelled) when missing; one with that name not made by dinv is refused. */
export async function ensureCacheNetwork(client: EngineClient, progress: Progress): Promise<void> {
  const inspect = () =>
    call(
      client,
      () => client.docker.getNetwork(CACHE_NETWORK).inspect() as Promise<{ Labels?: Record<string, string> }>,
    );
  let network = await inspect().catch((err: unknown) => {
    if (statusOf(err) === 404) return undefined;
    throw err;
  });
  if (!network) {
    progress.step(`creating network ${CACHE_NETWORK}`);
    try {
      await call(client, () =>
        client.docker.createNetwork({
          Name: CACHE_NETWORK,
          Driver: "bridge",
          CheckDuplicate: true,
          Labels: CACHE_NETWORK_LABELS,
        }),
      );
    } catch (err) {
      // Created meanwhile by another dinv: fine, the check below decides.
      if (statusOf(err) !== 409) throw err;
    }
    progress.done();
    network = await inspect();
  }
  if (network.Labels?.["io.dinv.network"] !== CACHE_NETWORK_LABELS["io.dinv.network"]) {
    throw new RegistryCacheError(
      `a network named ${CACHE_NETWORK} exists on ${client.endpoint.url} and was not made by dinv`,
      { hint: `dinv puts hosts and their registry caches on it; rename or remove that network` },
    );
  }
}

function statusOf(err: unknown): number | undefined {
  const cause = err instanceof DinvError ? (err.cause as { statusCode?: number } | undefined) : undefined;
  return cause?.statusCode ?? (err as { statusCode?: number }).statusCode;
}
