/**
 * PodDeleter: removes everything a pod created on the engine — containers, then its emptyDir
 * volumes. Idempotent: it removes what the cache knows and then anything else carrying the pod's
 * uid label, so a half-created pod or a cache that missed a container still ends with nothing
 * left behind.
 */
import type { PodEngine } from "./engine.js";
import { LABEL_NODE, LABEL_UID } from "./labels.js";
import type { CachedPod } from "./pod-cache.js";

export class PodDeleter {
  constructor(
    private readonly engine: PodEngine,
    private readonly node: string,
  ) {}

  async delete(entry: Pick<CachedPod, "uid" | "infraId" | "containers" | "initContainers">): Promise<void> {
    const known = [...entry.containers.values(), ...(entry.initContainers?.values() ?? [])].map((c) => c.id);
    // App and init containers before the infra container whose network they use.
    await Promise.all(known.map((id) => this.engine.removeContainer(id)));
    if (entry.infraId) await this.engine.removeContainer(entry.infraId);
    const labels = { [LABEL_NODE]: this.node, [LABEL_UID]: entry.uid };
    const left = await this.engine.listContainers(labels);
    await Promise.all(left.map((c) => this.engine.removeContainer(c.id)));
    // Volumes last: the engine refuses to remove one a container still uses.
    const volumes = await this.engine.listVolumes(labels);
    await Promise.all(volumes.map((name) => this.engine.removeVolume(name)));
  }
}
