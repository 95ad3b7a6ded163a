import type { EngineClient } from "./client.js";
import { call } from "./client.js";

export type Flavor = "docker" | "podman" | "vic";

/** What an endpoint of a given flavor can do; drives choices instead of special cases. */
export interface Capabilities {
  /** `Privileged: true` is meaningful and normally works (the kernel may still refuse it). */
  privileged: boolean;
  /** When privileged mode is refused, the explicit capability set (container-rights.ts) is a working substitute. */
  explicitCapabilitiesFallback: boolean;
  /** dockerd in a container needs elevated rights at all (a VIC container is its own VM). */
  nestedEngineNeedsPrivilege: boolean;
  /** `--network container:NAME` is supported. */
  containerNetworkMode: boolean;
  /** Volumes take a size through the `Capacity` driver option (VIC volume stores). */
  volumeCapacityOption: boolean;
  /** `--ip` on user-defined networks. */
  staticIpOnUserNetworks: boolean;
  /** `docker build` (VIC has none). */
  build: boolean;
  /** The unit /info reports NCPU in. */
  cpuUnit: "cores" | "MHz";
  /**
   * The engine's default rlimits may exceed what the host allows, so a plain start can fail
   * ("error setting rlimit"): rootful Podman gives every container nofile=1048576 and
   * nproc=4194304 whatever the host's hard limits (Docker Engine passes on dockerd's own,
   * which fit by construction). dinv then probes and sets per-container Ulimits that fit.
   */
  defaultUlimitsMayExceedHost: boolean;
  /** The engine applies `HostConfig.RestartPolicy` (VIC echoes it and never restarts: vmware/vic#4033). */
  restartPolicies: boolean;
  /** Memory-backed volumes (the local driver's tmpfs type, `Tmpfs`); a VIC volume is always a disk. */
  tmpfsVolumes: boolean;
  /** One volume used by several running containers (a VIC VMDK volume attaches to one VM at a time). */
  sharedVolumes: boolean;
  /** `NetworkMode: host` (VIC has no such scope). */
  hostNetwork: boolean;
  /**
   * What stats' `cpu_stats.cpu_usage.total_usage` counts: cumulative CPU nanoseconds (cgroups),
   * or VIC's MHz figure (previous sample's MHz plus this one's per-vCPU average; stats.go).
   */
  statsCpuUnit: "nanoseconds" | "MHz";
  /** Volumes come from named volume stores the endpoint lists in /info (VIC's VolumeStores row). */
  volumeStores: boolean;
  /** Images arrive only by pull from a registry (a VCH has no load, import or build). */
  pullOnly: boolean;
  /**
   * A container's security settings are applied: `CapAdd`/`CapDrop`, `SecurityOpt` (seccomp,
   * no-new-privileges), `ReadonlyRootfs`, `Sysctls`, `GroupAdd` (VIC passes none of them to its
   * port layer: each container is a VM; docs/vic.md).
   */
  containerSecurity: boolean;
}

const CAPABILITIES: Record<Flavor, Capabilities> = {
  docker: {
    privileged: true,
    explicitCapabilitiesFallback: true,
    nestedEngineNeedsPrivilege: true,
    containerNetworkMode: true,
    volumeCapacityOption: false,
    staticIpOnUserNetworks: true,
    build: true,
    cpuUnit: "cores",
    defaultUlimitsMayExceedHost: false,
    restartPolicies: true,
    tmpfsVolumes: true,
    sharedVolumes: true,
    hostNetwork: true,
    statsCpuUnit: "nanoseconds",
    volumeStores: false,
    pullOnly: false,
    containerSecurity: true,
  },
  podman: {
    privileged: true,
    explicitCapabilitiesFallback: true,
    nestedEngineNeedsPrivilege: true,
    containerNetworkMode: true,
    volumeCapacityOption: false,
    staticIpOnUserNetworks: true,
    build: true,
    cpuUnit: "cores",
    defaultUlimitsMayExceedHost: true,
    restartPolicies: true,
    tmpfsVolumes: true,
    sharedVolumes: true,
    hostNetwork: true,
    statsCpuUnit: "nanoseconds",
    volumeStores: false,
    pullOnly: false,
    containerSecurity: true,
  },
  vic: {
    privileged: false,
    explicitCapabilitiesFallback: false,
    nestedEngineNeedsPrivilege: false,
    containerNetworkMode: false,
    volumeCapacityOption: true,
    staticIpOnUserNetworks: true,
    build: false,
    cpuUnit: "MHz",
    defaultUlimitsMayExceedHost: false,
    restartPolicies: false,
    tmpfsVolumes: false,
    sharedVolumes: false,
    hostNetwork: false,
    statsCpuUnit: "MHz",
    volumeStores: true,
    pullOnly: true,
    containerSecurity: false,
  },
};

