import { DinvError } from "../../errors.js";

/** The reasons Kubernetes users know from a real kubelet, so `kubectl get pod` reads familiarly. */
export type PodFailureReason =
  | "ErrImagePull"
  | "ErrImageNeverPull"
  | "InvalidImageName"
  | "CreateContainerConfigError"
  | "CreateContainerError"
  | "StartError"
  | "InfraContainerError"
  | "FailedMount"
  | "HostNetworkNotSupported";

/**
 * A pod operation failed. `permanent` when the engine (or the pod spec) refused: retrying the
 * same request cannot succeed, so the pod is marked Failed. Otherwise (the engine did not
 * answer, a referenced configMap is missing yet) the work queue retries with backoff.
 */
export class PodOperationError extends DinvError {
  readonly reason: PodFailureReason;
  readonly permanent: boolean;

  constructor(
    message: string,
    options: { reason: PodFailureReason; permanent: boolean; hint?: string; cause?: unknown },
  ) {
    super(message, options);
    this.reason = options.reason;
    this.permanent = options.permanent;
  }
}
