import { connect, type EngineClient } from "../engine/client.js";
import { DockerDriver } from "../drivers/docker.js";
import type { HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { hostEngineEndpoint, hostPlatformEndpoint } from "../engine/host-endpoints.js";

/** A stored host with its driver on its endpoint. */
export interface OpenHost {
  config: HostConfig;
  dir: string;
  client: EngineClient;
  driver: DockerDriver;
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
    driver: new DockerDriver(client, { container: config.container.name, volume: config.container.volume }),
  };
}

/** A client for the host's own Docker engine, verified with the host's certificates. */
export function innerClient(host: Pick<OpenHost, "config" | "dir">, timeoutMs = 10_000): EngineClient {
  return connect(hostEngineEndpoint(host.config, host.dir), { timeoutMs });
}
