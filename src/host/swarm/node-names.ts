/**
 * Names of a swarm's nodes: NAME-m1…, NAME-w1…. A number is never given twice while the swarm
 * lives: a new node takes the number after the highest ever given for its role (the record's
 * `lastIndex`), not after the highest in use, so a removed node's name (its host folder, its
 * docker context, its rows in the swarm's task history) never comes to mean another engine.
 */
import type { SwarmConfig, SwarmRole } from "../../store/swarm-store.js";

export function nodeName(swarm: string, role: SwarmRole, index: number): string {
  return `${swarm}-${role === "manager" ? "m" : "w"}${index}`;
}

/** The number in a node's name, if it is one of this swarm's names for that role. */
function indexOf(swarm: string, role: SwarmRole, host: string): number | undefined {
  const prefix = nodeName(swarm, role, 0).slice(0, -1);
  if (!host.startsWith(prefix)) return undefined;
  const index = Number(host.slice(prefix.length));
  return Number.isInteger(index) && index > 0 ? index : undefined;
}

/** The highest number given for the role: the record's, or (records older than lastIndex) the highest in use. */
function lastIndex(config: SwarmConfig, role: SwarmRole): number {
  const inUse = config.nodes
    .filter((n) => n.role === role)
    .map((n) => indexOf(config.name, role, n.host) ?? 0);
  return Math.max(config.lastIndex?.[role] ?? 0, ...inUse);
}

/** The names of `count` new nodes of the role. */
export function nextNodeNames(config: SwarmConfig, role: SwarmRole, count: number): string[] {
  const first = lastIndex(config, role) + 1;
  return Array.from({ length: count }, (_, i) => nodeName(config.name, role, first + i));
}

/** The record with nodes added, its lastIndex raised past their numbers. */
export function withNodes(config: SwarmConfig, added: SwarmConfig["nodes"]): SwarmConfig {
  const nodes = [...config.nodes, ...added];
  const next = { ...config, nodes };
  return { ...next, lastIndex: { manager: lastIndex(next, "manager"), worker: lastIndex(next, "worker") } };
}
