/**
 * What the provider knows about the pods it runs, keyed by namespace/name (the original VIC
 * provider keyed by name only, so two namespaces collided). Rebuilt from the engine's
 * io.dinv.pod.* labels at start, so a kubelet restart neither loses nor duplicates a pod.
 */
import type { Pod } from "../kube/types.js";
import type { PodEngine } from "./engine.js";
import {
  LABEL_CONTAINER,
  LABEL_INDEX,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_NODE,
  LABEL_ROLE,
  LABEL_UID,
} from "./labels.js";

export interface CachedContainer {
  name: string;
  id: string;
  index: number;
  /** Created with securityContext.privileged (a refused start then says so). */
  privileged?: boolean;
}

export interface CachedPod {
  namespace: string;
  name: string;
  uid: string;
  /** The pod as last given by Kubernetes; absent for a pod only known from the engine so far. */
  pod?: Pod;
  infraId?: string;
  /** App containers by Kubernetes container name. */
  containers: Map<string, CachedContainer>;
  /** Init containers by name (kept after they ran, for their status and logs). */
  initContainers?: Map<string, CachedContainer>;
  /** Why the pod could not be created, when it could not (it is then Failed). */
  failure?: { reason: string; message: string };
  /** Why it is not running yet while a retry is pending (missing configMap, engine down…). */
  waiting?: { reason: string; message: string };
  /** Set when the pod was created, for startTime. */
  createdAt?: string;
  /** Images pulled, infra started and volumes made in this run (not known after a restart). */
  prepared?: boolean;
  /** Volume files delivered: container id → mountPath → what went in (for updates). */
  delivered?: Map<string, Map<string, DeliveredVolume>>;
}

export interface DeliveredVolume {
  digest: string;
  generation: string;
  paths: string[];
  /** subPath mounts are written once and never updated. */
  subPath?: boolean;
}

/** The container holding a pod's network namespace (its IP is the pod's): the infra container, else the first one. */
export function networkHolder(entry: Partial<Pick<CachedPod, "infraId" | "containers">>): string | undefined {
  if (entry.infraId) return entry.infraId;
  return [...(entry.containers?.values() ?? [])].sort((a, b) => a.index - b.index)[0]?.id;
}

export function cacheKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class PodCache {
  private readonly pods = new Map<string, CachedPod>();
  /** Container id → pod key, to route engine events. */
  private readonly byContainer = new Map<string, string>();

  get(key: string): CachedPod | undefined {
    return this.pods.get(key);
  }

  list(): CachedPod[] {
    return [...this.pods.values()];
  }

  keyOfContainer(id: string): string | undefined {
    return this.byContainer.get(id);
  }

  set(entry: CachedPod): void {
    const key = cacheKey(entry.namespace, entry.name);
    const previous = this.pods.get(key);
    if (previous) this.forgetContainers(previous);
    this.pods.set(key, entry);
    if (entry.infraId) this.byContainer.set(entry.infraId, key);
    for (const c of entry.containers.values()) this.byContainer.set(c.id, key);
    for (const c of entry.initContainers?.values() ?? []) this.byContainer.set(c.id, key);
  }

  /** Record an init container of a pod already in the cache. */
  addInitContainer(key: string, container: CachedContainer): void {
    const entry = this.pods.get(key);
    if (!entry) return;
    (entry.initContainers ??= new Map()).set(container.name, container);
    this.byContainer.set(container.id, key);
  }

  /** Record one more container of a pod already in the cache. */
  addContainer(key: string, container: CachedContainer): void {
    const entry = this.pods.get(key);
    if (!entry) return;
    entry.containers.set(container.name, container);
    this.byContainer.set(container.id, key);
  }

  setInfra(key: string, id: string): void {
    const entry = this.pods.get(key);
    if (!entry) return;
    entry.infraId = id;
    this.byContainer.set(id, key);
  }

  delete(key: string): void {
    const entry = this.pods.get(key);
    if (!entry) return;
    this.forgetContainers(entry);
    this.pods.delete(key);
  }

  private forgetContainers(entry: CachedPod): void {
    if (entry.infraId) this.byContainer.delete(entry.infraId);
    for (const c of entry.containers.values()) this.byContainer.delete(c.id);
    for (const c of entry.initContainers?.values() ?? []) this.byContainer.delete(c.id);
  }

  /**
   * Replace the contents with what the engine holds for this node. Containers of one pod name
   * with different uids (a crash between delete and create) are kept as separate entries only
   * for the newest uid; the older ones are returned so the caller can remove them.
   */
  async rehydrate(engine: PodEngine, node: string): Promise<{ stale: string[] }> {
    const containers = await engine.listContainers({ [LABEL_NODE]: node });
    const groups = new Map<string, CachedPod>();
    const stale: string[] = [];
    for (const c of containers) {
      const namespace = c.labels[LABEL_NAMESPACE];
      const name = c.labels[LABEL_NAME];
      const uid = c.labels[LABEL_UID];
      if (!namespace || !name || !uid) {
        stale.push(c.id);
        continue;
      }
      const key = `${cacheKey(namespace, name)}#${uid}`;
      let entry = groups.get(key);
      if (!entry) {
        entry = { namespace, name, uid, containers: new Map() };
        groups.set(key, entry);
      }
      if (c.labels[LABEL_ROLE] === "infra") entry.infraId = c.id;
      else {
        const containerName = c.labels[LABEL_CONTAINER] ?? "";
        const cached = { name: containerName, id: c.id, index: Number(c.labels[LABEL_INDEX] ?? 0) };
        if (c.labels[LABEL_ROLE] === "init") (entry.initContainers ??= new Map()).set(containerName, cached);
        else entry.containers.set(containerName, cached);
      }
    }
    this.pods.clear();
    this.byContainer.clear();
    for (const entry of groups.values()) {
      const key = cacheKey(entry.namespace, entry.name);
      const existing = this.pods.get(key);
      if (existing) {
        // Two generations of one pod name: the API server decides later which uid is current;
        // keep the first and hand back the other's containers as stale.
        stale.push(
          ...(entry.infraId ? [entry.infraId] : []),
          ...[...entry.containers.values()].map((c) => c.id),
          ...[...(entry.initContainers?.values() ?? [])].map((c) => c.id),
        );
        continue;
      }
      this.set(entry);
    }
    return { stale };
  }
}
