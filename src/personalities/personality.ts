import type { EngineClient } from "../engine/client.js";
import type { HostConfig } from "../store/host-config.js";

/** A personality's name: a built-in (docker, registry-cache) or one added with `dinv personality add`. */
export type PersonalityName = string;

/** How clients speak to a host's service: the Docker API, HTTP, or another protocol over TLS. */
export type ServiceProtocol = "docker" | "https" | "tls";

/** What a host's service needs delivered before it starts (a tar rooted at "/"). */
export interface ProvisionFiles {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** The host's client certificate (public): an SSH authorized key can be made from its key. */
  clientCertPem?: string;
  /** Extra files, e.g. the CA a registry mirror's certificate chains to. */
  extra?: Array<{ path: string; mode: number; body: string }>;
}

/**
 * A personality (provisioner): what runs in a host. The driver knows where and how a
 * container lives; the personality knows its image, its port, its files and when it is ready.
 * Built-in and added personalities alike are made from a manifest (docs/personalities.md),
 * optionally refined by a module of the personality's own.
 */
export interface Personality {
  readonly name: PersonalityName;
  readonly defaultImage: string;
  /** The TLS port the service listens on inside the container. */
  readonly servicePort: number;
  readonly protocol: ServiceProtocol;
  /** Where the persistent volume mounts. */
  readonly dataDir: string;
  /** Runs a nested container engine, so needs privilege (or the explicit set, or a VM). */
  readonly nestedEngine: boolean;
  /** Replaces the image's entrypoint (absent: the image's own). */
  readonly entrypoint?: string[];
  /** More container ports published beside the service port (e.g. 22 for sshd). */
  readonly extraPorts?: number[];
  /** Arguments for the image's entrypoint. */
  command(config: HostConfig): string[];
  /** The files copied in before start (certificates, configuration). */
  archive(config: HostConfig, files: ProvisionFiles): Promise<Buffer>;
  /** Resolve once the service answers over verified TLS; reject with the cause after timeoutMs. */
  waitReady(config: HostConfig, hostDir: string, timeoutMs: number): Promise<void>;
  /** A verified client for the service, when it speaks the Docker API. */
  engineClient?(config: HostConfig, hostDir: string, timeoutMs: number): EngineClient;
}
