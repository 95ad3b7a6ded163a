import { DinvError } from "../../errors.js";
import type { RetryAfter } from "../provider-api.js";

/** The reasons Kubernetes users know from a real kubelet, so `kubectl get pod` reads familiarly. */
export type PodFailureReason =
  | "ErrImagePull"
  | "ImagePullBackOff"
  | "ErrImageNeverPull"
  | "InvalidImageName"
  | "CreateContainerConfigError"
  | "CreateContainerError"
  | "StartError"
  | "InfraContainerError"
  | "FailedMount"
  | "HostNetworkNotSupported"
  | "SysctlForbidden";

/**
 * A pod operation failed. `permanent` when the engine (or the pod spec) refused: retrying the
 * same request cannot succeed, so the pod is marked Failed. Otherwise (the engine did not
 * answer, a referenced configMap is missing yet) the work queue retries with backoff.
 */
export class PodOperationError extends DinvError implements RetryAfter {
  readonly reason: PodFailureReason;
  readonly permanent: boolean;
  /** When a retry is worth making (an image back-off); undefined: the work queue's own back-off. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: {
      reason: PodFailureReason;
      permanent: boolean;
      hint?: string;
      cause?: unknown;
      retryAfterMs?: number;
    },
  ) {
    super(message, options);
    this.reason = options.reason;
    this.permanent = options.permanent;
    this.retryAfterMs = options.retryAfterMs;
  }
}
