/**
 * A pod's resolver and hosts settings as the kubelet derives them (pkg/kubelet/network/dns):
 * dnsPolicy picks the base (cluster DNS, the node's resolver, or nothing), dnsConfig is appended
 * without duplicates (its options override same-named ones), and hostAliases become extra
 * /etc/hosts lines. They land on the container owning the pod's network namespace: the engine
 * refuses DNS settings and extra hosts on a container joining another's (`container:` mode).
 */
import type { Pod } from "../kube/types.js";

/** The kubelet's --cluster-dns and --cluster-domain. */
export interface ClusterDns {
  servers: readonly string[];
  domain: string;
}

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/** The kubelet's limits (validation.MaxDNSNameservers, MaxDNSSearchPaths). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;
/** A longer search path makes some resolvers abort (glibc 2.28): the kubelet drops it (DNS1123SubdomainMaxLength). */
const MAX_SEARCH_PATH_CHARS = 253;

export interface PodDns {
  /** The engine's HostConfig fields; absent ones keep the engine host's resolver settings. */
  hostConfig: { Dns?: string[]; DnsSearch?: string[]; DnsOptions?: string[] };
  /** MissingClusterDNS and limit warnings, as the kubelet's events say them. */
  warnings: Array<{ reason: "MissingClusterDNS" | "DNSConfigForming"; message: string }>;
}

/** "cluster", "host" (the node's resolv.conf) or "none", as getPodDNSType decides. */
function dnsType(pod: Pod): "cluster" | "host" | "none" {
  switch (pod.spec.dnsPolicy ?? "ClusterFirst") {
    case "None":
      return "none";
    case "ClusterFirstWithHostNet":
      return "cluster";
    case "ClusterFirst":
      // A host-network pod uses the node's resolver unless it asks for ClusterFirstWithHostNet.
      return pod.spec.hostNetwork === true ? "host" : "cluster";
    case "Default":
      return "host";
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function podDns(pod: Pod, cluster: ClusterDns | undefined): PodDns {
  const warnings: PodDns["warnings"] = [];
  let type = dnsType(pod);
  if (type === "cluster" && !cluster?.servers.length) {
    const { name = "", namespace = "", uid = "" } = pod.metadata ?? {};
    warnings.push({
      reason: "MissingClusterDNS",
      // The kubelet's event on the pod names it as format.Pod does.
      message: `pod: "${name}_${namespace}(${uid})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
    });
    type = "host";
  }
  // "host" leaves the engine's own resolv.conf (the endpoint's host is this node) unless dnsConfig overrides.
  let servers: string[] = [];
  let searches: string[] = [];
  const options = new Map<string, string>();
  if (type === "cluster" && cluster) {
    const namespace = pod.metadata?.namespace ?? "default";
    servers = [...cluster.servers];
    searches = cluster.domain
      ? [`${namespace}.svc.${cluster.domain}`, `svc.${cluster.domain}`, cluster.domain]
      : [];
    options.set("ndots", "5");
  }
  const extra = pod.spec.dnsConfig;
  servers = unique([...servers, ...(extra?.nameservers ?? [])]);
  searches = unique([...searches, ...(extra?.searches ?? [])]);
  for (const option of extra?.options ?? []) if (option.name) options.set(option.name, option.value ?? "");

  if (servers.length > MAX_NAMESERVERS) {
    warnings.push({
      reason: "DNSConfigForming",
      message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.slice(0, MAX_NAMESERVERS).join(" ")}`,
    });
    servers = servers.slice(0, MAX_NAMESERVERS);
  }
  const fitting = searches.slice(0, MAX_SEARCHES).filter((s) => s.length <= MAX_SEARCH_PATH_CHARS);
  if (fitting.length < searches.length || fitting.join(" ").length > MAX_SEARCH_CHARS) {
    searches = fitting;
    while (searches.join(" ").length > MAX_SEARCH_CHARS) searches.pop();
    warnings.push({
      reason: "DNSConfigForming",
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(" ")}`,
    });
  }
  const optionList = [...options].map(([name, value]) => (value ? `${name}:${value}` : name));
  return {
    hostConfig: {
      // An empty list keeps the engine host's setting: None must not inherit its search path ("." clears it).
      ...(servers.length ? { Dns: servers } : {}),
      ...(searches.length ? { DnsSearch: searches } : type === "none" ? { DnsSearch: ["."] } : {}),
      ...(optionList.length ? { DnsOptions: optionList } : {}),
    },
    warnings,
  };
}

/** hostAliases as the engine's ExtraHosts (`name:ip`), in the pod's order. */
export function extraHosts(pod: Pod): string[] {
  const out: string[] = [];
  for (const alias of pod.spec.hostAliases ?? []) {
    if (!alias.ip) continue;
    for (const name of alias.hostnames ?? []) out.push(`${name}:${alias.ip}`);
  }
  return out;
}
