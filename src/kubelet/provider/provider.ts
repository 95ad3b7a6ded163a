/**
 * The pod provider for a Docker API endpoint: composes PodCache, PodCreator, PodStarter,
 * PodStopper, PodDeleter and PodStatus, and turns the engine's event stream into pod
 * notifications so status follows the engine within a second instead of a polling period.
 */
import { errorMessage } from "../../errors.js";
import { capabilitiesOf, type Capabilities, type Flavor } from "../../engine/flavor.js";
import { kubeTime, podKey, type Pod, type PodStatus } from "../kube/types.js";
import type { PodLifecycleHandler, ProviderPod } from "../provider-api.js";
import { isSidecar, podIdentity } from "./container-spec.js";
import type { EngineContainerEvent, EventSubscription, PodEngine, StreamingEngine } from "./engine.js";
import type { ConfigSource, TokenSource } from "./config-scope.js";
import { PodOperationError } from "./errors.js";
import { containerField, type PodEventSink } from "./events.js";
import { PodRunner } from "./pod-runner.js";
import { ProbeManager } from "./probe-manager.js";
import { ContainerRestarter } from "./restarts.js";
import { VolumeDelivery } from "./volume-delivery.js";
import { cacheKey, networkHolder, PodCache, type CachedContainer, type CachedPod } from "./pod-cache.js";
import type { PodCreator } from "./pod-creator.js";
import { PodDeleter } from "./pod-deleter.js";
import { PodStarter } from "./pod-starter.js";
import { PodStatusReader } from "./pod-status.js";
import { gracePeriod, PodStopper, type PreStop } from "./pod-stopper.js";
import { LifecycleHooks } from "./lifecycle-hooks.js";
import { killAndRestart } from "./container-kill.js";
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE } from "./labels.js";
import type { PodRelay } from "./pod-relay.js";
import type { Duplex } from "node:stream";

/** How long a postStart hook may run (a kubelet sets none; a hung hook must not be held forever). */
export const POST_START_TIMEOUT_MS = 120_000;

/**
 * Engine events that can change a pod's status. The others (create, exec_*, attach, archive
 * copies, kill before its die…) carry nothing the status shows, so they bring no re-sync.
 */
const STATUS_EVENTS = new Set(["start", "die", "oom", "destroy", "pause", "unpause"]);

export interface ProviderOptions {
  node: string;
  flavor: Flavor;
  /** What the endpoint can do (default: its flavor's). */
  capabilities?: Capabilities;
  hostIP: string;
  nodeAllocatable: { cpu: number; memory: number };
  /** Called with what went wrong in the background (event stream lost…); the default is silence. */
  log?: (message: string) => void;
  events?: PodEventSink;
  /** Where volume files come from (configMaps, secrets; the creator's source by default). */
  config?: ConfigSource;
  tokens?: TokenSource;
  /** The pods it holds, shared with the parts serving streams and stats (a new one by default). */
  cache?: PodCache;
  /** How often changed configMaps/secrets/tokens are re-delivered into running pods (0: never). */
  volumeRefreshMs?: number;
  /** Where exec probes and lifecycle hooks run; without it none run (containers are ready once running). */
  probeExec?: Pick<StreamingEngine, "exec">;
  /** Relay mode: tcpSocket and httpGet probes go through a forwarder in the pod (pod-relay.ts). */
  relay?: PodRelay;
}

