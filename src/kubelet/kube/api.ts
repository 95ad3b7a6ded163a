/** What the kubelet asks of the Kubernetes API, as an interface the controllers and tests share. */
import { DinvError } from "../../errors.js";
import type { ConfigSource, ServiceSource } from "../provider/config-scope.js";
import type { KubeEvent, KubeList, Lease, Node, NodeStatus, Pod, PodStatus } from "./types.js";

/** The API server answered with an error status (or could not be reached: status 0). */
export class KubeApiError extends DinvError {
  readonly status: number;
  /** The Status reason: NotFound, Conflict, AlreadyExists, Expired, Gone… */
  readonly reason: string | undefined;

  constructor(
    message: string,
    status: number,
    reason?: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(message, options);
    this.status = status;
    this.reason = reason;
  }
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchHandle {
  abort(): void;
}

export interface KubeApi extends ConfigSource, ServiceSource {
  getNode(name: string): Promise<Node | undefined>;
  createNode(node: Node): Promise<Node>;
  updateNode(node: Node): Promise<Node>;
  /** Strategic-merge patch of the status subresource (conditions merged by type). */
  patchNodeStatus(name: string, status: NodeStatus): Promise<Node>;

  getLease(namespace: string, name: string): Promise<Lease | undefined>;
  createLease(lease: Lease): Promise<Lease>;
  updateLease(lease: Lease): Promise<Lease>;

  /** Pods of every namespace matching a field selector (spec.nodeName=…). */
  listPods(fieldSelector: string): Promise<KubeList<Pod>>;
  /**
   * Watch from resourceVersion. onEvent gets ERROR events too (a 410 arrives that way);
   * onDone is called once when the stream ends, cleanly or not.
   */
  watchPods(
    fieldSelector: string,
    resourceVersion: string,
    onEvent: (
      type: WatchEventType,
      object: Pod | { kind?: string; code?: number; reason?: string; message?: string },
    ) => void,
    onDone: (err?: unknown) => void,
  ): Promise<WatchHandle>;
  /** Merge patch of the status subresource; uid guards against writing to a recreated pod. */
  patchPodStatus(namespace: string, name: string, uid: string, status: PodStatus): Promise<Pod>;
  /** Delete; gracePeriodSeconds 0 finalises a pod whose containers are gone. */
  deletePod(
    namespace: string,
    name: string,
    options: { gracePeriodSeconds: number; uid?: string },
  ): Promise<void>;

  createEvent(event: KubeEvent): Promise<void>;
}
