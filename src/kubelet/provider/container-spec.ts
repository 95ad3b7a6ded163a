/**
 * Pure translation of a pod's containers into engine create requests. Kubernetes semantics:
 * `command` replaces the image ENTRYPOINT and drops its CMD; `args` replaces CMD only
 * (the engine merges the image CMD only when no Entrypoint is given, which is exactly that).
 */
import type { Capabilities, Flavor } from "../../engine/flavor.js";
import type { Container, Pod } from "../kube/types.js";
import type { CreateContainerSpec } from "./engine.js";
import { podDns, extraHosts, type ClusterDns } from "./dns.js";
import { envMap, expand } from "./env.js";
import { PodOperationError } from "./errors.js";
import {
  containerName,
  LABEL_CONTAINER,
  LABEL_INDEX,
  LABEL_ROLE,
  podLabels,
  type PodIdentity,
} from "./labels.js";
import { containerResources } from "./resources.js";
import { containerSecurity, podSysctls } from "./security-context.js";

export interface SpecContext {
  node: string;
  flavor: Flavor;
  capabilities: Capabilities;
  /** The infra container to join (`container:` network mode), when the pod has one. */
  infraId?: string;
  /** --cluster-dns / --cluster-domain; undefined: ClusterFirst falls back to Default. */
  clusterDns?: ClusterDns;
}

/** Resolver and /etc/hosts settings, only for the container owning the pod's network namespace. */
function networkOwnerConfig(pod: Pod, ctx: SpecContext): Record<string, string[]> {
  const hosts = extraHosts(pod);
  return { ...podDns(pod, ctx.clusterDns).hostConfig, ...(hosts.length ? { ExtraHosts: hosts } : {}) };
}

export function podIdentity(pod: Pod): PodIdentity {
  return {
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
}

/**
 * Whether a pod gets an infra container holding its network namespace (where the engine has a
 * `container:` network mode). A pod of one container and no init containers needs none: that
 * container holds the namespace itself (DNS, hosts, ports and net.* sysctls go on it), and the
 * pod's IP is read from it. When the engine restarts it (restartPolicy Always/OnFailure) its
 * namespace is made anew and may get another IP; the status then shows the new one — so a pod
 * whose environment holds its own IP (`status.podIP`, fixed at creation) keeps an infra
 * container, and so does every pod when `everyPod` is set (the network relay runs in the infra
 * container, never in the pod's own containers).
 */
export function needsInfraContainer(pod: Pod, everyPod = false): boolean {
  if (everyPod) return true;
  if (pod.spec.containers.length !== 1 || pod.spec.initContainers?.length) return true;
  return (pod.spec.containers[0]?.env ?? []).some((e) =>
    ["status.podIP", "status.podIPs"].includes(e.valueFrom?.fieldRef?.fieldPath ?? ""),
  );
}

/** `hostNetwork: true` where the engine has no host network (a VCH has no such scope): refused, never ignored. */
export function checkNetwork(pod: Pod, capabilities: Pick<Capabilities, "hostNetwork">): void {
  if (pod.spec.hostNetwork !== true || capabilities.hostNetwork) return;
  throw new PodOperationError(
    "spec.hostNetwork: true is not supported on this endpoint (every container is its own VM; there is no host network to join)",
    { reason: "HostNetworkNotSupported", permanent: true, hint: "remove spec.hostNetwork" },
  );
}

/** Kubernetes restartPolicy → the engine's (the engine restarts, and counts restarts). */
export function restartPolicy(pod: Pod): { Name: string; MaximumRetryCount?: number } {
  switch (pod.spec.restartPolicy ?? "Always") {
    case "Always":
      return { Name: "always" };
    case "OnFailure":
      return { Name: "on-failure" };
    case "Never":
      return { Name: "no" };
  }
}

/** The image of infra containers, and the command to run when the image names none. */
export interface InfraImage {
  ref: string;
  entrypoint?: string[];
}

interface PortSet {
  exposed: Record<string, Record<string, never>>;
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
}

function ports(containers: readonly Container[]): PortSet {
  const exposed: PortSet["exposed"] = {};
  const bindings: PortSet["bindings"] = {};
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      const key = `${p.containerPort}/${(p.protocol ?? "TCP").toLowerCase()}`;
      exposed[key] = {};
      // Only hostPort publishes, as with a real kubelet; containerPort alone is informational.
      if (p.hostPort) (bindings[key] ??= []).push({ HostIp: p.hostIP ?? "", HostPort: String(p.hostPort) });
    }
  }
  return { exposed, bindings };
}

