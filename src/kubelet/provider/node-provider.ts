/**
 * The node as the endpoint describes it: capacity from /info (a VCH reports MHz, converted at
 * 1 core per GHz by the engine layer; pods = --pods or memory / 2 GiB, the original provider's
 * minimum pod size), and nodeInfo naming the runtime.
 */
import { call, type EngineClient } from "../../engine/client.js";
import { profileFrom, type EngineInfo, type EngineVersion } from "../../engine/flavor.js";
import type { NodeDescription, NodeProvider } from "../provider-api.js";

export const MIN_POD_MEMORY = 2 * 2 ** 30;

export interface CapacityInput {
  cpus: number;
  memoryBytes: number;
  pods?: number;
}

export function capacityOf(input: CapacityInput): Record<string, string> {
  const pods = input.pods ?? Math.max(1, Math.floor(input.memoryBytes / MIN_POD_MEMORY));
  return {
    cpu: String(Math.max(1, input.cpus)),
    memory: `${Math.floor(input.memoryBytes / 1024)}Ki`,
    pods: String(pods),
  };
}

export function describeFrom(info: EngineInfo, version: EngineVersion, pods?: number): NodeDescription {
  const profile = profileFrom(info, version);
  const capacity = capacityOf({
    cpus: profile.cpus,
    memoryBytes: profile.memoryBytes,
    ...(pods ? { pods } : {}),
  });
  return {
    capacity,
    allocatable: { ...capacity },
    os: profile.os,
    arch: profile.arch,
    kernelVersion: info.KernelVersion ?? "",
    osImage: info.OperatingSystem ?? "",
    containerRuntimeVersion: `${profile.flavor}://${profile.version}`,
    flavor: profile.flavor,
    machineID: (info.ID ?? "").replace(/[^A-Za-z0-9-]/g, "").toLowerCase(),
  };
}

export class EngineNodeProvider implements NodeProvider {
  constructor(
    private readonly client: EngineClient,
    private readonly pods?: number,
  ) {}

  async ping(): Promise<void> {
    await call(this.client, () => this.client.docker.ping());
  }

  async describe(): Promise<NodeDescription> {
    const [info, version] = await call(this.client, () =>
      Promise.all([
        this.client.docker.info() as Promise<EngineInfo>,
        this.client.docker.version() as Promise<EngineVersion>,
      ]),
    );
    return describeFrom(info, version, this.pods);
  }
}
