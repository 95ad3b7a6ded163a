import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DAEMON_JSON,
  floorNames,
  freeLoopbackPort,
  type FloorCreateInput,
  type FloorResult,
  type FloorStartInput,
} from "../floor.js";
import { FLOOR, HOST_IMAGE, ROOT, type BenchContext } from "./context.js";
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

export interface TimedCliFloor {
  ms: number;
  polls: number;
}

/**
 * The docker-CLI floor (bench/cli-floor.sh): openssl and the docker CLI as a person would
 * script them, timed from spawn to exit. Its files (daemon.json, the folders) are laid out
 * first, untimed: dinv writes the same files within its own time.
 */
export async function cliFloorCreateProcess(
  ctx: BenchContext,
  pki: FloorPki,
  name: string,
  options: { reuseVolume?: boolean } = {},
): Promise<TimedCliFloor> {
  const dir = join(ctx.dir("cli-floor-hosts"), `${name}-${Date.now()}`);
  mkdirSync(join(dir, "etc/docker"), { recursive: true });
  mkdirSync(join(dir, "certs/server"), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "etc/docker/daemon.json"), `${JSON.stringify(DAEMON_JSON, null, 2)}\n`);
  writeFileSync(join(dir, "etc/docker/dockerd.env"), "", { mode: 0o600 });
  const port = await freeLoopbackPort();
  const args = [CLI_FLOOR, name, HOST_IMAGE, pki.dir, dir, String(port), ctx.runId];
  const run = await runOk("bash", options.reuseVolume ? [...args, "reuse-volume"] : args, {
    env: { ...process.env, DOCKER_HOST: ctx.engineUrl },
    timeoutMs: 120_000,
  });
  return { ms: run.ms, polls: Number(/polls (\d+)/.exec(run.stdout)?.[1] ?? 0) };
}

const CLI_FLOOR = join(ROOT, "bench/cli-floor.sh");
