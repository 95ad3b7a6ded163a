import { connect, type EngineClient } from "../engine/client.js";
import { DockerDriver } from "../drivers/docker.js";
import type { HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { hostEngineEndpoint, hostPlatformEndpoint } from "../engine/host-endpoints.js";
import { DinvError } from "../errors.js";
import type { Personality } from "../personalities/personality.js";

/** A stored host with its driver on its endpoint. */
export interface OpenHost {
  config: HostConfig;
  dir: string;
  client: EngineClient;
  driver: DockerDriver;
  /** The store's root, where added personalities are found. */
  storeRoot: string;
}

export function openHost(store: HostStore, name: string, timeoutMs = 30_000): OpenHost {
  const config = store.load(name);
  return openConfig(store, config, timeoutMs);
}

export function openConfig(store: HostStore, config: HostConfig, timeoutMs = 30_000): OpenHost {
  const dir = store.hostDir(config.name);
  const client = connect(hostPlatformEndpoint(config, dir), { timeoutMs });
  return {
    config,
    dir,
    client,
    driver: new DockerDriver(client, {
      container: config.container.name,
      ...(config.container.volume ? { volume: config.container.volume } : {}),
    }),
    storeRoot: store.layout.root,
  };
}

/** A client for the host's own Docker engine, verified with the host's certificates. */
export function innerClient(host: Pick<OpenHost, "config" | "dir">, timeoutMs = 10_000): EngineClient {
  return connect(hostEngineEndpoint(host.config, host.dir), { timeoutMs });
}

/**
 * The personality a stored host runs. One that was removed from the store is named with the
 * way out: add it again, or remove the host (`dinv rm` needs no personality).
 */
export async function hostPersonality(host: Pick<OpenHost, "config" | "storeRoot">): Promise<Personality> {
  const { personality, name } = host.config;
  // Loaded here, not above: short commands open hosts without needing their personality.
  const { findPersonality, personalityNamed } = await import("../personalities/index.js");
  try {
    findPersonality(personality, host.storeRoot);
  } catch {
    throw new DinvError(`host "${name}" runs personality "${personality}", which is not in this store`, {
      hint: `add it again with \`dinv personality add FOLDER|PACKAGE\`, or remove the host with \`dinv rm ${name}\``,
    });
  }
  return personalityNamed(personality, host.storeRoot);
}
