/**
 * Reconciles the pods bound to this node with the provider: one sync per namespace/name key,
 * from the informer (spec changes, deletions) and from the provider (status changes), run by
 * a work queue with N workers and backoff. Status goes through the status subresource, and
 * only when it differs from what the API server already holds.
 */
import { errorMessage } from "../errors.js";
import { isStatus, type KubeApi } from "./kube/api.js";
import { kubeTime, type Pod, type PodStatus } from "./kube/types.js";
import { PodInformer } from "./pod-informer.js";
import { terminalStatus } from "./terminal-status.js";
import { retryAfterOf, type PodLifecycleHandler } from "./provider-api.js";
import { WorkQueue } from "./work-queue.js";

export interface PodControllerOptions {
  nodeName: string;
  workers: number;
  log?: (message: string) => void;
  /** Backoff of failed syncs (tests shorten it). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class PodController {
  readonly informer: PodInformer;
  readonly queue: WorkQueue;
  /** The last pod object seen per key, for a pod deleted without a grace period. */
  private readonly lastSeen = new Map<string, Pod>();
  /** Failure events already recorded, by uid. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly provider: PodLifecycleHandler,
    private readonly options: PodControllerOptions,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), {
      workers: options.workers,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 60_000,
      retryAfter: retryAfterOf,
      onError: (key, err, attempt) =>
        this.log(`pod ${key}: ${errorMessage(err)} (attempt ${attempt}; retrying)`),
    });
    this.informer = new PodInformer(api, `spec.nodeName=${options.nodeName}`, (key) => this.queue.add(key), {
      log: (m) => this.log(m),
    });
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  async start(): Promise<void> {
    // The provider's notifications are status re-syncs: their own lane, never behind creations.
    this.provider.notifyPods((key) => this.queue.add(key, "status"));
    await this.informer.start();
    // Pods the engine still runs but Kubernetes no longer has (deleted while we were away).
    for (const held of this.provider.getPods()) this.queue.add(held.key);
  }

  stop(): void {
    this.informer.stop();
    this.queue.stop();
  }

  async sync(key: string): Promise<void> {
    const pod = this.informer.get(key);
    const held = this.provider.getPod(key);
    if (!pod) {
      // Gone from the API (force-deleted, or deleted while the kubelet was down).
      if (held) await this.provider.deletePod(this.lastSeen.get(key) ?? stubPod(key, held.uid));
      this.lastSeen.delete(key);
      return;
    }
    this.lastSeen.set(key, pod);
    const uid = pod.metadata?.uid ?? "";
    if (held && held.uid !== uid) {
      // Same name, new pod: the old generation's containers go first.
      await this.provider.deletePod(stubPod(key, held.uid));
    }
    if (pod.metadata?.deletionTimestamp) {
      const final = await this.provider.deletePod(pod);
      // A terminal status first (virtual-kubelet's contract): watchers see how the pod ended.
      if (final) await this.patchStatus(pod, terminalStatus(final));
      // The containers are gone: let the API server remove the object (what a kubelet does).
      await this.api.deletePod(pod.metadata.namespace ?? "default", pod.metadata.name ?? "", {
        gracePeriodSeconds: 0,
        uid,
      });
      this.lastSeen.delete(key);
      return;
    }
    const terminal = pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
    const current = this.provider.getPod(key);
    const fresh = !current || current.uid !== uid;
    // A finished pod is never started again (after a restart, a Failed pod has no containers).
    if (fresh && terminal) return;
    try {
      await (fresh ? this.provider.createPod(pod) : this.provider.updatePod(pod));
    } catch (err) {
      // Why it waits (a missing configMap, an image back-off) shows while the retry is pending.
      await this.writeStatus(pod).catch(() => undefined);
      throw err;
    }
    await this.writeStatus(pod);
  }

  private async writeStatus(pod: Pod): Promise<void> {
    const status = await this.provider.getPodStatus(pod);
    if (!status) return;
    if (!(await this.patchStatus(pod, status))) return;
    const ns = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "";
    const uid = pod.metadata?.uid ?? "";
    if (status.phase === "Failed" && status.reason && !this.reported.has(uid)) {
      this.reported.add(uid);
      await this.api
        .createEvent({
          metadata: { name: `${name}.${Date.now().toString(16)}`, namespace: ns },
          involvedObject: { kind: "Pod", apiVersion: "v1", namespace: ns, name, uid },
          reason: status.reason,
          message: status.message ?? "",
          type: "Warning",
          source: { component: "kubelet", host: this.options.nodeName },
          firstTimestamp: kubeTime(),
          lastTimestamp: kubeTime(),
          count: 1,
          reportingComponent: "dinv-kubelet",
          reportingInstance: this.options.nodeName,
        })
        .catch((err: unknown) => this.log(`event for ${ns}/${name}: ${errorMessage(err)}`));
    }
  }

  /** One status write; false when it was not made. 404, 409 and 422 are final for this write. */
  private async patchStatus(pod: Pod, status: PodStatus): Promise<boolean> {
    if (sameStatus(status, pod.status)) return false;
    const ns = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "";
    try {
      await this.api.patchPodStatus(ns, name, pod.metadata?.uid ?? "", status);
      return true;
    } catch (err) {
      // 404: deleted meanwhile; 409: a new pod of that name; either way the informer brings the news.
      if (isStatus(err, 404) || isStatus(err, 409)) return false;
      // 422: the API server refuses this status (a recreated pod's uid, a forbidden transition):
      // retrying the same write cannot succeed.
      if (isStatus(err, 422)) {
        this.log(`status of ${ns}/${name} refused: ${errorMessage(err)}`);
        return false;
      }
      throw err;
    }
  }
}

function stubPod(key: string, uid: string): Pod {
  const [namespace, name] = key.split("/") as [string, string];
  // No spec at hand: stop quickly, there is nobody left to be graceful for.
  return { metadata: { namespace, name, uid, deletionGracePeriodSeconds: 1 }, spec: { containers: [] } };
}

/** Equal on every field we write (the server may hold more, e.g. qosClass). */
export function sameStatus(ours: PodStatus, theirs: PodStatus | undefined): boolean {
  if (!theirs) return false;
  return (Object.keys(ours) as Array<keyof PodStatus>).every(
    (k) => canonical(ours[k]) === canonical(theirs[k]),
  );
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
