/**
 * Runs the startup, liveness and readiness probes of every running app container, as a
 * kubelet's prober does: one worker per probe and container instance (an engine restart is a
 * new instance: its probes start over), initialDelaySeconds counted from the container's start,
 * then every periodSeconds, with successThreshold/failureThreshold. Until the startup probe
 * passes, liveness and readiness are not run and the container is not started; a container with
 * a readiness probe is unready until it passes. A failed liveness or startup probe kills the
 * container (SIGTERM, SIGKILL after the grace period) and hands it to the ContainerRestarter
 * (restarts.ts), which starts it again as the pod's restartPolicy says, with the kubelet's
 * back-off, and counts it: the engine counts only its own policy restarts (a killed container
 * counts as stopped by hand), and a VCH none at all. Every failed probe is an
 * `Unhealthy` event; result changes notify the pod so its status follows.
 */
import type { Duplex } from "node:stream";
import { errorMessage } from "../../errors.js";
import { killAndRestart } from "./container-kill.js";
import type { Container, Pod, PodStatus, Probe } from "../kube/types.js";
import type { PodEngine, StreamingEngine } from "./engine.js";
import { containerField, type PodEventSink } from "./events.js";
import { runProbe } from "./probes.js";
import { ContainerRestarter } from "./restarts.js";

type Kind = "startup" | "liveness" | "readiness";
const LABEL: Record<Kind, string> = { startup: "Startup", liveness: "Liveness", readiness: "Readiness" };
const DEFAULT_GRACE_SECONDS = 30;

export interface ProbeState {
  ready: boolean;
  started: boolean;
}

export interface ProbeManagerDeps {
  engine: Pick<StreamingEngine, "exec"> &
    Pick<PodEngine, "killContainer" | "inspectContainer" | "startContainer">;
  /** The pod's status should be read again (a result changed). */
  notify(podKey: string): void;
  /** Who restarts killed containers (default: one of its own over engine.startContainer). */
  restarter?: ContainerRestarter;
  events?: PodEventSink;
  log?: (message: string) => void;
  /** Relay mode: how tcpSocket and httpGet probes reach a port inside a pod. */
  dial?: (podKey: string, port: number, timeoutMs: number) => Promise<Duplex>;
}

/** The probes of one running container instance. */
interface Instance {
  key: string;
  podKey: string;
  containerId: string;
  startedAtMs: number;
  started: boolean;
  ready: boolean;
  timers: Set<NodeJS.Timeout>;
  stopped: boolean;
}

export class ProbeManager {
  /** By `${containerId}@${startedAt}`. */
  private readonly instances = new Map<string, Instance>();
  private readonly restarter: ContainerRestarter;
  /** A restarter of its own is closed with it; a shared one belongs to the provider. */
  private readonly ownsRestarter: boolean;

  constructor(private readonly deps: ProbeManagerDeps) {
    this.ownsRestarter = deps.restarter === undefined;
    this.restarter =
      deps.restarter ??
      new ContainerRestarter({
        startContainer: (id) => deps.engine.startContainer(id),
        notify: (key) => deps.notify(key),
        ...(deps.log ? { log: deps.log } : {}),
      });
  }

  /**
   * What the probes say of a container instance; a container without probes is ready and
   * started as soon as it runs.
   */
  state(container: Container, containerId: string, startedAt: string): ProbeState {
    const instance = this.instances.get(instanceKey(containerId, startedAt));
    const started = container.startupProbe ? (instance?.started ?? false) : true;
    const ready = started && (container.readinessProbe ? (instance?.ready ?? false) : true);
    return { started, ready };
  }

  /** How often the container was restarted after a failed probe (the engine does not count these). */
  restarts(containerId: string): number {
    return this.restarter.restarts(containerId);
  }

