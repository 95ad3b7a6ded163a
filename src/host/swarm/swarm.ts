/**
 * Swarms of dinv hosts on Docker's own swarm mode (the nested engines' `swarm init`/`join`),
 * the one-command form of VMware's dch-swarm.sh (docs/vic.md). Each node is an ordinary host of
 * the store; the swarm's record and its join tokens live in `swarms/NAME/` (store/swarm-store.ts).
 *
 * How nodes reach each other: on one endpoint, over a bridge network dinv makes there
 * (`dinv-swarm-NAME`, the hosts at their own addresses, as `create --network` in docs/); across
 * endpoints only over a network the user names with --network that exists on every endpoint and
 * routes between them (e.g. a VIC container network): swarm needs 2377/tcp, 7946/tcp+udp and
 * 4789/udp between nodes, which a published port cannot give. Swarm's own mutual TLS (its CA in
 * the managers' raft) protects node traffic; dinv's certificates protect the API.
 */
import { call, connect, engineStatus, type EngineClient } from "../../engine/client.js";
import { resolveEndpoint, type EndpointFlags } from "../../engine/resolve.js";
import { hostUrl } from "../../engine/host-endpoints.js";
import { DinvError } from "../../errors.js";
import { dockerConfigDir } from "../../store/docker-context.js";
import {
  dockerContextOwner,
  removeDockerContext,
  writeDockerContext,
} from "../../store/docker-context-writer.js";
import type { HostConfig } from "../../store/host-config.js";
import type { HostStore } from "../../store/host-store.js";
import { MAX_HOST_NAME, validateHostName } from "../../store/names.js";
import { readPrivateFile, readPublicFile } from "../../store/secure-fs.js";
import {
  SWARM_CONFIG_VERSION,
  SwarmStore,
  type JoinTokens,
  type SwarmConfig,
  type SwarmRole,
} from "../../store/swarm-store.js";
import { createHost } from "../create.js";
import type { EngineOptionFlags } from "../engine-options.js";
import { innerClient } from "../open.js";
import type { Progress } from "../progress.js";
import { removeHost } from "../remove.js";
import { ipv4Subnet, nodeAddresses, type NetworkInfo } from "./node-addresses.js";
import { nextNodeNames, withNodes } from "./node-names.js";
import { drainNode, SwarmError, updateNode, waitUntil, type SwarmNode } from "./node-ops.js";

export { SwarmError } from "./node-ops.js";

/** Swarm's default pools are 10.0.0.0/8; the inner engines use 10.213/24 and 10.214/16 (images/dinv/daemon.json). */
export const DEFAULT_ADDR_POOL = "10.215.0.0/16";
export const DEFAULT_SUBNET_SIZE = 24;
const SWARM_LABEL = "io.dinv.swarm";
/** Swarm mode refuses to run with live-restore, which the host image turns on (docs/host-image.md). */
const SWARM_DAEMON = { "live-restore": false };

export interface SwarmCreateOptions {
  name: string;
  managers: number;
  workers: number;
  /** The endpoints to spread the nodes over (round robin); none: the default endpoint. */
  endpoints: EndpointFlags[];
  /** An existing network on every endpoint (required across endpoints); none: dinv makes one. */
  network?: string;
  addrPool?: string;
  subnetSize?: number;
  registryCache?: string;
  image?: string;
  engine?: EngineOptionFlags;
  timeoutSeconds: number;
  dockerContext: boolean;
}

export function swarmStore(store: HostStore): SwarmStore {
  return new SwarmStore(store.layout.root);
}

export function networkName(swarm: string): string {
  return `dinv-swarm-${swarm}`;
}

