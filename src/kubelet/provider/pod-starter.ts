/** PodStarter: starts the infra container first (the others join its network), then the app containers. */
import { errorMessage } from "../../errors.js";
import { privilegeRefused } from "../../engine/privilege.js";
import { engineRefused, type PodEngine } from "./engine.js";
import { PodOperationError } from "./errors.js";
import type { CachedContainer, CachedPod } from "./pod-cache.js";

export class PodStarter {
  constructor(
    private readonly engine: PodEngine,
    /** Told of every container it started (before the engine's `start` event can arrive). */
    private readonly onStarted: (id: string) => void = () => undefined,
  ) {}

  async startInfra(entry: CachedPod): Promise<void> {
    if (!entry.infraId) return;
    try {
      this.onStarted(entry.infraId);
      await this.engine.startContainer(entry.infraId);
    } catch (err) {
      throw new PodOperationError(`cannot start the pod's infra container: ${errorMessage(err)}`, {
        reason: "InfraContainerError",
        permanent: engineRefused(err),
        cause: err,
      });
    }
  }

  /** Start every app container (concurrently: Kubernetes gives no order among them). */
  async startContainers(entry: CachedPod): Promise<void> {
    await Promise.all([...entry.containers.values()].map((c) => this.startContainer(c)));
  }

  async startContainer(c: CachedContainer): Promise<void> {
    try {
      this.onStarted(c.id);
      await this.engine.startContainer(c.id);
    } catch (err) {
      const refusedPrivilege = c.privileged === true && privilegeRefused(errorMessage(err));
      throw new PodOperationError(`container "${c.name}" did not start: ${errorMessage(err)}`, {
        reason: "StartError",
        permanent: engineRefused(err),
        hint: refusedPrivilege
          ? "this endpoint refuses privileged containers (securityContext.privileged: true); grant capabilities instead"
          : "check the container's command and image",
        cause: err,
      });
    }
  }
}
