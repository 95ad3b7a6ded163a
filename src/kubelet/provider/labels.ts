/**
 * The io.dinv.pod.* labels every container of a pod carries. They are the pod cache's only
 * source of truth across kubelet restarts: the engine remembers, the kubelet does not need to.
 */
export const LABEL_NODE = "io.dinv.pod.node";
export const LABEL_NAMESPACE = "io.dinv.pod.namespace";
export const LABEL_NAME = "io.dinv.pod.name";
export const LABEL_UID = "io.dinv.pod.uid";
/** The Kubernetes container name; the infra container has none. */
export const LABEL_CONTAINER = "io.dinv.pod.container";
/** "infra" (holds the pod's network namespace), "init" (spec.initContainers) or "app" (spec.containers). */
export const LABEL_ROLE = "io.dinv.pod.role";
/** Position of the container in spec.containers (or spec.initContainers), so status keeps the spec's order. */
export const LABEL_INDEX = "io.dinv.pod.index";

export type ContainerRole = "infra" | "init" | "app";

export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string;
}

export function podLabels(node: string, pod: PodIdentity): Record<string, string> {
  return {
    [LABEL_NODE]: node,
    [LABEL_NAMESPACE]: pod.namespace,
    [LABEL_NAME]: pod.name,
    [LABEL_UID]: pod.uid,
  };
}

/** Engine container names follow the dockershim convention, so `docker ps` reads familiarly. */
export function containerName(pod: PodIdentity, container: string | undefined): string {
  // The uid keeps names unique when a pod is deleted and recreated under the same name.
  return `k8s_${container ?? "POD"}_${pod.name}_${pod.namespace}_${pod.uid}`;
}
