/**
 * Brings a cached pod forward, one step per call, so no worker waits on a running container:
 * prepare (images, infra container, emptyDir volumes), then the init containers one at a time
 * in order — each created, given its volume files, started, and left to the engine; its exit
 * (an engine event) brings the next call — and once all succeeded, the app containers.
 * Volume files are delivered before each container starts and refreshed when sources change.
 */
import { errorMessage } from "../../errors.js";
import type { Capabilities } from "../../engine/flavor.js";
import type { Container, Pod } from "../kube/types.js";
import { checkNetwork, isSidecar } from "./container-spec.js";
import { podKey } from "../kube/types.js";
import type { PodEngine } from "./engine.js";
import type { EnvContext } from "./env.js";
import { PodOperationError } from "./errors.js";
import { containerField, type PodEventSink } from "./events.js";
import { networkHolder, type CachedContainer, type CachedPod, type PodCache } from "./pod-cache.js";
import type { PodCreator } from "./pod-creator.js";
import type { PodStarter } from "./pod-starter.js";
import type { VolumeDelivery } from "./volume-delivery.js";
import { checkSecurity } from "./security-context.js";
import { checkVolumes } from "./volumes.js";

export interface RunnerOptions {
  hostIP: string;
  nodeAllocatable: { cpu: number; memory: number };
  /** What the endpoint cannot do is refused before anything is made. */
  capabilities: Capabilities;
  events?: PodEventSink;
}

export class PodRunner {
  constructor(
    private readonly engine: PodEngine,
    private readonly cache: PodCache,
    private readonly creator: PodCreator,
    private readonly starter: PodStarter,
    private readonly delivery: VolumeDelivery,
    private readonly options: RunnerOptions,
  ) {}

  /** Whether the pod still has steps to take (not failed for good, app containers not made yet). */
  pending(entry: CachedPod): boolean {
    return !entry.failure && entry.containers.size === 0;
  }

  /** Take the next steps; throws what went wrong (the provider cleans up and retries or fails the pod). */
  async progress(entry: CachedPod, pod: Pod): Promise<void> {
    if (!this.pending(entry)) return;
    if (!entry.prepared) await this.prepare(entry, pod);
    const env = await this.envContext(entry);
    if (!(await this.runInit(entry, pod, env))) return;
    await this.startApps(entry, pod, env);
  }

  private async prepare(entry: CachedPod, pod: Pod): Promise<void> {
    checkNetwork(pod, this.options.capabilities);
    checkVolumes(pod, this.options.capabilities);
    checkSecurity(pod, this.options.capabilities);
    await this.verifySources(pod);
    await this.creator.pullImages(pod);
    await this.creator.createVolumes(pod);
    const infraId = await this.creator.createInfra(pod);
    if (infraId) {
      this.cache.setInfra(podKey(pod), infraId);
      await this.starter.startInfra(entry);
    }
    entry.prepared = true;
  }

  private async verifySources(pod: Pod): Promise<void> {
    try {
      await this.delivery.verify(pod, await this.envContext({}));
    } catch (err) {
      throw this.mountFailure(pod, err);
    }
  }

  private mountFailure(pod: Pod, err: unknown): PodOperationError {
    const failure =
      err instanceof PodOperationError
        ? err
        : // A missing configMap or secret may appear later: retried, as the kubelet does.
          new PodOperationError(`MountVolume.SetUp failed: ${errorMessage(err)}`, {
            reason: "FailedMount",
            permanent: false,
            cause: err,
          });
    this.options.events?.(pod, { type: "Warning", reason: "FailedMount", message: failure.message });
    return failure;
  }

  /** The pod's IP is that of the container holding its network namespace: the infra container, else the first one. */
  async envContext(entry: Partial<Pick<CachedPod, "infraId" | "containers">>): Promise<EnvContext> {
    const holder = networkHolder(entry);
    const podIP = holder ? (await this.engine.inspectContainer(holder))?.ipAddress : undefined;
    return {
      hostIP: this.options.hostIP,
      ...(podIP ? { podIP } : {}),
      nodeAllocatable: this.options.nodeAllocatable,
    };
  }

