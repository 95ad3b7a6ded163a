/**
 * The narrow interfaces the controllers use, as in virtual-kubelet's node package: the pod and
 * node controllers know nothing of engines, only these. A provider for another backend is one
 * new implementation.
 */
import type { Flavor } from "../engine/flavor.js";
import type { Pod, PodStatus } from "./kube/types.js";

export interface ProviderPod {
  key: string;
  uid: string;
}

export interface PodLifecycleHandler {
  /** Create and start the pod's containers. Idempotent for a pod (uid) it already runs. */
  createPod(pod: Pod): Promise<void>;
  /** The pod object changed (labels, annotations; container specs are immutable). */
  updatePod(pod: Pod): Promise<void>;
  /** Stop within the pod's grace period and remove everything it created. Idempotent. */
  deletePod(pod: Pod): Promise<void>;
  /** The pod the provider holds under namespace/name, if any. */
  getPod(key: string): ProviderPod | undefined;
  /** Every pod the provider holds (after a restart: what the engine still runs). */
  getPods(): ProviderPod[];
  /** The pod's status as the provider sees it now; undefined for a pod it does not hold. */
  getPodStatus(pod: Pod): Promise<PodStatus | undefined>;
  /** Called with namespace/name whenever something about that pod changed (event-driven status). */
  notifyPods(callback: (key: string) => void): void;
}

/** What the node controller needs to describe the node. */
export interface NodeDescription {
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  os: string;
  arch: string;
  kernelVersion: string;
  osImage: string;
  /** docker://20.10.24, podman://4.3.1, vic://1.5.0 */
  containerRuntimeVersion: string;
  /** The flavor of the endpoint ("docker", "podman", "vic"), for the default taint's value. */
  flavor: Flavor;
  machineID: string;
}

export interface NodeProvider {
  /** Resolves when the endpoint answers; rejects with the reason it does not. */
  ping(): Promise<void>;
  describe(): Promise<NodeDescription>;
}