export class DockerProvider implements PodLifecycleHandler {
  readonly cache: PodCache;
  private readonly starter: PodStarter;
  private readonly stopper: PodStopper;
  private readonly deleter: PodDeleter;
  private readonly status: PodStatusReader;
  private readonly runner: PodRunner;
  private readonly probes: ProbeManager | undefined;
  /** Lifecycle hooks, where the engine can exec (the same connection probes use). */
  private readonly hooks: LifecycleHooks | undefined;
  /** The kubelet's own restarts: after failed probes, and of every exit where the engine restarts nothing. */
  private readonly restarter: ContainerRestarter;
  private readonly capabilities: Capabilities;
  /** Pods being deleted: their stopping containers must not be restarted. */
  private readonly deleting = new Set<string>();
  /** Pods whose app containers are all done: their sidecars are stopped and not restarted. */
  private readonly finished = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(key: string) => void> = [];
  private readonly lastTermination = new Map<string, { exitCode: number; finishedAt: string }>();
  /**
   * Containers the pod work started itself, whose `start` event is still to come: the status
   * written right after that work already shows them running, so the echo brings no re-sync.
   */
  private readonly ownStarts = new Set<string>();
  private subscription: EventSubscription | undefined;
  private closed = false;
  private resubscribeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: PodEngine,
    private readonly creator: PodCreator,
    private readonly options: ProviderOptions,
  ) {
    this.cache = options.cache ?? new PodCache();
    this.starter = new PodStarter(engine, (id) => this.ownStarts.add(id));
    this.stopper = new PodStopper(engine);
    this.deleter = new PodDeleter(engine, options.node);
    this.status = new PodStatusReader(engine);
    const delivery = new VolumeDelivery(engine, options.config ?? creator.config, options.tokens);
    this.capabilities = options.capabilities ?? capabilitiesOf(options.flavor);
    this.restarter = new ContainerRestarter({
      startContainer: (id) => engine.startContainer(id),
      notify: (key) => this.notify(key),
      ...(options.log ? { log: options.log } : {}),
    });
    const exec = options.probeExec;
    this.probes = exec
      ? new ProbeManager({
          engine: {
            exec: (id, command, streams) => exec.exec(id, command, streams),
            killContainer: (id, signal) => engine.killContainer(id, signal),
            startContainer: (id) => engine.startContainer(id),
            inspectContainer: (id) => engine.inspectContainer(id),
          },
          notify: (key) => this.notify(key),
          restarter: this.restarter,
          ...(options.relay ? { dial: this.relayDial(options.relay) } : {}),
          ...(options.events ? { events: options.events } : {}),
          ...(options.log ? { log: options.log } : {}),
        })
      : undefined;
    this.hooks = exec ? new LifecycleHooks(exec, options.events) : undefined;
    this.runner = new PodRunner(engine, this.cache, creator, this.starter, delivery, {
      hostIP: options.hostIP,
      nodeAllocatable: options.nodeAllocatable,
      capabilities: this.capabilities,
      ...(options.events ? { events: options.events } : {}),
    });
  }

  /** Connections into a pod's network through the relay, from the container holding it. */
  private relayDial(relay: PodRelay): (podKey: string, port: number, timeoutMs: number) => Promise<Duplex> {
    return async (podKey, port, timeoutMs) => {
      const entry = this.cache.get(podKey);
      const holder = entry ? networkHolder(entry) : undefined;
      if (!holder) throw new Error("the pod has no running container to relay through");
      return relay.dial(holder, port, timeoutMs);
    };
  }

  /** Rebuild the cache from the engine and follow its events. */
  async start(): Promise<void> {
    // Subscribe first: nothing that happens while the cache is rebuilt is missed.
    await this.subscribe();
    const { stale } = await this.cache.rehydrate(this.engine, this.options.node);
    await Promise.all(stale.map((id) => this.engine.removeContainer(id)));
    const every = this.options.volumeRefreshMs ?? 0;
    if (every > 0) this.scheduleRefresh(every);
  }

  private scheduleRefresh(every: number): void {
    this.refreshTimer = setTimeout(() => {
      void this.refreshVolumes().finally(() => {
        if (!this.closed) this.scheduleRefresh(every);
      });
    }, every);
    this.refreshTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.resubscribeTimer);
    this.subscription?.close();
    this.probes?.close();
    this.restarter.close();
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
    if (event.action === "destroy") {
      this.lastTermination.delete(event.id);
      this.ownStarts.delete(event.id);
    }
    if (event.action === "start" && this.hooks) void this.postStart(event.id);
    if (!STATUS_EVENTS.has(event.action)) return;
    if (event.action === "start" && this.ownStarts.delete(event.id)) return;
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
    if (existing && existing.uid === id.uid) {
      existing.pod = pod;
      await this.progress(existing, pod);
      return;
    }
    if (existing) await this.deletePod(existing.pod ?? pod, existing);
    const entry: CachedPod = {
      ...id,
      pod,
      containers: new Map(),
      createdAt: existing?.createdAt ?? kubeTime(),
    };
    this.cache.set(entry);
    await this.progress(entry, pod);
  }

  /** The pod object changed; a pod still on its way (waiting, initializing) takes its next step. */
  async updatePod(pod: Pod): Promise<void> {
    const entry = this.cache.get(podKey(pod));
    if (!entry || entry.uid !== pod.metadata?.uid) return;
    entry.pod = pod;
    await this.progress(entry, pod);
  }

  private async progress(entry: CachedPod, pod: Pod): Promise<void> {
    if (!this.runner.pending(entry)) return;
    const key = podKey(pod);
    try {
      // Rehydrated half-way (infra or init containers, no app containers): start over cleanly.
      if (!entry.prepared && (entry.infraId || entry.initContainers?.size)) await this.clear(entry);
      await this.runner.progress(entry, pod);
      delete entry.waiting;
    } catch (err) {
      const failure =
        err instanceof PodOperationError
          ? { reason: err.reason, message: err.userMessage }
          : { reason: "CreateContainerError", message: errorMessage(err) };
      // Leave nothing half-made behind: a retry starts clean, a failed pod holds nothing.
      await this.clear(entry).catch(() => undefined);
      if (err instanceof PodOperationError && err.permanent) {
        entry.failure = failure;
        this.notify(key);
        return;
      }
      entry.waiting = failure;
      // A failure that names its retry time (an image back-off) is not re-run at once by a notification.
      if (!(err instanceof PodOperationError && err.retryAfterMs !== undefined)) this.notify(key);
      throw err;
    }
    // No notification on success: the caller (the pod controller's sync) writes the status next.
  }

  /** Remove whatever the pod has on the engine and forget it, keeping the cache entry. */
  private async clear(entry: CachedPod): Promise<void> {
    this.restarter.forget(cacheKey(entry.namespace, entry.name));
    await this.deleter.delete(entry);
    entry.containers.clear();
    entry.initContainers?.clear();
    delete entry.infraId;
    delete entry.delivered;
    entry.prepared = false;
    this.cache.set(entry);
  }

  /** Deliver changed configMap/secret/downward API/token files into running pods. */
  async refreshVolumes(): Promise<void> {
    for (const entry of this.cache.list()) {
      await this.runner
        .refresh(entry)
        .catch((err: unknown) =>
          this.options.log?.(`volumes of ${cacheKey(entry.namespace, entry.name)}: ${errorMessage(err)}`),
        );
    }
  }

  async deletePod(pod: Pod, known?: CachedPod): Promise<PodStatus | undefined> {
    const key = podKey(pod);
    const cached = known ?? this.cache.get(key);
    const uid = pod.metadata?.uid ?? cached?.uid ?? "";
    // A cache entry of another uid belongs to a different pod of the same name: leave it.
    const owned = cached && cached.uid === uid ? cached : undefined;
    const entry = owned ?? { uid, containers: new Map<string, CachedContainer>() };
    for (const c of pod.spec.containers) {
      if (!entry.containers.has(c.name)) continue;
      this.options.events?.(pod, {
        type: "Normal",
        reason: "Killing",
        message: `Stopping container ${c.name}`,
        fieldPath: containerField(c.name),
      });
    }
    // Stopping makes its containers exit: nothing may start them again from here on.
    if (owned) {
      this.restarter.forget(key);
      this.deleting.add(key);
    }
    let final: PodStatus | undefined;
    try {
      await this.stopper.stop(entry, gracePeriod(pod), this.preStop(pod, owned));
      // The stopped containers' exits, read before they are removed: the pod's last status.
      if (owned)
        final = await this.getPodStatus(pod).catch((err: unknown) => {
          this.options.log?.(`status of ${key} after stopping: ${errorMessage(err)}`);
          return undefined;
        });
      await this.deleter.delete(entry);
    } finally {
      if (owned) this.deleting.delete(key);
    }
    if (owned) {
      this.cache.delete(key);
      this.restarter.forget(key);
    }
    this.probes?.forget(key);
    if (owned?.infraId) this.options.relay?.forget(owned.infraId);
    this.creator.forget(uid);
    if (owned) this.finished.delete(key);
    for (const c of entry.containers.values()) this.lastTermination.delete(c.id);
    return final;
  }

  /**
   * A container (re)started: its postStart hook, as a kubelet runs it after every start. When the
   * hook fails the container is killed and restarted per restartPolicy (FailedPostStartHook).
   */
  private async postStart(id: string): Promise<void> {
    const key = this.cache.keyOfContainer(id);
    const entry = key ? this.cache.get(key) : undefined;
    const pod = entry?.pod;
    if (!key || !entry || !pod || !this.hooks) return;
    const init = [...(entry.initContainers?.values() ?? [])].find((c) => c.id === id);
    const cached = init ?? [...entry.containers.values()].find((c) => c.id === id);
    const container = (init ? pod.spec.initContainers : pod.spec.containers)?.find(
      (c) => c.name === cached?.name,
    );
    if (!container?.lifecycle?.postStart) return;
    const podIP = await this.runner
      .envContext(entry)
      .then((env) => env.podIP)
      .catch(() => undefined);
    const target = { pod, container, containerId: id, podIP, init: init !== undefined };
    if (await this.hooks.run("PostStart", target, POST_START_TIMEOUT_MS)) return;
    if (this.deleting.has(key) || this.cache.get(key) !== entry) return;
    this.options.events?.(pod, {
      type: "Normal",
      reason: "Killing",
      message: `FailedPostStartHook: container ${container.name} will be restarted`,
      fieldPath: containerField(container.name, init !== undefined),
    });
    await killAndRestart(
      this.engine,
      this.restarter,
      { podKey: key, pod, name: container.name, id, init: init !== undefined },
      gracePeriod(pod),
    ).catch((err: unknown) =>
      this.options.log?.(`killing ${id} after its postStart hook failed: ${errorMessage(err)}`),
    );
  }

  /** The app containers are done: the sidecars are stopped, the last started first (KEP-753). */
  private async stopSidecars(entry: CachedPod, pod: Pod): Promise<void> {
    const sidecars = (pod.spec.initContainers ?? []).filter(isSidecar).reverse();
    for (const s of sidecars) {
      const cached = entry.initContainers?.get(s.name);
      if (!cached) continue;
      await this.engine
        .stopContainer(cached.id, gracePeriod(pod))
        .catch((err: unknown) => this.options.log?.(`stopping sidecar ${cached.id}: ${errorMessage(err)}`));
    }
    this.notify(podKey(pod));
  }

  /** preStop hooks of the pod's containers, where the engine can exec (undefined: none run). */
  private preStop(pod: Pod, entry: CachedPod | undefined): PreStop | undefined {
    const hooks = this.hooks;
    if (!hooks || !entry) return undefined;
    const specs = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    if (!specs.some((c) => c.lifecycle?.preStop)) return undefined;
    const podIP = this.runner.envContext(entry).then((env) => env.podIP);
    return async (c, timeoutMs) => {
      const init = entry.initContainers?.get(c.name)?.id === c.id;
      const container = (init ? pod.spec.initContainers : pod.spec.containers)?.find(
        (s) => s.name === c.name,
      );
      if (!container?.lifecycle?.preStop) return;
      const ip = await podIP.catch(() => undefined);
      await hooks.run("PreStop", { pod, container, containerId: c.id, podIP: ip, init }, timeoutMs);
    };
  }

  async getPodStatus(pod: Pod): Promise<PodStatus | undefined> {
    const entry = this.cache.get(podKey(pod));
    if (!entry || entry.uid !== pod.metadata?.uid) return undefined;
    const probes = this.probes;
    const key = podKey(pod);
    // Where the engine never restarts (a VCH), every exit the status shows is the kubelet's to handle.
    const restartsHere =
      !this.capabilities.restartPolicies && !this.deleting.has(key) && !this.finished.has(key);
    const status = await this.status.read(entry, pod, {
      hostIP: this.options.hostIP,
      runtime: `${this.options.flavor}://`,
      lastTermination: this.lastTermination,
      restarts: this.restarter,
      ...(probes ? { probes } : {}),
      ...(restartsHere ? { onExited: (c) => this.restarter.exited({ ...c, podKey: key, pod }) } : {}),
    });
    probes?.sync(podKey(pod), pod, status);
    if ((status.phase === "Succeeded" || status.phase === "Failed") && !this.finished.has(key)) {
      this.finished.add(key);
      void this.stopSidecars(entry, pod);
    }
    return status;
  }
}
