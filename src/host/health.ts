/**
 * Honest health of a host's own engine (`dinv status -v`, `ls --format '{{.StorageDriver}}'`):
 * the storage driver in use and why (a fallback to vfs is said with its cause), how the
 * container got the rights a nested engine needs, whether cgroup limits work inside, and the
 * engine's own warnings — each with the reason (docker-library/docker#193, #296).
 */
import { engineHttp } from "../engine/http-client.js";
import { hostEngineEndpoint, hostPlatformEndpoint } from "../engine/host-endpoints.js";
import type { HostConfig } from "../store/host-config.js";
import { hostState, type HostFiles } from "./state.js";

/** The parts of the engine's /info this reads. */
export interface EngineInfo {
  Driver?: string;
  DriverStatus?: Array<[string, string]>;
  Warnings?: string[] | null;
  CgroupVersion?: string;
  CgroupDriver?: string;
  MemoryLimit?: boolean;
  CpuCfsQuota?: boolean;
  PidsLimit?: boolean;
  SecurityOptions?: string[];
}

export interface HostHealth {
  storageDriver: string;
  /** Why that driver: its backing filesystem, or the cause of a fallback to vfs. */
  storageReason: string;
  /** True when dockerd fell back to vfs (every layer copied whole: slow, and the cache fills fast). */
  storageFallback: boolean;
  privilege: string;
  privilegeReason: string;
  /** "v2 (cgroupfs driver, private namespace): memory, cpu and pids limits work" or what does not. */
  cgroups: string;
  /** The engine's own warnings (/info Warnings), in its words: each names its cause. */
  warnings: string[];
}

/** Where the host's container has its /var/lib/docker, and what dockerd said about its storage. */
export interface StorageEvidence {
  /** The volume mounted at the engine's data dir (undefined: none, the container's own filesystem). */
  cacheVolume?: string;
  /** dockerd's log lines about its storage driver (graphdriver, overlay), newest last. */
  logLines: string[];
}

export function describeHealth(
  config: HostConfig,
  info: EngineInfo,
  storage: StorageEvidence | undefined,
): HostHealth {
  return {
    ...describeStorage(config, info, storage),
    privilege: config.container.privilege,
    privilegeReason: privilegeReason(config),
    cgroups: describeCgroups(config, info),
    warnings: (info.Warnings ?? []).map((w) => w.replace(/^WARNING:\s*/, "")),
  };
}

function describeStorage(
  config: HostConfig,
  info: EngineInfo,
  storage: StorageEvidence | undefined,
): Pick<HostHealth, "storageDriver" | "storageReason" | "storageFallback"> {
  const driver = info.Driver ?? "";
  const status = new Map(info.DriverStatus ?? []);
  const asked = (config.engineOptions.daemon as Record<string, unknown>)["storage-driver"];
  if (driver !== "vfs") {
    const backing = status.get("Backing Filesystem");
    const why = asked === driver ? `asked for with --engine-storage-driver` : "dockerd's choice";
    return {
      storageDriver: driver,
      storageReason: backing ? `${why}, on ${backing}` : why,
      storageFallback: false,
    };
  }
  if (asked === "vfs")
    return {
      storageDriver: driver,
      storageReason: "asked for with --engine-storage-driver",
      storageFallback: false,
    };
  let reason: string;
  if (config.engine.flavor === "vic") reason = "the cache disk's filesystem does not carry overlay2";
  else if (storage && !storage.cacheVolume)
    reason =
      "no volume is mounted at /var/lib/docker, and overlay2 cannot stack on the container's own overlay filesystem";
  else if (storage?.logLines.length)
    reason = `dockerd said: ${storage.logLines[storage.logLines.length - 1]}`;
  else reason = "overlay2 did not work on the cache volume (see `dinv logs " + config.name + "`)";
  return {
    storageDriver: driver,
    storageReason: `fallback to vfs (every layer copied whole: slow, and the cache fills fast): ${reason}`,
    storageFallback: true,
  };
}