export function capabilitiesOf(flavor: Flavor): Capabilities {
  return { ...CAPABILITIES[flavor] };
}

/** The fields of /info and /version that detection reads (all optional: engines differ). */
export interface EngineInfo {
  ID?: string;
  Driver?: string;
  NCPU?: number;
  MemTotal?: number;
  ServerVersion?: string;
  OperatingSystem?: string;
  DockerRootDir?: string;
  KernelVersion?: string;
  Name?: string;
  /** Only Podman reports it (the Buildah library it builds with). */
  BuildahVersion?: string;
  /** Name/value rows; a VCH lists its volume stores, limits and usage here. */
  SystemStatus?: Array<[string, string]> | null;
}
export interface EngineVersion {
  Version?: string;
  ApiVersion?: string;
  Os?: string;
  Arch?: string;
  Platform?: { Name?: string };
  Components?: Array<{ Name?: string; Version?: string }>;
}

const VIC_ID = "vSphere Integrated Containers";

export function detectFlavor(info: EngineInfo, version: EngineVersion = {}): Flavor {
  if (info.ID === VIC_ID || (info.Driver ?? "").startsWith(VIC_ID)) return "vic";
  const components = version.Components ?? [];
  if (
    components.some((c) => /podman/i.test(c.Name ?? "")) ||
    /podman/i.test(version.Platform?.Name ?? "") ||
    // /info alone (version omitted) still tells Podman apart.
    typeof info.BuildahVersion === "string"
  ) {
    return "podman";
  }
  return "docker";
}

/** A detected endpoint: flavor, capabilities and the figures later layers need. */
export interface EngineProfile {
  flavor: Flavor;
  capabilities: Capabilities;
  /** Engine version as the user knows it (VIC: the VIC version from Driver). */
  version: string;
  apiVersion: string;
  /** CPUs in cores (VIC MHz converted at 1 core per GHz, at least 1). */
  cpus: number;
  memoryBytes: number;
  os: string;
  arch: string;
  /** The volume stores a VCH offers (its /info "VolumeStores" row); undefined elsewhere. */
  volumeStores?: string[];
}

export function profileFrom(info: EngineInfo, version: EngineVersion): EngineProfile {
  const flavor = detectFlavor(info, version);
  const capabilities = capabilitiesOf(flavor);
  const ncpu = info.NCPU ?? 0;
  const cpus = capabilities.cpuUnit === "MHz" ? Math.max(1, Math.floor(ncpu / 1000)) : ncpu;
  let engineVersion = version.Version ?? info.ServerVersion ?? "unknown";
  if (flavor === "vic") {
    engineVersion = /Containers\s+(\S+)\s+Backend/.exec(info.Driver ?? "")?.[1] ?? engineVersion;
  } else if (flavor === "podman") {
    engineVersion = version.Components?.find((c) => /podman/i.test(c.Name ?? ""))?.Version ?? engineVersion;
  }
  return {
    flavor,
    capabilities,
    version: engineVersion,
    apiVersion: version.ApiVersion ?? "",
    cpus,
    memoryBytes: info.MemTotal ?? 0,
    os: version.Os ?? "linux",
    arch: version.Arch ?? "amd64",
    ...(capabilities.volumeStores ? { volumeStores: volumeStoresOf(info) } : {}),
  };
}

/** backends/system.go: the first SystemStatus row, "VolumeStores", holds the names separated by spaces. */
function volumeStoresOf(info: EngineInfo): string[] {
  const row = (info.SystemStatus ?? []).find(([key]) => key === "VolumeStores");
  return (row?.[1] ?? "").split(" ").filter(Boolean);
}

/** Ask the endpoint who it is. */
export async function detectEngine(client: EngineClient): Promise<EngineProfile> {
  const [info, version] = await call(client, () =>
    Promise.all([
      client.docker.info() as Promise<EngineInfo>,
      client.docker.version() as Promise<EngineVersion>,
    ]),
  );
  return profileFrom(info, version);
}
