/**
 * The pod provider for a Docker API endpoint: composes PodCache, PodCreator, PodStarter,
 * PodStopper, PodDeleter and PodStatus, and turns the engine's event stream into pod
 * notifications so status follows the engine within a second instead of a polling period.
 */
import { errorMessage } from "../../errors.js";
import type { Flavor } from "../../engine/flavor.js";
import { kubeTime, podKey, type Pod, type PodStatus } from "../kube/types.js";
import type { PodLifecycleHandler, ProviderPod } from "../provider-api.js";
import { podIdentity } from "./container-spec.js";
import type { EngineContainerEvent, EventSubscription, PodEngine } from "./engine.js";
import type { EnvContext } from "./env.js";
import { PodOperationError } from "./errors.js";
import { cacheKey, PodCache, type CachedContainer, type CachedPod } from "./pod-cache.js";
import type { PodCreator } from "./pod-creator.js";
import { PodDeleter } from "./pod-deleter.js";
import { PodStarter } from "./pod-starter.js";
import { PodStatusReader } from "./pod-status.js";
import { gracePeriod, PodStopper } from "./pod-stopper.js";
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE } from "./labels.js";

export interface ProviderOptions {
  node: string;
  flavor: Flavor;
  hostIP: string;
  nodeAllocatable: { cpu: number; memory: number };
  /** Called with what went wrong in the background (event stream lost…); the default is silence. */
  log?: (message: string) => void;
}

