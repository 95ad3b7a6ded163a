import type Dockerode from "dockerode";
import {
  privilegeHostConfig,
  ulimitsHostConfig,
  type ContainerUlimits,
  type HostConfig,
  type PrivilegeMode,
} from "../../engine/container-rights.js";

/** Port dockerd serves TLS on inside the host container (image contract). */
export const HOST_TLS_PORT = 2376;
/** Where the image cache volume is mounted (image contract). */
export const ENGINE_DATA_DIR = "/var/lib/docker";

export interface HostContainerSpec {
  /** Container name on the endpoint. */
  containerName: string;
  image: string;
  /** Named volume holding the inner engine's data (the image cache). */
  volumeName: string;
  privilege: PrivilegeMode;
  /** Limits to set instead of the engine's defaults (none: the engine's). */
  ulimits?: ContainerUlimits;
  /** Publish the TLS port on this address of the endpoint; HostPort empty = any free port. */
  publish?: { hostIp: string; hostPort?: number };
  labels: Record<string, string>;
  env?: string[];
  /** Restart policy; hosts use unless-stopped so they come back with the engine. */
  restartPolicy?: "no" | "unless-stopped" | "always";
  /** The TLS port inside the container (default: dockerd's 2376). */
  servicePort?: number;
  /** Where the persistent volume mounts (default: /var/lib/docker). */
  dataDir?: string;
  /** Arguments for the image's entrypoint (the docker personality passes them to dockerd). */
  cmd?: string[];
  /** Replaces the image's entrypoint (a personality's own, e.g. starting sshd first). */
  entrypoint?: string[];
  /** More ports published beside the service port, on the same address, each on any free port. */
  extraPorts?: number[];
  /** Attach to this network (with a fixed address) instead of the default bridge. */
  network?: { name: string; ip?: string };
  /** Extra HostConfig fields: CPU and memory limits. */
  resources?: Record<string, unknown>;
  hostname?: string;
}

/** The create options for a host container. */
export function hostContainerOptions(spec: HostContainerSpec): Dockerode.ContainerCreateOptions {
  const port = `${spec.servicePort ?? HOST_TLS_PORT}/tcp`;
  const extraPorts = (spec.extraPorts ?? []).map((p) => `${p}/tcp`);
  const hostConfig: HostConfig = {
    ...spec.resources,
    ...privilegeHostConfig(spec.privilege),
    ...ulimitsHostConfig(spec.ulimits),
    // Binds, not Mounts: a VCH reads only Binds and Config.Volumes (VIC's storage_proxy.go) and
    // would give the image's VOLUME an anonymous 1 GiB disk instead; all engines read Binds.
    Binds: [`${spec.volumeName}:${spec.dataDir ?? ENGINE_DATA_DIR}`],
    RestartPolicy: { Name: spec.restartPolicy ?? "unless-stopped" },
    Init: false, // the image runs tini itself
  };
  if (spec.publish) {
    const hostIp = spec.publish.hostIp;
    hostConfig.PortBindings = {
      [port]: [{ HostIp: hostIp, HostPort: spec.publish.hostPort ? String(spec.publish.hostPort) : "" }],
      ...Object.fromEntries(extraPorts.map((p) => [p, [{ HostIp: hostIp, HostPort: "" }]])),
    };
  }
  if (spec.network) hostConfig.NetworkMode = spec.network.name;
  return {
    name: spec.containerName,
    Image: spec.image,
    Labels: spec.labels,
    Env: spec.env ?? [],
    ...(spec.cmd?.length ? { Cmd: spec.cmd } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.hostname ? { Hostname: spec.hostname } : {}),
    ExposedPorts: Object.fromEntries([port, ...extraPorts].map((p) => [p, {}])),
    // A plain `docker stop` must leave the entrypoint time to stop the inner containers
    // (DINV_STOP_TIMEOUT, 6 s) and then dockerd.
    StopTimeout: 30,
    HostConfig: hostConfig,
    ...(spec.network
      ? {
          NetworkingConfig: {
            EndpointsConfig: {
              [spec.network.name]: spec.network.ip ? { IPAMConfig: { IPv4Address: spec.network.ip } } : {},
            },
          },
        }
      : {}),
  };
}