  /** With each fresh status of a pod: probe its newly running containers, stop probing the others. */
  sync(podKey: string, pod: Pod, status: PodStatus): void {
    const live = new Set<string>();
    for (const container of pod.spec.containers) {
      if (!container.startupProbe && !container.livenessProbe && !container.readinessProbe) continue;
      const s = status.containerStatuses?.find((c) => c.name === container.name);
      const startedAt = s?.state.running?.startedAt;
      const containerId = s?.containerID?.replace(/^[a-z]+:\/\//, "");
      if (!startedAt || !containerId) continue;
      const key = instanceKey(containerId, startedAt);
      live.add(key);
      if (!this.instances.has(key)) this.begin(key, podKey, pod, container, containerId, startedAt, status);
    }
    for (const instance of this.instances.values()) {
      if (instance.podKey === podKey && !live.has(instance.key)) this.end(instance);
    }
  }

  /** The pod is gone: stop its probes. */
  forget(podKey: string): void {
    for (const instance of this.instances.values()) if (instance.podKey === podKey) this.end(instance);
    this.restarter.forget(podKey);
  }

  close(): void {
    for (const instance of this.instances.values()) this.end(instance);
    if (this.ownsRestarter) this.restarter.close();
  }

  private begin(
    key: string,
    podKey: string,
    pod: Pod,
    container: Container,
    containerId: string,
    startedAt: string,
    status: PodStatus,
  ): void {
    const instance: Instance = {
      key,
      podKey,
      containerId,
      startedAtMs: Date.parse(startedAt),
      started: !container.startupProbe,
      ready: false,
      timers: new Set(),
      stopped: false,
    };
    this.instances.set(key, instance);
    const probes: Array<[Kind, Probe | undefined]> = [
      ["startup", container.startupProbe],
      ["liveness", container.livenessProbe],
      ["readiness", container.readinessProbe],
    ];
    for (const [kind, probe] of probes) {
      if (!probe) continue;
      if (probe.grpc && !probe.exec && !probe.httpGet && !probe.tcpSocket) {
        this.event(
          pod,
          container,
          "Warning",
          "ProbeNotSupported",
          `${LABEL[kind]} probe: gRPC probes are not run`,
        );
      }
      this.worker(instance, pod, container, kind, probe, () => status.podIP);
    }
  }

  private end(instance: Instance): void {
    instance.stopped = true;
    for (const timer of instance.timers) clearTimeout(timer);
    instance.timers.clear();
    this.instances.delete(instance.key);
  }

  private worker(
    instance: Instance,
    pod: Pod,
    container: Container,
    kind: Kind,
    probe: Probe,
    podIP: () => string | undefined,
  ): void {
    const period = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const successThreshold = kind === "readiness" ? Math.max(1, probe.successThreshold ?? 1) : 1;
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    let successes = 0;
    let failures = 0;

    const schedule = (delayMs: number) => {
      const timer = setTimeout(() => {
        instance.timers.delete(timer);
        void tick().finally(() => {
          if (!instance.stopped && !(kind === "startup" && instance.started)) schedule(period);
        });
      }, delayMs);
      timer.unref();
      instance.timers.add(timer);
    };

    const dial = this.deps.dial;
    const tick = async () => {
      if (instance.stopped) return;
      // Liveness and readiness wait for the startup probe.
      if (kind !== "startup" && !instance.started) return;
      const outcome = await runProbe(this.deps.engine, probe, {
        containerId: instance.containerId,
        container,
        podIP: podIP(),
        ...(dial
          ? { dial: (port: number, timeoutMs: number) => dial(instance.podKey, port, timeoutMs) }
          : {}),
      });
      if (instance.stopped) return;
      if (outcome.ok) {
        failures = 0;
        successes++;
        if (successes < successThreshold) return;
        if (kind === "startup" && !instance.started) {
          instance.started = true;
          this.deps.notify(instance.podKey);
        }
        if (kind === "readiness" && !instance.ready) {
          instance.ready = true;
          this.deps.notify(instance.podKey);
        }
        return;
      }
      successes = 0;
      failures++;
      this.event(pod, container, "Warning", "Unhealthy", `${LABEL[kind]} probe failed: ${outcome.message}`);
      if (failures < failureThreshold) return;
      if (kind === "readiness") {
        if (instance.ready) {
          instance.ready = false;
          this.deps.notify(instance.podKey);
        }
        return;
      }
      failures = 0;
      this.event(
        pod,
        container,
        "Normal",
        "Killing",
        `Container ${container.name} failed ${kind} probe, will be restarted`,
      );
      const grace = probe.terminationGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds;
      this.end(instance);
      await this.killAndRestart(instance, pod, container, grace ?? DEFAULT_GRACE_SECONDS);
    };

    const sinceStart = Date.now() - instance.startedAtMs;
    schedule(Math.max(0, (probe.initialDelaySeconds ?? 0) * 1000 - sinceStart));
  }

  private async killAndRestart(
    instance: Instance,
    pod: Pod,
    container: Container,
    graceSeconds: number,
  ): Promise<void> {
    const id = instance.containerId;
    await killAndRestart(
      this.deps.engine,
      this.restarter,
      { podKey: instance.podKey, pod, name: container.name, id },
      graceSeconds,
    ).catch((err: unknown) => this.deps.log?.(`restarting ${id} after a failed probe: ${errorMessage(err)}`));
  }

  private event(pod: Pod, container: Container, type: "Normal" | "Warning", reason: string, message: string) {
    this.deps.events?.(pod, { type, reason, message, fieldPath: containerField(container.name) });
  }
}

function instanceKey(containerId: string, startedAt: string): string {
  return `${containerId}@${Date.parse(startedAt)}`;
}
