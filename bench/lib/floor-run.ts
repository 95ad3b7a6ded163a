import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { floorNames, type FloorCreateInput, type FloorResult, type FloorStartInput } from "../floor.js";
import { FLOOR, HOST_IMAGE, type BenchContext } from "./context.js";
import { removeQuietly } from "./engine.js";
import type { FloorPki } from "./pki.js";
import { runOk } from "./proc.js";

export interface TimedFloor {
  /** Whole process, spawn to exit. */
  ms: number;
  result: FloorResult;
}

/** Run the floor create as its own process, timed like the CLI from spawn to exit. */
export async function floorCreateProcess(
  ctx: BenchContext,
  pki: FloorPki,
  name: string,
  options: { reuseVolume?: boolean } = {},
): Promise<TimedFloor> {
  const dir = join(ctx.dir("floor-hosts"), `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const input: FloorCreateInput = {
    engine: ctx.engineUrl,
    runId: ctx.runId,
    name,
    image: HOST_IMAGE,
    pki,
    dir,
    ...(options.reuseVolume ? { reuseVolume: true } : {}),
  };
  const run = await runOk(process.execPath, [FLOOR, "create", JSON.stringify(input)], { timeoutMs: 120_000 });
  return { ms: run.ms, result: JSON.parse(run.stdout) as FloorResult };
}

export async function floorStartProcess(
  ctx: BenchContext,
  pki: FloorPki,
  container: string,
  port: number,
): Promise<TimedFloor> {
  const input: FloorStartInput = { engine: ctx.engineUrl, container, port, pki };
  const run = await runOk(process.execPath, [FLOOR, "start", JSON.stringify(input)], { timeoutMs: 120_000 });
  return { ms: run.ms, result: JSON.parse(run.stdout) as FloorResult };
}

/** Remove a floor host: its container and, unless kept, its cache volume. */
export async function floorRemove(ctx: BenchContext, name: string, keepVolume = false): Promise<void> {
  const names = floorNames(name);
  await removeQuietly(ctx.engine, {
    containers: [names.container],
    volumes: keepVolume ? [] : [names.volume],
  });
}

export async function floorStop(ctx: BenchContext, name: string): Promise<void> {
  await ctx.engine.call("POST", `/containers/${floorNames(name).container}/stop?t=30`);
}
