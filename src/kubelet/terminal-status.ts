/**
 * The last status a pod gets before its object is removed (virtual-kubelet's contract; a kubelet
 * since 1.27 does the same): every container terminated, phase Succeeded when all of them exited
 * 0, else Failed, and the pod no longer ready.
 */
import { kubeTime, type ContainerStatus, type PodStatus } from "./kube/types.js";

function terminated(c: ContainerStatus, at: string): ContainerStatus {
  if (c.state.terminated) return { ...c, ready: false, started: false };
  // Stopped without an exit we saw (never started, or gone with the engine): as a kubelet says it.
  const startedAt = c.state.running?.startedAt;
  return {
    ...c,
    ready: false,
    started: false,
    state: {
      terminated: {
        exitCode: 137,
        reason: "ContainerStatusUnknown",
        message: "The container could not be located when the pod was terminated",
        ...(startedAt ? { startedAt } : {}),
        finishedAt: at,
      },
    },
  };
}

export function terminalStatus(status: PodStatus): PodStatus {
  const at = kubeTime();
  const containers = (status.containerStatuses ?? []).map((c) => terminated(c, at));
  const succeeded = containers.length > 0 && containers.every((c) => c.state.terminated?.exitCode === 0);
  const phase = status.phase === "Failed" || status.phase === "Succeeded" ? status.phase : undefined;
  return {
    ...status,
    phase: phase ?? (succeeded ? "Succeeded" : "Failed"),
    containerStatuses: containers,
    ...(status.initContainerStatuses
      ? { initContainerStatuses: status.initContainerStatuses.map((c) => terminated(c, at)) }
      : {}),
    conditions: (status.conditions ?? []).map((c) =>
      (c.type === "Ready" || c.type === "ContainersReady") && c.status !== "False"
        ? { ...c, status: "False", reason: "PodCompleted", lastTransitionTime: at }
        : c,
    ),
  };
}
