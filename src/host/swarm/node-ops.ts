/** Operations on one swarm node through a manager's API: role and availability changes, and the waits they need. */
import { call, type EngineClient } from "../../engine/client.js";
import { DinvError } from "../../errors.js";
import type { SwarmRole } from "../../store/swarm-store.js";

export class SwarmError extends DinvError {}

export interface SwarmNode {
  ID: string;
  Version: { Index: number };
  Spec: { Role: SwarmRole; Availability: string; Labels?: Record<string, string> };
  Description?: { Hostname?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string };
}

interface SwarmService {
  ID: string;
  Spec: { Name: string; Mode?: { Replicated?: { Replicas?: number } } };
}

interface SwarmTask {
  NodeID?: string;
  Status?: { State?: string };
}

export async function updateNode(
  engine: EngineClient,
  id: string,
  change: Partial<SwarmNode["Spec"]>,
): Promise<void> {
  const node = (await call(engine, () => engine.docker.getNode(id).inspect())) as SwarmNode;
  await call(engine, () =>
    engine.docker
      .getNode(id)
      .update({ _query: { version: node.Version.Index }, _body: { ...node.Spec, ...change } }),
  );
}

export async function waitUntil(
  check: () => Promise<boolean>,
  ms: number,
  failure: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new SwarmError(typeof failure === "string" ? failure : failure());
}

/** Drain a node and wait until no task is meant to run on it any more. */
export async function drainNode(
  engine: EngineClient,
  node: SwarmNode,
  host: string,
  ms: number,
): Promise<void> {
  await updateNode(engine, node.ID, { Availability: "drain" });
  await waitUntil(
    async () => {
      const tasks = (await call(engine, () =>
        engine.docker.listTasks({
          filters: JSON.stringify({ node: [node.ID], "desired-state": ["running"] }),
        }),
      )) as unknown[];
      return tasks.length === 0;
    },
    ms,
    `tasks still on ${host} after ${ms / 1000} s`,
  );
}

/**
 * Wait until every replicated service runs as many tasks as it asks for, none on `leaving`:
 * the tasks a drain moved have started elsewhere before that node goes down.
 */
export async function waitServicesConverged(
  engine: EngineClient,
  leaving: string,
  ms: number,
): Promise<void> {
  let behind: string[] = [];
  await waitUntil(
    async () => {
      const services = (await call(engine, () => engine.docker.listServices())) as SwarmService[];
      behind = [];
      for (const service of services) {
        const wanted = service.Spec.Mode?.Replicated?.Replicas;
        if (wanted === undefined) continue; // global services follow the nodes
        const tasks = (await call(engine, () =>
          engine.docker.listTasks({
            filters: JSON.stringify({ service: [service.ID], "desired-state": ["running"] }),
          }),
        )) as SwarmTask[];
        const running = tasks.filter((t) => t.Status?.State === "running" && t.NodeID !== leaving);
        if (running.length < wanted) behind.push(`${service.Spec.Name} ${running.length}/${wanted}`);
      }
      return behind.length === 0;
    },
    ms,
    () => `services not back at their replicas after ${ms / 1000} s: ${behind.join(", ")}`,
  );
}
