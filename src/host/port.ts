import { createServer } from "node:net";
import type { EngineClient } from "../engine/client.js";
import { call } from "../engine/client.js";

/** Host ports dinv publishes hosts on, one per host on an endpoint. */
export const PORT_RANGE = { first: 22376, last: 22999 } as const;

/** Ports published by any container on the endpoint (running or not) plus those the store knows of. */
export async function usedPorts(client: EngineClient, known: Iterable<number>): Promise<Set<number>> {
  const used = new Set<number>(known);
  const containers = await call(client, () => client.docker.listContainers({ all: true }));
  for (const c of containers) for (const p of c.Ports ?? []) if (p.PublicPort) used.add(p.PublicPort);
  return used;
}

/** Is the port free on this machine (only meaningful when the endpoint is local)? */
export function localPortFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: address, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A random free port of the range (random so that concurrent creates rarely collide). */
export async function pickPort(
  used: Set<number>,
  isFree: (port: number) => Promise<boolean>,
): Promise<number | undefined> {
  const candidates: number[] = [];
  for (let p = PORT_RANGE.first; p <= PORT_RANGE.last; p++) if (!used.has(p)) candidates.push(p);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j] as number, candidates[i] as number];
  }
  for (const port of candidates.slice(0, 50)) if (await isFree(port)) return port;
  return undefined;
}
