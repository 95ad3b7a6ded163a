/**
 * The narrow view of a Docker API endpoint that the pod operations need. The provider parts
 * talk only to this interface, so unit tests drive every failure path with a test double;
 * docker-engine.ts implements it over the engine layer (dockerode + describeEngineError).
 */
import type { Duplex, Readable } from "node:stream";
import type Dockerode from "dockerode";
import { EngineError } from "../../errors.js";
import type { StreamOptions, TerminalSize } from "../provider-api.js";

/** A container as listed (labels are all the pod cache needs to rebuild itself). */
export interface EngineContainerSummary {
  id: string;
  labels: Record<string, string>;
  state: string;
}

export type EngineContainerState =
  "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

/** What PodStatus reads from an inspected container. */
export interface EngineContainerDetails {
  id: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
  created: string;
  state: {
    status: EngineContainerState;
    exitCode: number;
    error: string;
    oomKilled: boolean;
    startedAt: string;
    finishedAt: string;
  };
  /** Restarts the engine's restart policy made. */
  restartCount: number;
  /** The first IPv4 address on any of its networks, when it has one. */
  ipAddress?: string;
  /** Created with a terminal: its logs and attach output are raw, not multiplexed. */
  tty?: boolean;
  /** Created with stdin open (attach may write to it). */
  openStdin?: boolean;
}

/** A container event from the engine's event stream. */
export interface EngineContainerEvent {
  /** start, die, oom, kill, stop, destroy, create, restart… */
  action: string;
  id: string;
  labels: Record<string, string>;
  exitCode?: number;
}

export type CreateContainerSpec = Dockerode.ContainerCreateOptions;

export interface EventSubscription {
  close(): void;
}

/** Credentials for one registry, as the engine's X-Registry-Auth wants them. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress: string;
}

export interface VolumeOptions {
  /** Memory-backed (emptyDir medium: Memory), with an optional size in bytes. */
  tmpfs?: { sizeBytes?: number };
  /** A disk of this many MB (VIC's `Capacity` driver option). */
  capacityMB?: number;
}

export interface PodEngine {
  /** Every container carrying all of these labels (running or not). */
  listContainers(labels: Record<string, string>): Promise<EngineContainerSummary[]>;
  /** undefined when the container does not exist. */
  inspectContainer(id: string): Promise<EngineContainerDetails | undefined>;
  hasImage(ref: string): Promise<boolean>;
  /** The user an image runs as (its `Config.User`; "" when it names none, i.e. root). */
  imageUser(ref: string): Promise<string>;
  pullImage(ref: string, auth?: RegistryAuth): Promise<void>;
  createContainer(spec: CreateContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutSeconds. Already stopped is success. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Send a signal; the container's restart policy then applies (unlike a stop). */
  killContainer(id: string, signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Force-remove; a container already gone is success. */
  removeContainer(id: string): Promise<void>;
  /** Create a named volume; one that already exists under that name is reused. */
  createVolume(name: string, labels: Record<string, string>, options?: VolumeOptions): Promise<void>;
  /** Remove a volume; one already gone is success. */
  removeVolume(name: string): Promise<void>;
  /** Names of the volumes carrying all of these labels. */
  listVolumes(labels: Record<string, string>): Promise<string[]>;
  /** Extract a tar archive into a container (created or running) at path, which must exist. */
  putArchive(id: string, path: string, tar: Buffer): Promise<void>;
  /** Import a root filesystem tarball as an image (used for the pause image). */
  importImage(tarball: Buffer, ref: string): Promise<void>;
  /**
   * Container events for containers carrying these labels; onEnd is called once when the stream
   * ends or fails (the caller re-subscribes and resynchronises).
   */
  watchEvents(
    labels: Record<string, string>,
    onEvent: (event: EngineContainerEvent) => void,
    onEnd: (err?: Error) => void,
  ): Promise<EventSubscription>;
}

/** The engine's log query: since/until are Unix times "seconds.nanoseconds". */
export interface EngineLogOptions {
  follow: boolean;
  timestamps: boolean;
  tail?: number;
  since?: string;
  until?: string;
}

/** An exec or attach connection to the engine. */
export interface EngineSession {
  /** The hijacked connection: stdin goes in, output comes out (multiplexed unless tty). */
  stream: Duplex;
  resize(size: TerminalSize): Promise<void>;
  /** Once the stream ended: the exec's exit code (undefined for attach). */
  exitCode(): Promise<number | undefined>;
}

/** One stats sample of a container, with the previous one the engine took a moment before. */
export interface EngineStatsSample {
  /** RFC 3339 times of this sample and the previous one. */
  read: string;
  preread: string;
  /** `cpu_stats.cpu_usage.total_usage` and its previous value: nanoseconds, except on a VCH (stats/mhz-cpu.ts). */
  cpuTotalNs: number;
  preCpuTotalNs: number;
  /** `percpu_usage` of this sample, when the engine gives it (a VCH: each vCPU's MHz). */
  perCpuUsage?: number[];
  memoryUsageBytes?: number;
  memoryWorkingSetBytes?: number;
  memoryRssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
  networks: Array<{ name: string; rxBytes: number; rxErrors: number; txBytes: number; txErrors: number }>;
}

/** What logs, exec, attach and stats need of the engine (separate from the lifecycle's PodEngine). */
export interface StreamingEngine {
  /** The raw log stream (multiplexed unless the container has a tty). */
  containerLogs(id: string, options: EngineLogOptions): Promise<Readable>;
  exec(id: string, command: string[], options: StreamOptions): Promise<EngineSession>;
  attach(id: string, options: StreamOptions): Promise<EngineSession>;
  /** undefined when the container does not exist or does not run. */
  containerStats(id: string): Promise<EngineStatsSample | undefined>;
}

/** The HTTP status the engine answered with, when the failure was an engine answer. */
export function engineStatus(err: unknown): number | undefined {
  const direct = (err as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof direct === "number") return direct;
  const cause = err instanceof Error ? (err.cause as { statusCode?: unknown } | undefined) : undefined;
  return typeof cause?.statusCode === "number" ? cause.statusCode : undefined;
}

/**
 * True when the engine answered (HTTP status, or an error inside a pull stream): retrying the
 * same request will fail the same way. Connection failures are transient and worth a retry.
 */
export function engineRefused(err: unknown): boolean {
  if (err instanceof ImagePullError) return true;
  return engineStatus(err) !== undefined;
}

/** A pull the engine refused (unknown image, no such registry, denied…). */
export class ImagePullError extends EngineError {}
