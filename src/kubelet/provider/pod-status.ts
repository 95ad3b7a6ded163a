/**
 * PodStatus: the Kubernetes status of a pod from what the engine reports about its containers —
 * real states (Waiting/Running/Terminated with exit codes and reasons), restart counts, phase,
 * the four conditions, IPs and start time. The original VIC provider reported every container
 * Ready whatever its state; here Ready means running and, where the container has probes,
 * started (startup probe) and ready (readiness probe).
 */
import {
  kubeTime,
  type Container,
  type ContainerState,
  type ContainerStatus,
  type Pod,
  type PodCondition,
  type PodPhase,
  type PodStatus,
} from "../kube/types.js";
import type { EngineContainerDetails, PodEngine } from "./engine.js";
import type { CachedPod } from "./pod-cache.js";
import type { ProbeState } from "./probe-manager.js";

export interface StatusContext {
  hostIP: string;
  /** Container ID scheme: docker://, podman://, vic://. */
  runtime: string;
  /** Readiness and startup from the containers' probes. */
  probes?: {
    state(container: Container, containerId: string, startedAt: string): ProbeState;
  };
  /** The restarts the kubelet made itself (restarts.ts), and the back-off of one still to come. */
  restarts?: {
    restarts(containerId: string): number;
    backOff(containerId: string): string | undefined;
  };
  /**
   * Told of every exited container before the status is computed, where the kubelet restarts
   * containers itself (a VCH), so a restart it schedules shows at once as CrashLoopBackOff.
   */
  onExited?: (container: { name: string; init: boolean; details: EngineContainerDetails }) => void;
  /** The last termination seen per engine container id (from die events), for lastState. */
  lastTermination?: ReadonlyMap<string, { exitCode: number; finishedAt: string }>;
  now?: Date;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

function engineTime(value: string | undefined): string | undefined {
  if (!value || value.startsWith("0001-01-01")) return undefined;
  return kubeTime(new Date(value));
}

/**
 * The state, and the last state where the kubelet holds a restart back: an exited container
 * waiting out its back-off is CrashLoopBackOff, its exit the last state, as on a kubelet.
 */
function currentState(
  details: EngineContainerDetails | undefined,
  waitingReason: { reason: string; message?: string },
  containerID: string | undefined,
  ctx: StatusContext,
): { state: ContainerState; backedOff?: ContainerState } {
  const state = containerState(details, waitingReason, containerID);
  const backOff = details && state.terminated ? ctx.restarts?.backOff(details.id) : undefined;
  if (!backOff) return { state };
  return { state: { waiting: { reason: "CrashLoopBackOff", message: backOff } }, backedOff: state };
}

function restartsOf(details: EngineContainerDetails | undefined, ctx: StatusContext): number {
  return details ? details.restartCount + (ctx.restarts?.restarts(details.id) ?? 0) : 0;
}

function containerState(
  details: EngineContainerDetails | undefined,
  waitingReason: { reason: string; message?: string },
  containerID: string | undefined,
): ContainerState {
  if (!details) return { waiting: waitingReason };
  const s = details.state;
  switch (s.status) {
    case "running":
    case "paused":
      return { running: { startedAt: engineTime(s.startedAt) ?? kubeTime() } };
    case "restarting":
      // The engine's restart policy is backing off between restarts.
      return {
        waiting: { reason: "CrashLoopBackOff", message: `exited with code ${s.exitCode}; restarting` },
      };
    case "created":
      return { waiting: { reason: "ContainerCreating" } };
    case "exited":
    case "dead":
    case "removing": {
      if (!engineTime(s.startedAt) && s.error) {
        // Never ran: the start itself failed.
        return { waiting: { reason: "StartError", message: s.error } };
      }
      const reason = s.oomKilled ? "OOMKilled" : s.exitCode === 0 ? "Completed" : "Error";
      return {
        terminated: {
          exitCode: s.exitCode,
          reason,
          ...(s.error ? { message: s.error } : {}),
          startedAt: engineTime(s.startedAt) ?? ZERO_TIME,
          finishedAt: engineTime(s.finishedAt) ?? ZERO_TIME,
          ...(containerID ? { containerID } : {}),
        },
      };
    }
  }
}

/** Compute the status; `previous` keeps condition transition times and startTime stable. */
export function podStatusFrom(
  entry: CachedPod | undefined,
  pod: Pod,
  details: ReadonlyMap<string, EngineContainerDetails | undefined>,
  infra: EngineContainerDetails | undefined,
  ctx: StatusContext,
): PodStatus {
  const previous = pod.status ?? {};
  const now = kubeTime(ctx.now);
  const failure = entry?.failure;
  const waiting = failure
    ? { reason: failure.reason, message: failure.message }
    : entry?.waiting
      ? { reason: entry.waiting.reason, message: entry.waiting.message }
      : { reason: "ContainerCreating" };

  const startedSidecars = new Set<string>();
  const sidecarNames = new Set(
    (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always").map((c) => c.name),
  );
  const initStatuses: ContainerStatus[] = (pod.spec.initContainers ?? []).map((c) => {
    const cached = entry?.initContainers?.get(c.name);
    const d = cached ? details.get(cached.id) : undefined;
    const containerID = d ? `${ctx.runtime}${d.id}` : undefined;
    const { state, backedOff } = currentState(
      d,
      failure || entry?.waiting ? waiting : { reason: "PodInitializing" },
      containerID,
      ctx,
    );
    const sidecar = c.restartPolicy === "Always";
    // A sidecar counts as initialized once it has started (it keeps running, or is restarted).
    if (sidecar && d && engineTime(d.state.startedAt)) startedSidecars.add(c.name);
    return {
      name: c.name,
      state,
      lastState: backedOff ?? {},
      // An init container is ready once it finished successfully; a sidecar while it runs.
      ready: sidecar ? state.running !== undefined : state.terminated?.exitCode === 0,
      started: state.running !== undefined,
      restartCount: restartsOf(d, ctx),
      image: c.image ?? "",
      imageID: d?.imageId ?? "",
      ...(containerID ? { containerID } : {}),
    };
  });
  const initComplete = (s: ContainerStatus) =>
    s.state.terminated?.exitCode === 0 || startedSidecars.has(s.name);
  const initDone = initStatuses.every(initComplete);
  const sidecarStatuses = initStatuses.filter((s) => sidecarNames.has(s.name));
  const initFailed =
    pod.spec.restartPolicy === "Never" &&
    initStatuses.some(
      (s) =>
        !sidecarNames.has(s.name) && s.state.terminated !== undefined && s.state.terminated.exitCode !== 0,
    );
  const appWaiting = initDone || failure || entry?.waiting ? waiting : { reason: "PodInitializing" };

  const statuses: ContainerStatus[] = pod.spec.containers.map((c) => {
    const cached = entry?.containers.get(c.name);
    const d = cached ? details.get(cached.id) : undefined;
    const containerID = d ? `${ctx.runtime}${d.id}` : undefined;
    const { state, backedOff } = currentState(d, appWaiting, containerID, ctx);
    const last = cached ? ctx.lastTermination?.get(cached.id) : undefined;
    const restartCount = restartsOf(d, ctx);
    const lastState: ContainerState = backedOff
      ? backedOff
      : last && d && restartCount > 0
        ? {
            terminated: {
              exitCode: last.exitCode,
              reason: last.exitCode === 0 ? "Completed" : "Error",
              finishedAt: engineTime(last.finishedAt) ?? ZERO_TIME,
              startedAt: ZERO_TIME,
            },
          }
        : {};
    const probed =
      state.running?.startedAt && d && ctx.probes
        ? ctx.probes.state(c, d.id, state.running.startedAt)
        : { ready: state.running !== undefined, started: state.running !== undefined };
    return {
      name: c.name,
      state,
      lastState,
      ready: probed.ready,
      started: probed.started,
      restartCount,
      image: c.image ?? "",
      imageID: d?.imageId ?? "",
      ...(containerID ? { containerID } : {}),
    };
  });

  const phase = initFailed
    ? "Failed"
    : !initDone && !failure
      ? "Pending"
      : phaseOf(statuses, failure !== undefined);
  const uninitialized = initStatuses.filter((s) => !initComplete(s)).map((s) => s.name);
  // Sidecars count for readiness, as on a kubelet.
  const readiness = [...sidecarStatuses, ...statuses];
  const allReady = readiness.every((s) => s.ready);
  const notReady = readiness.filter((s) => !s.ready).map((s) => s.name);
  const readyMessage = notReady.length
    ? `containers with unready status: [${notReady.join(" ")}]`
    : undefined;
  const conditions: PodCondition[] = [
    condition(
      "Initialized",
      initDone,
      initDone ? undefined : "ContainersNotInitialized",
      initDone ? undefined : `containers with incomplete status: [${uninitialized.join(" ")}]`,
    ),
    condition("Ready", allReady, allReady ? undefined : "ContainersNotReady", readyMessage),
    condition("ContainersReady", allReady, allReady ? undefined : "ContainersNotReady", readyMessage),
    condition("PodScheduled", true),
  ].map((c) => {
    const before = previous.conditions?.find((p) => p.type === c.type);
    return {
      ...c,
      lastTransitionTime:
        before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  });

  const podIP = (infra ?? firstWithIp(details))?.ipAddress;
  const startTime = previous.startTime ?? entry?.createdAt ?? now;
  return {
    phase,
    conditions,
    ...(failure ? { reason: failure.reason, message: failure.message } : {}),
    hostIP: ctx.hostIP,
    hostIPs: [{ ip: ctx.hostIP }],
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime,
    ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
  };
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  return {
    type,
    status: ok ? "True" : "False",
    lastProbeTime: null,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

function firstWithIp(details: ReadonlyMap<string, EngineContainerDetails | undefined>) {
  return [...details.values()].find((d) => d?.ipAddress);
}

/** Kubernetes' phase rules over container states. */
export function phaseOf(statuses: readonly ContainerStatus[], failed: boolean): PodPhase {
  if (failed) return "Failed";
  if (statuses.length === 0) return "Pending";
  if (statuses.some((s) => s.state.running || s.state.waiting?.reason === "CrashLoopBackOff"))
    return "Running";
  if (statuses.every((s) => s.state.terminated)) {
    return statuses.every((s) => s.state.terminated?.exitCode === 0) ? "Succeeded" : "Failed";
  }
  // Some terminated while others never started: still running towards a result.
  if (
    statuses.some((s) => s.state.terminated) &&
    statuses.every((s) => s.state.terminated || s.state.running)
  )
    return "Running";
  return "Pending";
}

/** Reads the engine and computes the status of one cached pod. */
export class PodStatusReader {
  constructor(private readonly engine: PodEngine) {}

  async read(entry: CachedPod | undefined, pod: Pod, ctx: StatusContext): Promise<PodStatus> {
    const ids = entry
      ? [...entry.containers.values(), ...(entry.initContainers?.values() ?? [])].map((c) => c.id)
      : [];
    const [infra, ...found] = await Promise.all([
      entry?.infraId ? this.engine.inspectContainer(entry.infraId) : Promise.resolve(undefined),
      ...ids.map((id) => this.engine.inspectContainer(id)),
    ]);
    const details = new Map(ids.map((id, i) => [id, found[i]]));
    if (entry && ctx.onExited) {
      const containers = [
        ...[...(entry.initContainers?.values() ?? [])].map((c) => ({ c, init: true })),
        ...[...entry.containers.values()].map((c) => ({ c, init: false })),
      ];
      for (const { c, init } of containers) {
        const d = details.get(c.id);
        if (d?.state.status === "exited") ctx.onExited({ name: c.name, init, details: d });
      }
    }
    return podStatusFrom(entry, pod, details, infra, ctx);
  }
}
