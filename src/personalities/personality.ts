import type { EngineClient } from "../engine/client.js";
import type { HostConfig } from "../store/host-config.js";

export type PersonalityName = HostConfig["personality"];

/** What a host's service needs delivered before it starts (a tar rooted at "/"). */
export interface ProvisionFiles {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Extra files, e.g. the CA a registry mirror's certificate chains to. */
  extra?: Array<{ path: string; mode: number; body: string }>;
}

/**
 * A personality (provisioner): what runs in a host. The driver knows where and how a
 * container lives; the personality knows its image, its port, its files and when it is ready.
 */
export interface Personality {
  readonly name: PersonalityName;
  readonly defaultImage: string;
  /** The TLS port the service listens on inside the container. */
  readonly servicePort: number;
  /** Where the persistent volume mounts. */
  readonly dataDir: string;
  /** Runs a nested container engine, so needs privilege (or the explicit set, or a VM). */
  readonly nestedEngine: boolean;
  /** Arguments for the image's entrypoint. */
  command(config: HostConfig): string[];
  /** The files copied in before start (certificates, configuration). */
  archive(config: HostConfig, files: ProvisionFiles): Promise<Buffer>;
  /** Resolve once the service answers over verified TLS; reject with the cause after timeoutMs. */
  waitReady(config: HostConfig, hostDir: string, timeoutMs: number): Promise<void>;
  /** A verified client for the service, when it speaks the Docker API (docker personality). */
  engineClient?(config: HostConfig, hostDir: string, timeoutMs: number): EngineClient;
}
