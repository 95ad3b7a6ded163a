/**
 * The environment variables the kubelet derives from services (pkg/kubelet/envvars): for every
 * service with a cluster IP, `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT` (first port),
 * `<NAME>_SERVICE_PORT_<PORTNAME>` (named ports) and Docker-link style `<NAME>_PORT`,
 * `<NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}`. Services come from the pod's namespace when
 * enableServiceLinks is true (the default); `kubernetes` of the default namespace always.
 */
import type { Pod, Service } from "../kube/types.js";
import type { ServiceSource } from "./config-scope.js";

/** Services whose variables every pod gets, from the default namespace (the kubelet's masterServices). */
const MASTER_SERVICES = new Set(["kubernetes"]);

function envName(name: string): string {
  return name.replaceAll("-", "_").toUpperCase();
}

/** Headless (None) and IP-less services give no variables. */
function hasClusterIP(service: Service): boolean {
  const ip = service.spec?.clusterIP ?? "";
  return ip !== "" && ip !== "None";
}

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The variables of these services, in order (envvars.FromServices). */
export function fromServices(services: readonly Service[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const service of services) {
    const ports = service.spec?.ports ?? [];
    const ip = service.spec?.clusterIP ?? "";
    const first = ports[0];
    if (!hasClusterIP(service) || !first) continue;
    const prefix = envName(service.metadata?.name ?? "");
    out.push([`${prefix}_SERVICE_HOST`, ip]);
    out.push([`${prefix}_SERVICE_PORT`, String(first.port)]);
    for (const p of ports)
      if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? "TCP").toLowerCase();
      const url = `${proto}://${hostPort(ip, p.port)}`;
      // Docker special-cases the first port.
      if (i === 0) out.push([`${prefix}_PORT`, url]);
      const portPrefix = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push([portPrefix, url]);
      out.push([`${portPrefix}_PROTO`, proto]);
      out.push([`${portPrefix}_PORT`, String(p.port)]);
      out.push([`${portPrefix}_ADDR`, ip]);
    });
  }
  return out;
}

/**
 * The pod's service variables (getServiceEnvVarMap). Only the pod's namespace and the default
 * namespace's `kubernetes` service are ever read; a same-named service of the pod's namespace wins.
 */
export async function serviceEnv(pod: Pod, source: ServiceSource): Promise<Map<string, string>> {
  const namespace = pod.metadata?.namespace ?? "default";
  const links = pod.spec.enableServiceLinks ?? true;
  const chosen = new Map<string, Service>();
  const masters = await Promise.all([...MASTER_SERVICES].map((name) => source.getService("default", name)));
  for (const service of masters) {
    if (service && hasClusterIP(service)) chosen.set(service.metadata?.name ?? "", service);
  }
  if (links) {
    for (const service of await source.listServices(namespace)) {
      if (hasClusterIP(service)) chosen.set(service.metadata?.name ?? "", service);
    }
  }
  // The kubelet walks a Go map (no order); sorted by name here so env is stable across restarts.
  const sorted = [...chosen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  return new Map(fromServices(sorted));
}