export function privilegeReason(config: HostConfig): string {
  if (config.adopted)
    return config.container.privilege === "none"
      ? "adopted: its container was made without --privileged or added capabilities"
      : `adopted: its container was made with ${config.container.privilege === "privileged" ? "--privileged" : "every capability added"}`;
  switch (config.container.privilege) {
    case "privileged":
      return "the endpoint allows --privileged, which a nested dockerd needs";
    case "explicit":
      return "the endpoint refused --privileged at create's probe; the same rights are granted one by one (every capability but SYS_RESOURCE, unconfined seccomp and system paths, every device, a private cgroup namespace)";
    case "none":
      return config.engine.flavor === "vic"
        ? "a VCH runs each container as its own VM: its dockerd needs no privilege"
        : `the ${config.personality} personality runs no nested engine`;
  }
}

function describeCgroups(config: HostConfig, info: EngineInfo): string {
  const version = info.CgroupVersion ? `v${info.CgroupVersion}` : "version unknown";
  const namespace = (info.SecurityOptions ?? []).some((o) => o.includes("cgroupns"))
    ? ", private namespace"
    : "";
  const head = `${version} (${info.CgroupDriver || "no"} driver${namespace})`;
  const limits: Array<[string, boolean | undefined]> = [
    ["memory", info.MemoryLimit],
    ["cpu", info.CpuCfsQuota],
    ["pids", info.PidsLimit],
  ];
  const missing = limits.filter(([, ok]) => ok === false).map(([name]) => name);
  if (missing.length === 0) return `${head}: memory, cpu and pids limits work in the host's containers`;
  const cause =
    config.engine.flavor === "vic"
      ? "the containerVM's kernel does not offer them"
      : "those controllers are not delegated to the host's container by its endpoint";
  return `${head}: no ${missing.join(", ")} limits for the host's containers (${cause})`;
}

/**
 * The health of a host whose engine answers now; undefined when it is stopped, is no engine
 * (a registry cache), or does not answer in time (`inspect` shows what it can without it).
 */
export async function healthIfAnswering(
  host: HostFiles,
  timeoutMs = 10_000,
): Promise<HostHealth | undefined> {
  if (host.config.personality !== "docker") return undefined;
  try {
    if ((await hostState(host, timeoutMs)).state !== "Running") return undefined;
    return await hostHealth(host, timeoutMs);
  } catch {
    return undefined;
  }
}

/** Read a running host's engine /info and, when it fell back to vfs, the evidence of why. */
export async function hostHealth(host: HostFiles, timeoutMs = 10_000): Promise<HostHealth> {
  const inner = engineHttp(hostEngineEndpoint(host.config, host.dir), { timeoutMs });
  const info = await inner.get<EngineInfo>("/info");
  const fellBack = info.Driver === "vfs";
  return describeHealth(host.config, info, fellBack ? await storageEvidence(host, timeoutMs) : undefined);
}

const STORAGE_LOG = /graphdriver|overlay|storage-driver/i;

async function storageEvidence(host: HostFiles, timeoutMs: number): Promise<StorageEvidence> {
  const platform = engineHttp(hostPlatformEndpoint(host.config, host.dir), { timeoutMs });
  const name = encodeURIComponent(host.config.container.name);
  const inspect = await platform.get<{ Mounts?: Array<{ Name?: string; Destination?: string }> }>(
    `/containers/${name}/json`,
  );
  const cacheVolume = inspect.Mounts?.find((m) => m.Destination === "/var/lib/docker")?.Name;
  let logLines: string[] = [];
  try {
    const [{ logTailLines }, { connect }, { DockerDriver }] = await Promise.all([
      import("./provision.js"),
      import("../engine/client.js"),
      import("../drivers/docker.js"),
    ]);
    const client = connect(hostPlatformEndpoint(host.config, host.dir), { timeoutMs });
    const driver = new DockerDriver(client, {
      container: host.config.container.name,
      ...(host.config.container.volume ? { volume: host.config.container.volume } : {}),
    });
    logLines = (await logTailLines(driver, 400)).filter(
      (l) => STORAGE_LOG.test(l) && /level=(error|warn)/.test(l),
    );
  } catch {
    // The reason falls back to the mount and the flavor.
  }
  return { ...(cacheVolume ? { cacheVolume } : {}), logLines };
}
