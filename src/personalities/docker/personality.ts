import type Dockerode from "dockerode";
import { hostContainerOptions, type PrivilegeMode } from "./container-spec.js";
import { hostFilesArchive } from "./host-files.js";

/** The docker personality: a full Docker engine serving TLS on 2376 (the DinV host image). */
export const DOCKER_PERSONALITY = "docker";
export const DEFAULT_HOST_IMAGE = "dinv/host:latest";

/**
 * daemon.json dinv writes into every host. The nested engine's networks must not collide
 * with the outer engine's default bridge (172.17.0.0/16).
 */
export function defaultDaemonConfig(): Record<string, unknown> {
  return {
    bip: "10.213.0.1/24",
    "default-address-pools": [{ base: "10.214.0.0/16", size: 24 }],
  };
}

/** Subject alternative names of a host's server certificate: how clients reach it, plus extras. */
export function serverSans(
  clientAddress: string,
  extraSans: readonly string[],
  containerIp?: string,
): string[] {
  const sans = [clientAddress, "localhost", "127.0.0.1", ...(containerIp ? [containerIp] : []), ...extraSans];
  return [...new Set(sans)];
}

export interface HostContainerInput {
  hostName: string;
  containerName: string;
  volumeName: string;
  image: string;
  privilege: PrivilegeMode;
  publishAddress: string;
  port: number;
  labels: Record<string, string>;
}

export function containerOptions(input: HostContainerInput): Dockerode.ContainerCreateOptions {
  return {
    ...hostContainerOptions({
      containerName: input.containerName,
      image: input.image,
      volumeName: input.volumeName,
      privilege: input.privilege,
      publish: { hostIp: input.publishAddress, hostPort: input.port },
      labels: input.labels,
      restartPolicy: "unless-stopped",
    }),
    Hostname: input.hostName.replace(/\./g, "-").slice(0, 63),
  };
}

export function filesArchive(caPem: string, serverCertPem: string, serverKeyPem: string): Promise<Buffer> {
  return hostFilesArchive({ caPem, serverCertPem, serverKeyPem, daemonJson: defaultDaemonConfig() });
}
