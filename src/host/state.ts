/**
 * A host's container state and its engine's version through the plain engine client
 * (http-client.ts): what the prompt-path commands (env, config, url, status, version NAME)
 * need, without loading dockerode.
 */
import type Dockerode from "dockerode";
import { machineStateOf } from "../drivers/docker.js";
import type { MachineState } from "../drivers/driver.js";
import { engineHttp } from "../engine/http-client.js";
import { DinvError } from "../errors.js";
import type { HostConfig } from "../store/host-config.js";
import { hostEngineEndpoint, hostPlatformEndpoint } from "../engine/host-endpoints.js";

/** A stored host: its config and its folder. */
export interface HostFiles {
  config: HostConfig;
  dir: string;
}

export class HostNotRunningError extends DinvError {
  constructor(name: string, state?: string) {
    super("Host is not running", {
      hint: `"${name}" is ${state ?? "not running"}; start it with \`dinv start ${name}\``,
    });
  }
}

type ContainerInspect = Pick<Dockerode.ContainerInspectInfo, "State" | "NetworkSettings">;

/** The host container's state on its endpoint (one inspect call). */
export async function hostState(host: HostFiles, timeoutMs = 10_000): Promise<MachineState> {
  const client = engineHttp(hostPlatformEndpoint(host.config, host.dir), { timeoutMs });
  const container = host.config.container.name;
  try {
    const info = await client.get<ContainerInspect>(`/containers/${encodeURIComponent(container)}/json`);
    return machineStateOf(info.State?.Status, info.State?.Restarting, info.NetworkSettings?.Ports);
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    return { state: "Error", error: `container ${container} is missing on ${client.endpoint.url}` };
  }
}

/** The host must be running (for url, env, config, version NAME, exec). */
export async function requireRunning(host: HostFiles, timeoutMs = 10_000): Promise<void> {
  const { state } = await hostState(host, timeoutMs);
  if (state !== "Running") throw new HostNotRunningError(host.config.name, state);
}

/** The version of the host's own engine (undefined if it does not say), verified with the host's certificates. */
export async function hostEngineVersion(host: HostFiles, timeoutMs = 10_000): Promise<string | undefined> {
  const client = engineHttp(hostEngineEndpoint(host.config, host.dir), { timeoutMs });
  const fromPing = /^Docker\/(\S+)/.exec((await client.pingServer()) ?? "")?.[1];
  if (fromPing) return fromPing;
  const version = await client.get<{ Version?: string } | undefined>("/version");
  return version?.Version;
}

function statusOf(err: unknown): number | undefined {
  return ((err as { cause?: { statusCode?: number } })?.cause ?? (err as { statusCode?: number }))
    ?.statusCode;
}
