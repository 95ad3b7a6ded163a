/**
 * The narrow interfaces the controllers use, as in virtual-kubelet's node package: the pod and
 * node controllers know nothing of engines, only these. A provider for another backend is one
 * new implementation.
 */
import type { Duplex, Readable, Writable } from "node:stream";
import type { Flavor } from "../engine/flavor.js";
import { DinvError } from "../errors.js";
import type { Pod, PodStatus } from "./kube/types.js";
import type { StatsSummary } from "./stats/types.js";

export interface ProviderPod {
  key: string;
  uid: string;
}

/** A failure that knows when the work is worth retrying (e.g. an image pull back-off). */
export interface RetryAfter {
  readonly retryAfterMs: number | undefined;
}

/** The delay a failed pod sync asks for, when it asks for one. */
export function retryAfterOf(err: unknown): number | undefined {
  const ms = (err as Partial<RetryAfter> | undefined)?.retryAfterMs;
  return typeof ms === "number" && ms >= 0 ? ms : undefined;
}

export interface PodLifecycleHandler {
  /** Create and start the pod's containers. Idempotent for a pod (uid) it already runs. */
  createPod(pod: Pod): Promise<void>;
  /** The pod object changed (labels, annotations; container specs are immutable). */
  updatePod(pod: Pod): Promise<void>;
  /**
   * Stop within the pod's grace period and remove everything it created. Idempotent. Resolves
   * with the pod's status once its containers stopped (undefined for a pod it did not hold).
   */
  deletePod(pod: Pod): Promise<PodStatus | undefined>;
  /** The pod the provider holds under namespace/name, if any. */
  getPod(key: string): ProviderPod | undefined;
  /** Every pod the provider holds (after a restart: what the engine still runs). */
  getPods(): ProviderPod[];
  /** The pod's status as the provider sees it now; undefined for a pod it does not hold. */
  getPodStatus(pod: Pod): Promise<PodStatus | undefined>;
  /** Called with namespace/name whenever something about that pod changed (event-driven status). */
  notifyPods(callback: (key: string) => void): void;
}

/** What the node controller needs to describe the node. */
export interface NodeDescription {
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  os: string;
  arch: string;
  kernelVersion: string;
  osImage: string;
  /** docker://20.10.24, podman://4.3.1, vic://1.5.0 */
  containerRuntimeVersion: string;
  /** The flavor of the endpoint ("docker", "podman", "vic"), for the default taint's value. */
  flavor: Flavor;
  machineID: string;
}

export interface NodeProvider {
  /** Resolves when the endpoint answers; rejects with the reason it does not. */
  ping(): Promise<void>;
  describe(): Promise<NodeDescription>;
}

/** A pod, as kubelet API paths name it. */
export interface PodRef {
  namespace: string;
  pod: string;
  /** When given (/exec/{ns}/{pod}/{uid}/{container}), the pod must still have this uid. */
  uid?: string;
}

/** A container of a pod, as kubelet API paths name it. */
export interface ContainerRef extends PodRef {
  container: string;
}

/** The ports of one running pod, for port-forward. */
export interface PodPorts {
  /** The pod's uid (port-forward error messages name it, as a kubelet's do). */
  uid: string;
  /**
   * A new connection to the pod's port. Rejects with a StreamingError saying why not: nothing
   * listens there, or the pod's network cannot be reached from this kubelet.
   */
  dial(port: number): Promise<Duplex>;
}

/** The kubelet API's containerLogs query, parsed. */
export interface ContainerLogOptions {
  follow: boolean;
  timestamps: boolean;
  /** The container's previous instance (before its last restart). */
  previous: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC 3339. */
  sinceTime?: string;
  limitBytes?: number;
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** A running exec or attach, as streams the kubelet API wires to its client. */
export interface ContainerSession {
  /** Input of the process (when stdin was asked for); end() closes the process's stdin. */
  stdin?: Writable;
  /** stdout, or with a tty everything the terminal shows. */
  stdout?: Readable;
  stderr?: Readable;
  resize(size: TerminalSize): Promise<void>;
  /** Settles after the output streams ended: the exit code of an exec, undefined for attach. */
  done: Promise<{ exitCode?: number }>;
  /** The client went away: stop relaying (the process keeps whatever it was doing). */
  close(): void;
}

/** A streaming request that cannot be served, with the HTTP status a kubelet answers. */
export class StreamingError extends DinvError {
  readonly status: 400 | 404 | 500 | 503;

  constructor(message: string, status: 400 | 404 | 500 | 503, options: { cause?: unknown } = {}) {
    super(message, options);
    this.status = status;
  }
}

/** What the kubelet API serves beyond the lifecycle: pods, logs, exec/attach, port-forward, stats. */
export interface PodStreamingProvider {
  /** The pods this node runs, with the status the provider sees now. */
  listPods(): Promise<Pod[]>;
  /** Merged stdout and stderr, as kubectl shows them; ends when the log does (or the container, with follow). */
  containerLogs(ref: ContainerRef, options: ContainerLogOptions): Promise<Readable>;
  exec(ref: ContainerRef, command: string[], options: StreamOptions): Promise<ContainerSession>;
  attach(ref: ContainerRef, options: StreamOptions): Promise<ContainerSession>;
  /** Port-forward: resolves once the pod is known and running, before any connection is made. */
  portForward(ref: PodRef): Promise<PodPorts>;
  statsSummary(): Promise<StatsSummary>;
}
