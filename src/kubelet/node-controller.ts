/**
 * Registers the node and keeps it alive: a coordination.k8s.io/v1 Lease renewed every 10 s
 * (40 s duration: the node controller in the cluster marks a node unknown when it lapses),
 * and the node status — Ready reflecting whether the endpoint answers — written on every
 * change and at least once a minute. Knows nothing of engines: a NodeProvider describes the node.
 */
import { errorMessage } from "../errors.js";
import { isStatus, type KubeApi } from "./kube/api.js";
import {
  kubeMicroTime,
  kubeTime,
  type Lease,
  type Node,
  type NodeCondition,
  type NodeStatus,
  type Taint,
} from "./kube/types.js";
import type { NodeDescription, NodeProvider } from "./provider-api.js";

export const LEASE_NAMESPACE = "kube-node-lease";
export const LEASE_DURATION_SECONDS = 40;

export interface NodeControllerOptions {
  nodeName: string;
  taints: Taint[];
  /** The kubelet API's real port (daemonEndpoints). */
  port: number;
  nodeIP: string;
  kubeletVersion: string;
  leaseRenewMs?: number;
  /** Longest time between two status writes. */
  statusIntervalMs?: number;
  /** How often the endpoint is pinged to notice it going away or coming back. */
  pingIntervalMs?: number;
  /** How often capacity is read again (a VCH's limits change under it); default 60 s. */
  describeIntervalMs?: number;
  log?: (message: string) => void;
}

/**
 * No kubernetes.io/ or k8s.io/ label outside the kubelet's own set: NodeRestriction refuses a
 * node that sets one (kubernetes.io/role, which virtual-kubelet sets, among them).
 */
export const NODE_LABELS = {
  type: "virtual-kubelet",
  "node.kubernetes.io/exclude-from-external-load-balancers": "true",
};

export class NodeController {
  private description: NodeDescription | undefined;
  private ready: { ok: boolean; message: string } = { ok: false, message: "starting" };
  private conditions: NodeCondition[] = [];
  private lastStatusWrite = 0;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private lease: Lease | undefined;
  /** The Node's uid, for the lease's owner reference. */
  private nodeUid = "";

  constructor(
    private readonly api: KubeApi,
    private readonly provider: NodeProvider,
    private readonly options: NodeControllerOptions,
  ) {}

  /** Create the node or take it over, write its status and take the lease. */
  async start(): Promise<Node> {
    this.description = await this.provider.describe();
    await this.checkReady();
    const node = await this.register(this.description);
    this.nodeUid = node.metadata?.uid ?? "";
    await this.writeStatus();
    await this.renewLease();
    this.timers.push(
      setInterval(
        () => void this.renewLease().catch((err: unknown) => this.log(`lease: ${errorMessage(err)}`)),
        this.options.leaseRenewMs ?? 10_000,
      ),
      setInterval(() => void this.tick(), this.options.pingIntervalMs ?? 5_000),
    );
    for (const t of this.timers) t.unref();
    return node;
  }

