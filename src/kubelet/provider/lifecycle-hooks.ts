/**
 * Container lifecycle hooks as a kubelet runs them: `exec` through the engine, `httpGet` from
 * the kubelet to the pod IP (as httpGet probes, probes.ts), `sleep`; `tcpSocket` is deprecated
 * and never run (a failure saying so). preStop runs before the container gets SIGTERM, within
 * the pod's grace period; a failed preStop is a `FailedPreStopHook` event and the stop goes on.
 * A failed postStart is a `FailedPostStartHook` event, and the caller kills the container.
 */
import type { Container, LifecycleHandler, Pod } from "../kube/types.js";
import type { StreamingEngine } from "./engine.js";
import { containerField, type PodEventSink } from "./events.js";
import { runHandler, type ProbeOutcome } from "./probes.js";

export type HookKind = "PostStart" | "PreStop";

export interface HookTarget {
  pod: Pod;
  container: Container;
  containerId: string;
  podIP: string | undefined;
  /** A sidecar or other init container (for the event's field path). */
  init?: boolean;
}

export class LifecycleHooks {
  constructor(
    private readonly engine: Pick<StreamingEngine, "exec">,
    private readonly events?: PodEventSink,
  ) {}

  /** Run the hook, when the container has one; true unless it failed (the event is recorded). */
  async run(kind: HookKind, target: HookTarget, timeoutMs: number): Promise<boolean> {
    const handler =
      kind === "PostStart" ? target.container.lifecycle?.postStart : target.container.lifecycle?.preStop;
    if (!handler) return true;
    const outcome = await runHook(this.engine, handler, target, timeoutMs);
    if (outcome.ok) return true;
    const meta = target.pod.metadata;
    const what = handler.exec
      ? `Exec lifecycle hook (${JSON.stringify(handler.exec.command ?? [])})`
      : handler.httpGet
        ? "HTTP lifecycle hook"
        : "Lifecycle hook";
    this.events?.(target.pod, {
      type: "Warning",
      reason: `Failed${kind}Hook`,
      message: `${what} for Container "${target.container.name}" in Pod "${meta?.name ?? ""}_${meta?.namespace ?? "default"}(${meta?.uid ?? ""})" failed - error: ${outcome.message}`,
      fieldPath: containerField(target.container.name, target.init),
    });
    return false;
  }
}

/** One hook handler within timeoutMs. */
export async function runHook(
  engine: Pick<StreamingEngine, "exec">,
  handler: LifecycleHandler,
  target: Pick<HookTarget, "container" | "containerId" | "podIP">,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  if (handler.sleep) {
    const ms = Math.min(Math.max(0, handler.sleep.seconds) * 1000, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { ok: true, message: "" };
  }
  if (handler.exec || handler.httpGet) {
    const { exec, httpGet } = handler;
    return runHandler(
      engine,
      { ...(exec ? { exec } : {}), ...(httpGet ? { httpGet } : {}) },
      target,
      timeoutMs,
    );
  }
  return {
    ok: false,
    message: "tcpSocket lifecycle handlers are deprecated and not run; use exec, httpGet or sleep",
  };
}
