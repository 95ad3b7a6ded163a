/**
 * Fixed addresses for swarm nodes on the network dinv makes for them. A node advertises its
 * address to the swarm once (raft membership, gossip); an engine that gives a restarted or
 * recreated container another address leaves the node unreachable under the one it advertised.
 * Podman 4.3 with CNI's host-local IPAM does so at every start (measured: docs/swarm.md), so each
 * node is created with its own `--ip`: the lowest free address of the network's subnet.
 */
import { call, type EngineClient } from "../../engine/client.js";
import { SwarmError } from "./node-ops.js";

function toNumber(ip: string): number | undefined {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/**
 * The `count` lowest addresses of an IPv4 subnet ("10.216.0.0/24") that are neither taken
 * (the gateway, addresses in use) nor the subnet's own network or broadcast address.
 */
export function freeAddresses(subnet: string, taken: Iterable<string>, count: number): string[] {
  const [ip = "", bits = ""] = subnet.split("/");
  const base = toNumber(ip);
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30)
    throw new SwarmError(`the swarm's network has subnet "${subnet}": not an IPv4 subnet dinv can use`);
  const size = 2 ** (32 - prefix);
  const first = base - (base % size);
  const used = new Set([...taken].map((a) => toNumber(a.split("/")[0] ?? "")));
  const free: string[] = [];
  for (let n = first + 1; n < first + size - 1 && free.length < count; n++)
    if (!used.has(n)) free.push(toAddress(n));
  if (free.length < count)
    throw new SwarmError(`the swarm's network (${subnet}) has no room for ${count} more node(s)`);
  return free;
}

export interface NetworkInfo {
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> };
  Containers?: Record<string, { IPv4Address?: string }>;
}

/** A network's IPv4 subnet and gateway, as the engine reports them. */
export function ipv4Subnet(info: NetworkInfo): { Subnet: string; Gateway?: string } | undefined {
  const config = (info.IPAM?.Config ?? []).find(
    (c) => c.Subnet && toNumber(c.Subnet.split("/")[0] ?? "") !== undefined,
  );
  return config?.Subnet
    ? { Subnet: config.Subnet, ...(config.Gateway ? { Gateway: config.Gateway } : {}) }
    : undefined;
}

/**
 * Addresses for `count` new nodes on `network`: past its gateway and the containers attached
 * to it, and past `reserved` (the swarm's nodes there, which a stopped container does not show).
 */
export async function nodeAddresses(
  client: EngineClient,
  network: string,
  reserved: string[],
  count: number,
): Promise<string[]> {
  const info = (await call(client, () => client.docker.getNetwork(network).inspect())) as NetworkInfo;
  const ipv4 = ipv4Subnet(info);
  if (!ipv4) throw new SwarmError(`network ${network} on ${client.endpoint.url} has no IPv4 subnet`);
  const attached = Object.values(info.Containers ?? {}).flatMap((c) =>
    c.IPv4Address ? [c.IPv4Address] : [],
  );
  return freeAddresses(
    ipv4.Subnet,
    [...(ipv4.Gateway ? [ipv4.Gateway] : []), ...attached, ...reserved],
    count,
  );
}
