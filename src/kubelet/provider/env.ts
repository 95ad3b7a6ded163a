/**
 * A container's environment as the kubelet builds it: envFrom, then env in order, with
 * valueFrom (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef) resolved and $(VAR)
 * references expanded against the variables defined before them, then the service variables
 * ($$ escapes); the service variables (service-env.ts) the container does not define come last.
 */
import { DinvError } from "../../errors.js";
import type { ConfigMap, Container, EnvVarSource, Pod, Secret } from "../kube/types.js";
import { NamespaceScope, type EnvSource } from "./config-scope.js";
import { parseQuantity } from "./resources.js";
import { serviceEnv } from "./service-env.js";

/** A reference that cannot be resolved (yet): Kubernetes reports CreateContainerConfigError and retries. */
export class ContainerConfigError extends DinvError {}

export interface EnvContext {
  hostIP: string;
  podIP?: string;
  /** Used by resourceFieldRef when the container sets no limit (the kubelet's rule). */
  nodeAllocatable: { cpu: number; memory: number };
}

export async function resolveEnv(
  pod: Pod,
  container: Container,
  source: EnvSource,
  context: EnvContext,
): Promise<string[]> {
  const services = await serviceEnv(pod, source);
  // Only the pod's own namespace, and only valid names, are ever asked for.
  const scope = new NamespaceScope(source, pod.metadata?.namespace ?? "default");
  const vars = new Map<string, string>();
  const maps = new Map<string, Promise<ConfigMap | undefined>>();
  const secrets = new Map<string, Promise<Secret | undefined>>();
  const configMap = (name: string) => {
    if (!maps.has(name)) maps.set(name, scope.configMap(name));
    return maps.get(name) as Promise<ConfigMap | undefined>;
  };
  const secret = (name: string) => {
    if (!secrets.has(name)) secrets.set(name, scope.secret(name));
    return secrets.get(name) as Promise<Secret | undefined>;
  };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? "";
      const map = await configMap(name);
      if (!map) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(map.data ?? {})) if (validName(prefix + k)) vars.set(prefix + k, v);
    }
    if (from.secretRef) {
      const name = from.secretRef.name ?? "";
      const found = await secret(name);
      if (!found) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const [k, v] of Object.entries(secretData(found)))
        if (validName(prefix + k)) vars.set(prefix + k, v);
    }
  }

  for (const env of container.env ?? []) {
    if (env.valueFrom) {
      const value = await valueFrom(env.valueFrom, pod, container, context, configMap, secret);
      if (value !== undefined) vars.set(env.name, value);
    } else {
      // As the kubelet's mapping: declared variables first, service variables after.
      vars.set(env.name, expand(env.value ?? "", { get: (name) => vars.get(name) ?? services.get(name) }));
    }
  }
  const out = [...vars].map(([k, v]) => `${k}=${v}`);
  for (const [k, v] of services) if (!vars.has(k)) out.push(`${k}=${v}`);
  return out;
}

async function valueFrom(
  from: EnvVarSource,
  pod: Pod,
  container: Container,
  context: EnvContext,
  configMap: (name: string) => Promise<ConfigMap | undefined>,
  secret: (name: string) => Promise<Secret | undefined>,
): Promise<string | undefined> {
  if (from.configMapKeyRef) {
    const { name = "", key, optional } = from.configMapKeyRef;
    const map = await configMap(name);
    const value = map?.data?.[key];
    if (value !== undefined) return value;
    if (optional) return undefined;
    throw new ContainerConfigError(
      map ? `key "${key}" not found in configmap "${name}"` : `configmap "${name}" not found`,
    );
  }
  if (from.secretKeyRef) {
    const { name = "", key, optional } = from.secretKeyRef;
    const found = await secret(name);
    const value = found ? secretData(found)[key] : undefined;
    if (value !== undefined) return value;
    if (optional) return undefined;
    throw new ContainerConfigError(
      found ? `key "${key}" not found in secret "${name}"` : `secret "${name}" not found`,
    );
  }
  if (from.fieldRef) return fieldValue(from.fieldRef.fieldPath, pod, context);
  if (from.resourceFieldRef) return resourceValue(from.resourceFieldRef, pod, container, context);
  return undefined;
}

/** A resourceFieldRef's value (limits fall back to the node's allocatable, as the kubelet does). */
export function resourceValue(
  ref: NonNullable<EnvVarSource["resourceFieldRef"]>,
  pod: Pod,
  container: Container | undefined,
  context: EnvContext,
): string {
  const [kind, resource] = ref.resource.split(".") as [string, string | undefined];
  const target = ref.containerName
    ? pod.spec.containers.find((c) => c.name === ref.containerName)
    : container;
  const table = kind === "limits" ? target?.resources?.limits : target?.resources?.requests;
  const raw = resource ? table?.[resource] : undefined;
  const fallback = resource === "cpu" ? context.nodeAllocatable.cpu : context.nodeAllocatable.memory;
  const amount = raw !== undefined ? parseQuantity(raw) : kind === "limits" ? fallback : 0;
  const divisor = ref.divisor !== undefined ? parseQuantity(ref.divisor) : 1;
  return String(Math.ceil(amount / (divisor || 1)));
}

/** A fieldRef's value for env and downward API files. */
export function fieldValue(path: string, pod: Pod, context: EnvContext): string {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (keyed) {
    const table = keyed[1] === "labels" ? meta.labels : meta.annotations;
    return table?.[keyed[2] ?? ""] ?? "";
  }
  switch (path) {
    case "metadata.name":
      return meta.name ?? "";
    case "metadata.namespace":
      return meta.namespace ?? "default";
    case "metadata.uid":
      return meta.uid ?? "";
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return context.hostIP;
    case "status.podIP":
    case "status.podIPs":
      return context.podIP ?? "";
  }
  throw new ContainerConfigError(`unsupported fieldRef "${path}"`, {
    hint: "use metadata.name/namespace/uid/labels/annotations, spec.nodeName, spec.serviceAccountName, status.hostIP or status.podIP",
  });
}

export function secretData(secret: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  // stringData is write-only on a real API server; honour it for servers that echo it.
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

function validName(name: string): boolean {
  return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name);
}

/** Kubernetes $(VAR) expansion: defined names are replaced, $$ escapes, anything else stays. */
export function expand(input: string, vars: { get(name: string): string | undefined }): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = vars.get(name);
      out += value !== undefined ? value : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The variables of an env list, for expanding command and args. */
export function envMap(env: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf("=");
    map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}