/** Check counts, the name and the address pool before anything is made. */
export function checkSwarmOptions(
  options: Pick<
    SwarmCreateOptions,
    "name" | "managers" | "workers" | "addrPool" | "subnetSize" | "endpoints" | "network"
  >,
): void {
  validateHostName(options.name);
  if (options.name.length > MAX_HOST_NAME - 6)
    throw new SwarmError(`swarm name "${options.name}" is too long: node names add up to 6 characters`);
  if (!Number.isInteger(options.managers) || options.managers < 1 || options.managers > 7)
    throw new SwarmError(`--managers must be a whole number from 1 to 7, not ${options.managers}`);
  if (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > 50)
    throw new SwarmError(`--workers must be a whole number from 0 to 50, not ${options.workers}`);
  if (options.addrPool !== undefined && !/^(\d{1,3})(\.\d{1,3}){3}\/(\d{1,2})$/.test(options.addrPool))
    throw new SwarmError(`--addr-pool "${options.addrPool}" is not an IPv4 CIDR`, {
      hint: `e.g. ${DEFAULT_ADDR_POOL}`,
    });
  if (
    options.subnetSize !== undefined &&
    (!Number.isInteger(options.subnetSize) || options.subnetSize < 16 || options.subnetSize > 28)
  )
    throw new SwarmError(`--subnet-size must be from 16 to 28`);
  if (options.endpoints.length > 1 && options.network === undefined)
    throw new SwarmError("nodes on several endpoints need a network that routes between them", {
      hint: "name one that exists on every endpoint with --network (e.g. a VIC container network)",
    });
}

/** Create the hosts, `swarm init` on the first manager, join the others, wait until every node is Ready. */
export async function createSwarm(
  store: HostStore,
  options: SwarmCreateOptions,
  progress: Progress,
): Promise<SwarmConfig> {
  checkSwarmOptions(options);
  const swarms = swarmStore(store);
  if (store.exists(options.name))
    throw new SwarmError(
      `a host named "${options.name}" exists: the swarm's docker context would clash with it`,
    );
  const endpoints = (options.endpoints.length ? options.endpoints : [{}]).map((flags) => ({
    flags,
    url: resolveEndpoint(flags).url,
  }));
  swarms.claim(options.name);
  let config: SwarmConfig = {
    version: SWARM_CONFIG_VERSION,
    name: options.name,
    createdAt: new Date().toISOString(),
    addrPool: options.addrPool ?? DEFAULT_ADDR_POOL,
    subnetSize: options.subnetSize ?? DEFAULT_SUBNET_SIZE,
    endpoints: endpoints.map((e) => ({
      url: e.url,
      network: options.network ?? networkName(options.name),
      madeByDinv: options.network === undefined,
      fixedAddresses: options.network === undefined,
    })),
    ...(options.registryCache ? { registryCache: options.registryCache } : {}),
    nodes: [],
  };
  try {
    for (const [i, e] of endpoints.entries()) {
      const entry = config.endpoints[i];
      if (entry?.madeByDinv)
        await ensureSwarmNetwork(
          connect(resolveEndpoint(e.flags), { timeoutMs: 30_000 }),
          config.name,
          entry.network,
          progress,
        );
    }
    await swarms.save(config);
    const wanted = [
      ...nextNodeNames(config, "manager", options.managers).map((host) => ({
        host,
        role: "manager" as const,
      })),
      ...nextNodeNames(config, "worker", options.workers).map((host) => ({ host, role: "worker" as const })),
    ];
    config = await addNodes(
      store,
      config,
      wanted.map((w, i) => ({ ...w, flags: endpoints[i % endpoints.length]?.flags ?? {} })),
      options,
      progress,
    );
    if (options.dockerContext) await registerSwarmContext(store, config, progress);
    return config;
  } catch (err) {
    progress.warn(`creating swarm "${options.name}" failed; removing what was made`);
    const notes = await removeSwarm(store, options.name, { force: true }).catch((e: unknown) => [String(e)]);
    for (const note of notes) progress.warn(note);
    const reason = err instanceof DinvError ? err.userMessage : (err as Error).message;
    throw new SwarmError(`creating swarm "${options.name}" failed: ${reason}`, { cause: err });
  }
}

interface NewNode {
  host: string;
  role: SwarmRole;
  flags: EndpointFlags;
}

type HostOptions = Pick<SwarmCreateOptions, "image" | "engine" | "timeoutSeconds" | "registryCache">;

/**
 * Make the hosts (concurrently), then bring them in: `swarm init` when the swarm has no node
 * yet, managers joining one at a time (raft grows by one member at a time), workers together.
 * Each node is recorded as soon as its host exists, so a failure leaves a record rm can follow.
 */
