/**
 * Pod events as a kubelet writes them (Pulling, Pulled, Created, Started, Killing, Failed,
 * FailedMount…), so `kubectl describe pod` tells the story. Recording never fails a pod
 * operation: a lost event is only logged.
 */
import { errorMessage } from "../../errors.js";
import { kubeTime, type KubeEvent, type Pod } from "../kube/types.js";

export interface PodEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  /** spec.containers{name} / spec.initContainers{name} when about one container. */
  fieldPath?: string;
}

export type PodEventSink = (pod: Pod, event: PodEvent) => void;

export function containerField(container: string, init = false): string {
  return `spec.${init ? "initContainers" : "containers"}{${container}}`;
}

export class EventRecorder {
  private counter = 0;

  constructor(
    private readonly create: (event: KubeEvent) => Promise<void>,
    private readonly node: string,
    private readonly log?: (message: string) => void,
  ) {}

  readonly sink: PodEventSink = (pod, event) => {
    const ns = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "";
    const now = kubeTime();
    const unique = `${Date.now().toString(16)}${(this.counter++ % 4096).toString(16).padStart(3, "0")}`;
    this.create({
      metadata: { name: `${name}.${unique}`, namespace: ns },
      involvedObject: {
        kind: "Pod",
        apiVersion: "v1",
        namespace: ns,
        name,
        ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}),
        ...(event.fieldPath ? { fieldPath: event.fieldPath } : {}),
      },
      reason: event.reason,
      message: event.message,
      type: event.type,
      source: { component: "kubelet", host: this.node },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: "kubelet",
      reportingInstance: this.node,
    }).catch((err: unknown) => this.log?.(`event ${event.reason} for ${ns}/${name}: ${errorMessage(err)}`));
  };
}