/** The pause container holding the pod's network namespace (and every port it publishes). */
export function infraContainerSpec(pod: Pod, image: InfraImage, ctx: SpecContext): CreateContainerSpec {
  const id = podIdentity(pod);
  const { exposed, bindings } = ports(pod.spec.containers);
  return {
    name: containerName(id, undefined),
    Image: image.ref,
    ...(image.entrypoint ? { Entrypoint: image.entrypoint, Cmd: [] } : {}),
    Hostname: (pod.spec.hostname ?? id.name).slice(0, 63),
    Labels: { ...podLabels(ctx.node, id), [LABEL_ROLE]: "infra" },
    ExposedPorts: exposed,
    HostConfig: {
      PortBindings: bindings,
      // It never exits on its own; after an engine restart it must come back before the others.
      RestartPolicy: { Name: "unless-stopped" },
      NetworkMode: pod.spec.hostNetwork ? "host" : "bridge",
      ...networkOwnerConfig(pod, ctx),
      // The pod's net.* sysctls belong to its network namespace, which this container holds.
      ...(podSysctls(pod, true) ? { Sysctls: podSysctls(pod, true) } : {}),
    },
  };
}

/**
 * Init containers run once: the engine restarts a failing one (unless Never), never a finished
 * one. A sidecar (restartPolicy Always, KEP-753) is restarted whenever it exits.
 */
export function initRestartPolicy(pod: Pod, container?: Container): { Name: string } {
  if (container && isSidecar(container)) return { Name: "always" };
  return pod.spec.restartPolicy === "Never" ? { Name: "no" } : { Name: "on-failure" };
}

/** A native sidecar: an init container with restartPolicy Always, running beside the app containers. */
export function isSidecar(container: Container): boolean {
  return container.restartPolicy === "Always";
}

export interface ContainerRole {
  role: "app" | "init";
  /** `HostConfig.Binds` of its emptyDir volumes (volumes.ts `engineBinds`). */
  binds?: string[];
}

export function appContainerSpec(
  pod: Pod,
  container: Container,
  index: number,
  env: readonly string[],
  ctx: SpecContext,
  kind: ContainerRole = { role: "app" },
): CreateContainerSpec {
  const id = podIdentity(pod);
  const vars = envMap(env);
  const command = container.command?.length ? container.command.map((s) => expand(s, vars)) : undefined;
  const args = container.args?.length ? container.args.map((s) => expand(s, vars)) : undefined;
  const joined = ctx.infraId !== undefined;
  const { exposed, bindings } = ports([container]);
  const security = containerSecurity(pod, container, !joined);
  const spec: CreateContainerSpec = {
    name: containerName(id, kind.role === "init" ? `init-${container.name}` : container.name),
    Image: container.image ?? "",
    Env: [...env],
    Labels: {
      ...podLabels(ctx.node, id),
      [LABEL_ROLE]: kind.role,
      [LABEL_CONTAINER]: container.name,
      [LABEL_INDEX]: String(index),
    },
    Tty: container.tty === true,
    OpenStdin: container.stdin === true,
    HostConfig: {
      // Where the engine applies no policy (a VCH echoes it, never acts), say so: the kubelet restarts (restarts.ts).
      RestartPolicy: !ctx.capabilities.restartPolicies
        ? { Name: "no" }
        : kind.role === "init"
          ? initRestartPolicy(pod, container)
          : restartPolicy(pod),
      ...(kind.binds?.length ? { Binds: kind.binds } : {}),
      ...containerResources(container, ctx.flavor),
      ...security.hostConfig,
      // Joined containers inherit hostname, ports, DNS and hosts from the infra container (the engine refuses them here).
      NetworkMode: joined ? `container:${ctx.infraId}` : pod.spec.hostNetwork ? "host" : "bridge",
      ...(joined ? {} : { PortBindings: bindings, ...networkOwnerConfig(pod, ctx) }),
    },
    ...(joined ? {} : { Hostname: (pod.spec.hostname ?? id.name).slice(0, 63), ExposedPorts: exposed }),
    ...(command ? { Entrypoint: command } : {}),
    ...(args ? { Cmd: args } : {}),
    ...(container.workingDir ? { WorkingDir: container.workingDir } : {}),
    ...(security.user ? { User: security.user } : {}),
  };
  return spec;
}

/** Kubernetes' default pull policy: Always for :latest or no tag, IfNotPresent otherwise. */
export function pullPolicy(container: Container): "Always" | "IfNotPresent" | "Never" {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  const image = container.image ?? "";
  if (image.includes("@")) return "IfNotPresent";
  const tagged = image.lastIndexOf(":") > image.lastIndexOf("/");
  return !tagged || image.endsWith(":latest") ? "Always" : "IfNotPresent";
}
