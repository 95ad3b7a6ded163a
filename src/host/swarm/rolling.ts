/**
 * Day-2 on a swarm, one node at a time so its services keep running: drain the node and wait
 * until its tasks run elsewhere, do the work (upgrade, new certificates), wait until the node is
 * Ready again, activate it. Workers first, managers after, the leader last (one election only);
 * one manager down at a time keeps the quorum of three or more.
 */
import { call } from "../../engine/client.js";
import type { HostStore } from "../../store/host-store.js";
import type { SwarmConfig } from "../../store/swarm-store.js";
import type { Progress } from "../progress.js";
import { regenerateHostCertificates } from "../regenerate.js";
import { upgradeHost } from "../upgrade.js";
import {
  drainNode,
  SwarmError,
  updateNode,
  waitServicesConverged,
  waitUntil,
  type SwarmNode,
} from "./node-ops.js";
import { answeringManager, innerFor, listNodes, swarmStore } from "./swarm.js";

export interface RollOptions {
  timeoutSeconds: number;
  /** Only these nodes (host names), in the swarm's rolling order; none: every node. */
  only?: string[];
}

async function rollingOrder(store: HostStore, config: SwarmConfig, only?: string[]): Promise<string[]> {
  for (const host of only ?? [])
    if (!config.nodes.some((n) => n.host === host))
      throw new SwarmError(`${host} is not a node of swarm "${config.name}"`, {
        hint: `its nodes: ${config.nodes.map((n) => n.host).join(", ")}`,
      });
  const { nodes } = await listNodes(store, config);
  const leader = nodes.find((n) => n.ManagerStatus?.Leader)?.Description?.Hostname;
  const rank = (host: string, role: string) => (host === leader ? 2 : role === "manager" ? 1 : 0);
  return config.nodes
    .filter((n) => !only || only.includes(n.host))
    .sort((a, b) => rank(a.host, a.role) - rank(b.host, b.role))
    .map((n) => n.host);
}

async function nodeOf(store: HostStore, config: SwarmConfig, host: string): Promise<SwarmNode> {
  const { nodes } = await listNodes(store, config);
  const node = nodes.find((n) => n.Description?.Hostname === host);
  if (!node) throw new SwarmError(`${host} is not in swarm "${config.name}" as its managers see it`);
  return node;
}

/** Drain, work, wait Ready, activate: each node in turn; the first failure stops the roll. */
export async function rollNodes(
  store: HostStore,
  name: string,
  work: (host: string) => Promise<void>,
  options: RollOptions,
  progress: Progress,
): Promise<string[]> {
  const config = swarmStore(store).load(name);
  const ms = options.timeoutSeconds * 1000;
  const order = await rollingOrder(store, config, options.only);
  for (const [i, host] of order.entries()) {
    const others = { ...config, nodes: config.nodes.filter((n) => n.host !== host) };
    // A one-manager swarm has no other manager to ask: it asks the node itself while it runs.
    const via = others.nodes.some((n) => n.role === "manager") ? others : config;
    const node = await nodeOf(store, via, host);
    const { engine: manager } = await answeringManager(store, via);
    progress.step(`draining ${host} (${i + 1}/${order.length})`);
    await drainNode(manager, node, host, ms);
    await waitServicesConverged(manager, node.ID, ms);
    progress.done();
    await work(host);
    progress.step(`waiting until ${host} is Ready`);
    await waitUntil(
      async () => {
        // The node's own engine back in the swarm, and the managers seeing it Ready.
        const own = innerFor(store, store.load(host), 3_000);
        const info = (await call(own, () => own.docker.info())) as { Swarm?: { LocalNodeState?: string } };
        if (info.Swarm?.LocalNodeState !== "active") return false;
        const { engine } = await answeringManager(store, config);
        const seen = (await call(engine, () => engine.docker.getNode(node.ID).inspect())) as SwarmNode;
        return seen.Status?.State === "ready";
      },
      ms,
      `${host} not Ready after ${options.timeoutSeconds} s; it stays drained`,
    );
    progress.done();
    progress.step(`activating ${host}`);
    const { engine } = await answeringManager(store, config);
    await updateNode(engine, node.ID, { Availability: "active" });
    progress.done();
  }
  return order;
}

/** `dinv swarm upgrade`: every node (or those named) to the newest host image, one at a time. */
export async function upgradeSwarm(
  store: HostStore,
  name: string,
  options: RollOptions & { image?: string },
  progress: Progress,
): Promise<string[]> {
  const upgraded: string[] = [];
  await rollNodes(
    store,
    name,
    async (host) => {
      const result = await upgradeHost(
        store,
        host,
        { ...(options.image ? { image: options.image } : {}), timeoutSeconds: options.timeoutSeconds },
        progress,
      );
      if (result.upgraded) upgraded.push(host);
      progress.step(`upgraded ${host}`);
      progress.done(result.upgraded ? result.to : `already on ${result.to}`);
    },
    options,
    progress,
  );
  return upgraded;
}

/** `dinv swarm regenerate-certs`: new server certificates node by node (the reload restarts a drained node). */
export async function regenerateSwarmCertificates(
  store: HostStore,
  name: string,
  options: RollOptions,
  progress: Progress,
): Promise<string[]> {
  return rollNodes(
    store,
    name,
    async (host) => {
      await regenerateHostCertificates(store, host, progress, { restartsContainers: true });
    },
    options,
    progress,
  );
}