async function addNodes(
  store: HostStore,
  initial: SwarmConfig,
  nodes: NewNode[],
  options: HostOptions,
  progress: Progress,
): Promise<SwarmConfig> {
  const swarms = swarmStore(store);
  let config = initial;
  const networkOf = (url: string) => config.endpoints.find((e) => e.url === url)?.network;
  progress.step(`creating ${nodes.length} host(s): ${nodes.map((n) => n.host).join(", ")}`);
  const addresses = await fixedAddresses(store, config, nodes);
  const made = await Promise.allSettled(
    nodes.map((node) => {
      const url = resolveEndpoint(node.flags).url;
      const ip = addresses.get(node.host);
      return createHost(
        store,
        {
          name: node.host,
          endpoint: node.flags,
          network: { name: networkOf(url) ?? networkName(config.name), ...(ip ? { ip } : {}) },
          ...(options.image ? { image: options.image } : {}),
          engine: options.engine ?? {},
          daemonRequired: SWARM_DAEMON,
          ...(options.registryCache ? { registryCache: options.registryCache } : {}),
          timeoutSeconds: options.timeoutSeconds,
          keepOnFailure: false,
          dockerContext: true,
        },
        { step: () => undefined, done: () => undefined, warn: (m) => progress.warn(`${node.host}: ${m}`) },
      );
    }),
  );
  const hosts = new Map<string, HostConfig>();
  made.forEach((result, i) => {
    const node = nodes[i];
    if (node && result.status === "fulfilled") hosts.set(node.host, result.value);
  });
  config = withNodes(
    config,
    nodes.filter((n) => hosts.has(n.host)).map(({ host, role }) => ({ host, role })),
  );
  await swarms.save(config);
  const failed = made.flatMap((r) =>
    r.status === "rejected" ? [r.reason instanceof DinvError ? r.reason.userMessage : String(r.reason)] : [],
  );
  if (failed.length) throw new SwarmError(failed.join("; "));
  progress.done();

  let remaining = nodes;
  let tokens: JoinTokens;
  let managerAddress: string;
  if (initial.nodes.length === 0) {
    const first = nodes[0] as NewNode;
    const host = hosts.get(first.host) as HostConfig;
    progress.step(`swarm init on ${first.host}`);
    const engine = innerFor(store, host);
    await call(engine, () =>
      engine.docker.swarmInit({
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: host.network.address,
        DefaultAddrPool: [config.addrPool],
        SubnetSize: config.subnetSize,
      }),
    );
    const info = (await call(engine, () => engine.docker.swarmInspect())) as {
      JoinTokens: { Worker: string; Manager: string };
    };
    tokens = { worker: info.JoinTokens.Worker, manager: info.JoinTokens.Manager };
    await swarms.saveTokens(config.name, tokens);
    managerAddress = host.network.address;
    progress.done(host.network.address);
    remaining = nodes.slice(1);
  } else {
    tokens = swarms.tokens(config.name);
    managerAddress = (await answeringManager(store, config)).config.network.address;
  }
  const join = async (node: NewNode) => {
    const host = hosts.get(node.host) as HostConfig;
    const engine = innerFor(store, host);
    await call(engine, () =>
      engine.docker.swarmJoin({
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: host.network.address,
        RemoteAddrs: [`${managerAddress}:2377`],
        JoinToken: node.role === "manager" ? tokens.manager : tokens.worker,
      }),
    );
  };
  for (const node of remaining.filter((n) => n.role === "manager")) {
    progress.step(`${node.host} joins as a manager`);
    await join(node);
    progress.done();
  }
  const workers = remaining.filter((n) => n.role === "worker");
  if (workers.length) {
    progress.step(`${workers.map((n) => n.host).join(", ")} join as worker(s)`);
    await Promise.all(workers.map(join));
    progress.done();
  }
  progress.step("waiting until every node is Ready");
  await waitNodes(store, config, options.timeoutSeconds);
  progress.done(`${config.nodes.length} node(s)`);
  return config;
}

/**
 * Each new node's own address on the network dinv made on its endpoint (node-addresses.ts: an
 * advertised address must survive restarts and recreation). On a user's --network (and on the
 * network of a swarm made before fixed addresses) the engine chooses, as for any host there.
 */
async function fixedAddresses(
  store: HostStore,
  config: SwarmConfig,
  nodes: NewNode[],
): Promise<Map<string, string>> {
  const addresses = new Map<string, string>();
  for (const endpoint of config.endpoints.filter((e) => e.fixedAddresses)) {
    const here = nodes.filter((n) => resolveEndpoint(n.flags).url === endpoint.url);
    const first = here[0];
    if (!first) continue;
    const reserved = config.nodes
      .filter((n) => store.exists(n.host))
      .map((n) => store.load(n.host))
      .filter((h) => h.endpoint.url === endpoint.url && h.network.address)
      .map((h) => h.network.address);
    const client = connect(resolveEndpoint(first.flags), { timeoutMs: 30_000 });
    const ips = await nodeAddresses(client, endpoint.network, reserved, here.length);
    here.forEach((n, i) => addresses.set(n.host, ips[i] as string));
  }
  return addresses;
}