export class DockerProvider implements PodLifecycleHandler {
  readonly cache = new PodCache();
  private readonly starter: PodStarter;
  private readonly stopper: PodStopper;
  private readonly deleter: PodDeleter;
  private readonly status: PodStatusReader;
  private readonly listeners: Array<(key: string) => void> = [];
  private readonly lastTermination = new Map<string, { exitCode: number; finishedAt: string }>();
  private subscription: EventSubscription | undefined;
  private closed = false;
  private resubscribeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: PodEngine,
    private readonly creator: PodCreator,
    private readonly options: ProviderOptions,
  ) {
    this.starter = new PodStarter(engine);
    this.stopper = new PodStopper(engine);
    this.deleter = new PodDeleter(engine, options.node);
    this.status = new PodStatusReader(engine);
  }

  /** Rebuild the cache from the engine and follow its events. */
  async start(): Promise<void> {
    // Subscribe first: nothing that happens while the cache is rebuilt is missed.
    await this.subscribe();
    const { stale } = await this.cache.rehydrate(this.engine, this.options.node);
    await Promise.all(stale.map((id) => this.engine.removeContainer(id)));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resubscribeTimer);
    this.subscription?.close();
  }

  private async subscribe(): Promise<void> {
    this.subscription = await this.engine.watchEvents(
      { [LABEL_NODE]: this.options.node },
      (event) => this.onEvent(event),
      (err) => {
        if (this.closed) return;
        this.options.log?.(`engine event stream ended${err ? `: ${errorMessage(err)}` : ""}; reconnecting`);
        this.resubscribeTimer = setTimeout(() => {
          this.subscribe()
            // Events may have been missed meanwhile: have every pod's status read again.
            .then(() => this.cache.list().forEach((p) => this.notify(cacheKey(p.namespace, p.name))))
            .catch(() => this.subscription?.close());
        }, 1000);
      },
    );
  }

  private onEvent(event: EngineContainerEvent): void {
    if (event.action === "die" && event.exitCode !== undefined) {
      this.lastTermination.set(event.id, { exitCode: event.exitCode, finishedAt: new Date().toISOString() });
    }
    if (event.action === "destroy") this.lastTermination.delete(event.id);
    const key =
      this.cache.keyOfContainer(event.id) ??
      (event.labels[LABEL_NAMESPACE] && event.labels[LABEL_NAME]
        ? cacheKey(event.labels[LABEL_NAMESPACE], event.labels[LABEL_NAME])
        : undefined);
    if (key) this.notify(key);
  }

  private notify(key: string): void {
    for (const listener of this.listeners) listener(key);
  }

  notifyPods(callback: (key: string) => void): void {
    this.listeners.push(callback);
  }

  getPod(key: string): ProviderPod | undefined {
    const entry = this.cache.get(key);
    return entry ? { key, uid: entry.uid } : undefined;
  }

  getPods(): ProviderPod[] {
    return this.cache.list().map((e) => ({ key: cacheKey(e.namespace, e.name), uid: e.uid }));
  }

  async createPod(pod: Pod): Promise<void> {
    const key = podKey(pod);
    const id = podIdentity(pod);
    const existing = this.cache.get(key);
    if (existing && existing.uid === id.uid && (existing.failure || existing.containers.size > 0)) {
      existing.pod = pod;
      return;
    }
    if (existing && existing.uid !== id.uid) await this.deletePod(existing.pod ?? pod, existing);
    const entry: CachedPod = {
      ...id,
      pod,
      containers: new Map(),
      createdAt: existing?.createdAt ?? kubeTime(),
    };
    this.cache.set(entry);
    try {
      await this.creator.pullImages(pod);
      const infraId = await this.creator.createInfra(pod);
      if (infraId) {
        this.cache.setInfra(key, infraId);
        await this.starter.startInfra(entry);
      }
      const podIP = infraId ? (await this.engine.inspectContainer(infraId))?.ipAddress : undefined;
      const envContext: EnvContext = {
        hostIP: this.options.hostIP,
        ...(podIP ? { podIP } : {}),
        nodeAllocatable: this.options.nodeAllocatable,
      };
      // Sequential: the 20-pod burst is already parallel across workers, and order keeps names stable.
      for (const [index, container] of pod.spec.containers.entries()) {
        const created = await this.creator.createContainer(pod, container, index, envContext, infraId);
        this.cache.addContainer(key, created);
      }
      await this.starter.startContainers(entry);
      delete entry.waiting;
    } catch (err) {
      const failure =
        err instanceof PodOperationError
          ? { reason: err.reason, message: err.userMessage }
          : { reason: "CreateContainerError", message: errorMessage(err) };
      // Leave nothing half-made behind: a retry starts clean, a failed pod holds nothing.
      await this.deleter.delete(entry).catch(() => undefined);
      entry.containers.clear();
      delete entry.infraId;
      this.cache.set(entry);
      if (err instanceof PodOperationError && err.permanent) {
        entry.failure = failure;
        this.notify(key);
        return;
      }
      entry.waiting = failure;
      this.notify(key);
      throw err;
    }
    this.notify(key);
  }

  async updatePod(pod: Pod): Promise<void> {
    const entry = this.cache.get(podKey(pod));
    if (entry && entry.uid === pod.metadata?.uid) entry.pod = pod;
  }

  async deletePod(pod: Pod, known?: CachedPod): Promise<void> {
    const key = podKey(pod);
    const cached = known ?? this.cache.get(key);
    const uid = pod.metadata?.uid ?? cached?.uid ?? "";
    // A cache entry of another uid belongs to a different pod of the same name: leave it.
    const entry =
      cached && cached.uid === uid ? cached : { uid, containers: new Map<string, CachedContainer>() };
    await this.stopper.stop(entry, gracePeriod(pod));
    await this.deleter.delete(entry);
    if (cached && cached.uid === uid) this.cache.delete(key);
    for (const c of entry.containers.values()) this.lastTermination.delete(c.id);
  }

  async getPodStatus(pod: Pod): Promise<PodStatus | undefined> {
    const entry = this.cache.get(podKey(pod));
    if (!entry || entry.uid !== pod.metadata?.uid) return undefined;
    return this.status.read(entry, pod, {
      hostIP: this.options.hostIP,
      runtime: `${this.options.flavor}://`,
      lastTermination: this.lastTermination,
    });
  }
}
