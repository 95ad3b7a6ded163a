import type Dockerode from "dockerode";

/**
 * How a container running a nested engine gets the rights it needs on an endpoint:
 * - privileged: `--privileged` (normal Docker Engine / Podman hosts)
 * - explicit: the equivalent capability set where `--privileged` is refused (EXPLICIT_PRIVILEGE)
 * - none: the endpoint isolates containers as VMs (VIC), nothing extra needed
 */
export type PrivilegeMode = "privileged" | "explicit" | "none";

/**
 * Per-container limits where the engine's defaults do not fit the host (privilege.ts).
 * Both are always set together: on Podman a per-container Ulimits list replaces the engine's
 * defaults, and a limit left out falls back to Podman's own (too high) value.
 */
export interface ContainerUlimits {
  nofile: number;
  nproc: number;
}

/** HostConfig as the API takes it (API 1.40+ fields the typings lack). */
export type HostConfig = Dockerode.HostConfig & { CgroupnsMode?: "private" | "host" };

export function ulimitsHostConfig(ulimits: ContainerUlimits | undefined): HostConfig {
  if (!ulimits) return {};
  return {
    Ulimits: [
      { Name: "nofile", Soft: ulimits.nofile, Hard: ulimits.nofile },
      { Name: "nproc", Soft: ulimits.nproc, Hard: ulimits.nproc },
    ],
  };
}

/**
 * Host config fields equivalent to --privileged where it is refused: every capability but
 * CAP_SYS_RESOURCE (the one such hosts lack), no seccomp or masked paths, all devices, and a
 * private cgroup namespace for the nested engine (docs/architecture.md, "Privilege").
 */
export const EXPLICIT_PRIVILEGE: HostConfig = {
  CapAdd: ["ALL"],
  CapDrop: ["SYS_RESOURCE"],
  SecurityOpt: ["seccomp=unconfined"],
  // The docker CLI's "--security-opt systempaths=unconfined" is these two, client side.
  MaskedPaths: [],
  ReadonlyPaths: [],
  DeviceCgroupRules: ["a *:* rwm"],
  CgroupnsMode: "private",
};

export function privilegeHostConfig(mode: PrivilegeMode): HostConfig {
  switch (mode) {
    case "privileged":
      return { Privileged: true };
    case "explicit":
      return { ...EXPLICIT_PRIVILEGE };
    case "none":
      return {};
  }
}