export function innerFor(store: HostStore, config: HostConfig, timeoutMs = 30_000): EngineClient {
  return innerClient({ config, dir: store.hostDir(config.name) }, timeoutMs);
}

/** The swarm's nodes as a manager sees them (the first manager that answers). */
export async function listNodes(
  store: HostStore,
  config: SwarmConfig,
): Promise<{ manager: string; nodes: SwarmNode[] }> {
  const { config: host, engine } = await answeringManager(store, config);
  const nodes = (await call(engine, () => engine.docker.listNodes())) as SwarmNode[];
  return { manager: host.name, nodes };
}

/** Wait until every recorded node is Ready (hostnames are host names, see provision.ts). */
async function waitNodes(store: HostStore, config: SwarmConfig, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let missing: string[] = [];
  while (Date.now() < deadline) {
    const { nodes } = await listNodes(store, config).catch(() => ({ nodes: [] as SwarmNode[] }));
    const ready = new Set(
      nodes.filter((n) => n.Status?.State === "ready").map((n) => n.Description?.Hostname),
    );
    missing = config.nodes.map((n) => n.host).filter((h) => !ready.has(h));
    if (missing.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new SwarmError(`node(s) not Ready after ${timeoutSeconds} s: ${missing.join(", ")}`);
}

/**
 * The first manager (in the swarm's order) whose engine answers and is a reachable manager of
 * the swarm: what env, inspect and scale talk to, so one manager down changes nothing.
 */
export async function answeringManager(
  store: HostStore,
  config: SwarmConfig,
): Promise<{ config: HostConfig; engine: EngineClient }> {
  const tried: string[] = [];
  for (const node of config.nodes.filter((n) => n.role === "manager")) {
    try {
      const host = store.load(node.host);
      const engine = innerFor(store, host, 3_000);
      const info = (await call(engine, () => engine.docker.info())) as {
        Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string };
      };
      if (info.Swarm?.ControlAvailable && info.Swarm.LocalNodeState === "active")
        return { config: host, engine };
      tried.push(`${node.host} (not an active manager)`);
    } catch (err) {
      tried.push(`${node.host} (${err instanceof DinvError ? err.message : (err as Error).message})`);
    }
  }
  throw new SwarmError(`no manager of swarm "${config.name}" answers: ${tried.join(", ") || "it has none"}`, {
    hint: `start them with \`dinv start\`, or remove the swarm with \`dinv swarm rm -f ${config.name}\``,
  });
}

export interface ScaleOptions {
  managers?: number;
  workers?: number;
  timeoutSeconds: number;
}

/**
 * Grow or shrink the swarm. Shrinking keeps the quorum: a manager is demoted (through another
 * manager) before its node leaves; every node leaving is drained first so its tasks move.
 */
export async function scaleSwarm(
  store: HostStore,
  name: string,
  options: ScaleOptions,
  progress: Progress,
): Promise<SwarmConfig> {
  const swarms = swarmStore(store);
  let config = swarms.load(name);
  const count = (role: SwarmRole) => config.nodes.filter((n) => n.role === role).length;
  const managers = options.managers ?? count("manager");
  const workers = options.workers ?? count("worker");
  checkSwarmOptions({ name, managers, workers, endpoints: [] });
  for (const role of ["manager", "worker"] as const) {
    const target = role === "manager" ? managers : workers;
    while (count(role) > target) {
      const leaving = [...config.nodes].reverse().find((n) => n.role === role);
      if (!leaving) break;
      config = await removeNode(store, config, leaving.host, progress);
    }
    if (count(role) < target) {
      const nodes: NewNode[] = nextNodeNames(config, role, target - count(role)).map((host, i) => ({
        host,
        role,
        flags: endpointFlagsOf(
          store,
          config,
          config.endpoints[(config.nodes.length + i) % config.endpoints.length]?.url,
        ),
      }));
      config = await addNodes(
        store,
        config,
        nodes,
        {
          timeoutSeconds: options.timeoutSeconds,
          ...(config.registryCache ? { registryCache: config.registryCache } : {}),
          image: imageOf(store, config),
        },
        progress,
      );
    }
  }
  return config;
}

/** New nodes on an endpoint use the endpoint (and its TLS files) as an existing node there has it. */
function endpointFlagsOf(store: HostStore, config: SwarmConfig, url: string | undefined): EndpointFlags {
  const sibling = config.nodes.map((n) => store.load(n.host)).find((h) => h.endpoint.url === url);
  if (!sibling) return url ? { endpoint: url } : {};
  const dir = store.hostDir(sibling.name);
  const tls = sibling.endpoint.tls;
  return {
    endpoint: sibling.endpoint.url,
    ...(tls ? { tlsVerify: tls.verify } : {}),
    ...(tls?.ca ? { tlsCaCert: `${dir}/${tls.ca}` } : {}),
    ...(tls?.cert ? { tlsCert: `${dir}/${tls.cert}` } : {}),
    ...(tls?.key ? { tlsKey: `${dir}/${tls.key}` } : {}),
  };
}

function imageOf(store: HostStore, config: SwarmConfig): string {
  const first = config.nodes[0];
  return first ? store.load(first.host).container.image : "";
}

/** Demote (a manager), drain, leave, remove the node from the swarm, remove the host. */
async function removeNode(
  store: HostStore,
  config: SwarmConfig,
  host: string,
  progress: Progress,
): Promise<SwarmConfig> {
  const swarms = swarmStore(store);
  const others = { ...config, nodes: config.nodes.filter((n) => n.host !== host) };
  const role = config.nodes.find((n) => n.host === host)?.role;
  const { engine: manager } = await answeringManager(store, others);
  const nodes = (await call(manager, () => manager.docker.listNodes())) as SwarmNode[];
  const node = nodes.find((n) => n.Description?.Hostname === host);
  if (node) {
    if (role === "manager") {
      progress.step(`demoting ${host}`);
      await updateNode(manager, node.ID, { Role: "worker" });
      await waitUntil(
        async () => {
          const n = (await call(manager, () => manager.docker.getNode(node.ID).inspect())) as SwarmNode;
          return n.ManagerStatus === undefined;
        },
        60_000,
        `${host} still a manager after 60 s`,
      );
      progress.done();
    }
    progress.step(`draining ${host}`);
    await drainNode(manager, node, host, 60_000);
    progress.done();
    progress.step(`${host} leaves the swarm`);
    const leaving = innerFor(store, store.load(host), 30_000);
    // A node that is down already cannot leave; the manager removes it all the same.
    await call(leaving, () => leaving.docker.swarmLeave({ force: false })).catch(() => undefined);
    await call(manager, () => manager.docker.getNode(node.ID).remove({ force: true }));
    progress.done();
  }
  progress.step(`removing host ${host}`);
  await removeHost(store, host, { force: true, keepCache: false, fallbackEndpoint: {} });
  await swarms.save(others);
  progress.done();
  return others;
}

/**
 * Remove every node's host (container, cache volume, files), the networks dinv made, the
 * swarm's docker context and its folder (tokens included). With force, a node or endpoint that
 * cannot be cleaned is reported and the rest goes on; without, the first failure stops it.
 */
export async function removeSwarm(
  store: HostStore,
  name: string,
  options: { force: boolean },
): Promise<string[]> {
  const swarms = swarmStore(store);
  const config = swarms.load(name);
  const notes: string[] = [];
  // Connected before the hosts go: an endpoint's TLS files are kept in its nodes' folders.
  const networks = config.endpoints
    .filter((x) => x.madeByDinv)
    .map((e): { e: typeof e; client: EngineClient | Error } => {
      try {
        const endpoint = resolveEndpoint({ endpoint: e.url, ...endpointTls(store, config, e.url) });
        return { e, client: connect(endpoint, { timeoutMs: 30_000 }) };
      } catch (err) {
        return { e, client: err as Error };
      }
    });
  const results = await Promise.allSettled(
    config.nodes.map(async (n) => {
      if (store.exists(n.host))
        return removeHost(store, n.host, { force: options.force, keepCache: false, fallbackEndpoint: {} });
      return [];
    }),
  );
  results.forEach((r, i) => {
    if (r.status === "fulfilled") notes.push(...r.value);
    else
      notes.push(
        `host ${config.nodes[i]?.host}: ${r.reason instanceof DinvError ? r.reason.userMessage : String(r.reason)}`,
      );
  });
  const failedHosts = results.some((r) => r.status === "rejected");
  if (failedHosts && !options.force)
    throw new SwarmError(`could not remove every node: ${notes.join("; ")}`, {
      hint: `use \`dinv swarm rm -f ${name}\``,
    });
  for (const { e, client } of networks) {
    try {
      if (client instanceof Error) throw client;
      await removeSwarmNetwork(client, name, e.network);
    } catch (err) {
      const message = `network ${e.network} on ${e.url}: ${err instanceof DinvError ? err.userMessage : (err as Error).message}`;
      if (!options.force) throw new SwarmError(`could not remove ${message}`);
      notes.push(message);
    }
  }
  await removeDockerContext(dockerConfigDir(), name, { onlyIfOwned: true });
  swarms.remove(name);
  return notes;
}

/** The endpoint's TLS flags as a node's host folder keeps them (none when no node is left there). */
function endpointTls(store: HostStore, config: SwarmConfig, url: string): EndpointFlags {
  try {
    const flags = endpointFlagsOf(
      store,
      { ...config, nodes: config.nodes.filter((n) => store.exists(n.host)) },
      url,
    );
    delete flags.endpoint;
    return flags;
  } catch {
    return {};
  }
}

async function ensureSwarmNetwork(
  client: EngineClient,
  swarm: string,
  name: string,
  progress: Progress,
): Promise<void> {
  const existing = (await call(client, () => client.docker.getNetwork(name).inspect()).catch(
    () => undefined,
  )) as { Labels?: Record<string, string> } | undefined;
  if (existing) {
    if (existing.Labels?.[SWARM_LABEL] !== swarm)
      throw new SwarmError(
        `a network named ${name} exists on ${client.endpoint.url} and is not this swarm's`,
        {
          hint: "remove it, or pick another swarm name",
        },
      );
    return;
  }
  progress.step(`creating network ${name} on ${client.endpoint.url}`);
  const spec = { Name: name, Driver: "bridge", CheckDuplicate: true, Labels: { [SWARM_LABEL]: swarm } };
  // Nodes get fixed addresses (node-addresses.ts), which Docker Engine accepts only on a network
  // made with a subnet of the user's ("user specified IP address is supported only when
  // connecting to networks with user configured subnets"): the engine picks a free subnet,
  // then the network is made again with that subnet given.
  const picked = await call(client, () => client.docker.createNetwork(spec));
  const ipv4 = ipv4Subnet((await call(client, () => picked.inspect())) as NetworkInfo);
  await call(client, () => picked.remove());
  if (!ipv4) throw new SwarmError(`the engine at ${client.endpoint.url} gave network ${name} no IPv4 subnet`);
  await call(client, () =>
    client.docker.createNetwork({ ...spec, IPAM: { Driver: "default", Config: [ipv4] } }),
  );
  progress.done();
}

async function removeSwarmNetwork(client: EngineClient, swarm: string, name: string): Promise<void> {
  const network = client.docker.getNetwork(name);
  // Only "no such network" means done: any other failure (an unreachable endpoint) is reported.
  const info = (await call(client, () => network.inspect()).catch((err: unknown) => {
    if (engineStatus(err) === 404) return undefined;
    throw err;
  })) as { Labels?: Record<string, string> } | undefined;
  if (!info || info.Labels?.[SWARM_LABEL] !== swarm) return;
  await call(client, () => network.remove());
}

/** The docker context NAME, pointing at the first manager that answers (dinv swarm env refreshes it). */
export async function registerSwarmContext(
  store: HostStore,
  config: SwarmConfig,
  progress: Progress,
  manager?: HostConfig,
): Promise<void> {
  const configDir = dockerConfigDir();
  if (dockerContextOwner(configDir, config.name) === "other") {
    progress.warn(`a docker context named "${config.name}" exists and is not dinv's: left as it is`);
    return;
  }
  const host = manager ?? (await answeringManager(store, config)).config;
  const dir = store.hostDir(host.name);
  await writeDockerContext(configDir, {
    name: config.name,
    host: hostUrl(host),
    ca: readPublicFile(`${dir}/${host.files.ca}`),
    cert: readPublicFile(`${dir}/${host.files.clientCert}`),
    key: readPrivateFile(`${dir}/${host.files.clientKey}`),
    description: `dinv swarm ${config.name} (manager ${host.name})`,
  });
}