  /** True once every init container exited 0; otherwise starts the next one, or waits. */
  private async runInit(entry: CachedPod, pod: Pod, env: EnvContext): Promise<boolean> {
    for (const [index, container] of (pod.spec.initContainers ?? []).entries()) {
      const cached = entry.initContainers?.get(container.name);
      if (!cached) {
        const created = await this.creator.createContainer(pod, container, index, env, entry.infraId, "init");
        this.cache.addInitContainer(podKey(pod), created);
        await this.launch(entry, pod, container, created, env, true);
        return false;
      }
      const details = await this.engine.inspectContainer(cached.id);
      if (!details) {
        throw new PodOperationError(`init container "${container.name}" is gone from the engine`, {
          reason: "CreateContainerError",
          permanent: false,
        });
      }
      if (details.state.status === "exited" && details.state.exitCode === 0) continue;
      // A sidecar only has to be running: the next one (or the app containers) start beside it.
      if (isSidecar(container) && details.state.status === "running") continue;
      // Running, restarting (the engine retries a failure unless restartPolicy is Never), or failed for good.
      return false;
    }
    return true;
  }

  private async startApps(entry: CachedPod, pod: Pod, env: EnvContext): Promise<void> {
    const created: Array<{ container: Container; cached: CachedContainer }> = [];
    // Sequential: the 20-pod burst is already parallel across workers, and order keeps names stable.
    for (const [index, container] of pod.spec.containers.entries()) {
      const cached = await this.creator.createContainer(pod, container, index, env, entry.infraId);
      this.cache.addContainer(podKey(pod), cached);
      created.push({ container, cached });
    }
    await Promise.all(created.map((c) => this.deliver(entry, pod, c.container, c.cached.id, env)));
    for (const c of created)
      this.event(pod, c.container.name, false, "Created", `Created container: ${c.container.name}`);
    await this.starter.startContainers(entry);
    for (const c of created)
      this.event(pod, c.container.name, false, "Started", `Started container ${c.container.name}`);
  }

  private async launch(
    entry: CachedPod,
    pod: Pod,
    container: Container,
    cached: CachedContainer,
    env: EnvContext,
    init: boolean,
  ): Promise<void> {
    await this.deliver(entry, pod, container, cached.id, env);
    this.event(pod, container.name, init, "Created", `Created container: ${container.name}`);
    await this.starter.startContainer(cached);
    this.event(pod, container.name, init, "Started", `Started container ${container.name}`);
  }

  private async deliver(
    entry: CachedPod,
    pod: Pod,
    container: Container,
    id: string,
    env: EnvContext,
  ): Promise<void> {
    if (!this.delivery.needed(pod, container)) return;
    try {
      const delivered = await this.delivery.deliver(pod, container, id, env, entry.delivered?.get(id));
      (entry.delivered ??= new Map()).set(id, delivered);
    } catch (err) {
      throw this.mountFailure(pod, err);
    }
  }

  /** Re-deliver volume files whose sources changed into the pod's app containers. */
  async refresh(entry: CachedPod): Promise<void> {
    const pod = entry.pod;
    if (!pod || entry.failure || entry.containers.size === 0) return;
    if (!pod.spec.containers.some((c) => this.delivery.needed(pod, c))) return;
    const env = await this.envContext(entry);
    for (const container of pod.spec.containers) {
      const cached = entry.containers.get(container.name);
      if (!cached || !this.delivery.needed(pod, container)) continue;
      const delivered = await this.delivery.deliver(
        pod,
        container,
        cached.id,
        env,
        entry.delivered?.get(cached.id),
      );
      (entry.delivered ??= new Map()).set(cached.id, delivered);
    }
  }

  private event(pod: Pod, container: string, init: boolean, reason: string, message: string): void {
    this.options.events?.(pod, {
      type: "Normal",
      reason,
      message,
      fieldPath: containerField(container, init),
    });
  }
}