  /** Mark the node NotReady (pods stay running) and stop heartbeats. */
  async stop(reason = "dinv kubelet stopped"): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.ready = { ok: false, message: reason };
    await this.writeStatus();
  }

  get isReady(): boolean {
    return this.ready.ok;
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  private ticking = false;

  private async tick(): Promise<void> {
    // A ping may outlast the interval when the endpoint hangs: never stack them.
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      const changed = (await this.checkReady()) || (await this.refreshDescription());
      const due = Date.now() - this.lastStatusWrite >= (this.options.statusIntervalMs ?? 60_000);
      if (changed || due) await this.writeStatus();
    } catch (err) {
      this.log(`node status: ${errorMessage(err)}`);
    } finally {
      this.ticking = false;
    }
  }

  private lastDescribe = Date.now();

  /** Read the node's description again when due; true when capacity or allocatable changed. */
  private async refreshDescription(): Promise<boolean> {
    if (!this.ready.ok || Date.now() - this.lastDescribe < (this.options.describeIntervalMs ?? 60_000))
      return false;
    this.lastDescribe = Date.now();
    const before = this.description;
    try {
      this.description = await this.provider.describe();
    } catch (err) {
      this.log(`node capacity: ${errorMessage(err)}`);
      return false;
    }
    const text = (d?: NodeDescription) => JSON.stringify([d?.capacity, d?.allocatable]);
    if (text(before) === text(this.description)) return false;
    this.log(`node capacity now ${JSON.stringify(this.description.capacity)}`);
    return true;
  }

  /** Ping the endpoint; true when readiness changed. */
  private async checkReady(): Promise<boolean> {
    const before = this.ready.ok;
    try {
      await this.provider.ping();
      this.ready = { ok: true, message: "the endpoint answers" };
    } catch (err) {
      this.ready = { ok: false, message: `the endpoint does not answer: ${errorMessage(err)}` };
    }
    return before !== this.ready.ok;
  }

  private nodeObject(d: NodeDescription, existing?: Node): Node {
    const o = this.options;
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        ...(existing?.metadata ?? {}),
        name: o.nodeName,
        labels: {
          ...(existing?.metadata?.labels ?? {}),
          ...NODE_LABELS,
          "kubernetes.io/hostname": o.nodeName,
          "kubernetes.io/os": d.os,
          "kubernetes.io/arch": d.arch,
          "beta.kubernetes.io/os": d.os,
          "beta.kubernetes.io/arch": d.arch,
        },
      },
      // Taints are set at registration only, as a kubelet's --register-with-taints: NodeRestriction
      // forbids a node to change its own taints later.
      spec: existing ? (existing.spec ?? {}) : { taints: this.options.taints },
    };
  }

  private async register(d: NodeDescription): Promise<Node> {
    for (let attempt = 0; ; attempt++) {
      const existing = await this.api.getNode(this.options.nodeName);
      try {
        if (!existing) return await this.api.createNode(this.nodeObject(d));
        // Take over: a node of this name from an earlier run (or another kubelet) becomes ours.
        const taken = await this.api.updateNode(this.nodeObject(d, existing));
        if (!sameTaints(taken.spec?.taints ?? [], this.options.taints))
          this.log(
            `node ${this.options.nodeName} exists: its taints are kept as they are (a node may not change them; an administrator can)`,
          );
        return taken;
      } catch (err) {
        // Someone else wrote it in between: read again and retry.
        if (attempt < 3 && (isStatus(err, 409) || isStatus(err, 404))) continue;
        throw err;
      }
    }
  }

  status(d: NodeDescription): NodeStatus {
    const now = kubeTime();
    const ready = this.ready;
    const wanted: Array<Omit<NodeCondition, "lastHeartbeatTime" | "lastTransitionTime">> = [
      {
        type: "Ready",
        status: ready.ok ? "True" : "False",
        reason: ready.ok ? "KubeletReady" : "KubeletNotReady",
        message: ready.message,
      },
      {
        type: "MemoryPressure",
        status: "False",
        reason: "KubeletHasSufficientMemory",
        message: "no memory pressure",
      },
      {
        type: "DiskPressure",
        status: "False",
        reason: "KubeletHasNoDiskPressure",
        message: "no disk pressure",
      },
      { type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "no PID pressure" },
      {
        type: "NetworkUnavailable",
        status: "False",
        reason: "RouteCreated",
        message: "containers use the endpoint's network",
      },
    ];
    this.conditions = wanted.map((c) => {
      const before = this.conditions.find((p) => p.type === c.type);
      const transition = before && before.status === c.status ? before.lastTransitionTime : now;
      return { ...c, lastHeartbeatTime: now, lastTransitionTime: transition ?? now };
    });
    return {
      capacity: d.capacity,
      allocatable: d.allocatable,
      conditions: this.conditions,
      addresses: [
        { type: "InternalIP", address: this.options.nodeIP },
        { type: "Hostname", address: this.options.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.options.port } },
      nodeInfo: {
        machineID: d.machineID,
        systemUUID: d.machineID,
        bootID: "",
        kernelVersion: d.kernelVersion,
        osImage: d.osImage,
        containerRuntimeVersion: d.containerRuntimeVersion,
        kubeletVersion: this.options.kubeletVersion,
        kubeProxyVersion: "",
        operatingSystem: d.os,
        architecture: d.arch,
      },
    };
  }

  private async writeStatus(): Promise<void> {
    if (!this.description) return;
    await this.api.patchNodeStatus(this.options.nodeName, this.status(this.description));
    this.lastStatusWrite = Date.now();
  }

  async renewLease(retry = true): Promise<void> {
    if (this.stopped) return;
    const name = this.options.nodeName;
    const now = kubeMicroTime();
    const current = this.lease ?? (await this.api.getLease(LEASE_NAMESPACE, name));
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: now };
    // Owned by the Node, as a kubelet's lease is: the garbage collector removes it with the node.
    const owner = this.nodeUid ? [{ apiVersion: "v1", kind: "Node", name, uid: this.nodeUid }] : undefined;
    try {
      if (!current) {
        this.lease = await this.api.createLease({
          metadata: { name, namespace: LEASE_NAMESPACE, ...(owner ? { ownerReferences: owner } : {}) },
          spec: { ...spec, acquireTime: now },
        });
      } else {
        const owned = current.metadata?.ownerReferences?.some((r) => r.uid === this.nodeUid) ?? false;
        const metadata = owner && !owned ? { ...current.metadata, ownerReferences: owner } : current.metadata;
        this.lease = await this.api.updateLease({
          ...current,
          ...(metadata ? { metadata } : {}),
          spec: { ...current.spec, ...spec },
        });
      }
    } catch (err) {
      // Stale copy (409) or lease deleted (404): read it afresh on the next renewal.
      this.lease = undefined;
      if (retry && (isStatus(err, 409) || isStatus(err, 404))) return this.renewLease(false);
      throw err;
    }
  }
}

function sameTaints(a: Taint[], b: Taint[]): boolean {
  const text = (ts: Taint[]) =>
    ts
      .map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`)
      .sort()
      .join(",");
  return text(a) === text(b);
}
