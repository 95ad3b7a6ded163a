/**
 * Killing a container the kubelet gave up on (a failed liveness or startup probe, a failed
 * postStart hook): SIGTERM, SIGKILL if it still runs after the grace period, then the restarter
 * starts it again as the pod's restartPolicy says (the engine counts a kill as a stop by hand).
 */
import type { Pod } from "../kube/types.js";
import type { PodEngine } from "./engine.js";
import type { ContainerRestarter } from "./restarts.js";

export interface KilledContainer {
  podKey: string;
  pod: Pod;
  name: string;
  id: string;
  init?: boolean;
}

export async function killAndRestart(
  engine: Pick<PodEngine, "killContainer" | "inspectContainer">,
  restarter: Pick<ContainerRestarter, "exited">,
  c: KilledContainer,
  graceSeconds: number,
): Promise<void> {
  let details = await engine.inspectContainer(c.id);
  await engine.killContainer(c.id, graceSeconds > 0 ? "SIGTERM" : "SIGKILL");
  const deadline = Date.now() + graceSeconds * 1000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    details = await engine.inspectContainer(c.id);
    if (!details || details.state.status !== "running") break;
    if (Date.now() >= deadline) await engine.killContainer(c.id, "SIGKILL");
  }
  if (!details) return;
  restarter.exited({ podKey: c.podKey, pod: c.pod, name: c.name, init: c.init ?? false, details });
}
