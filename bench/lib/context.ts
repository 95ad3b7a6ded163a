import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  containersNamed,
  engineUrl,
  rawEngine,
  removeQuietly,
  volumesNamed,
  type RawEngine,
} from "./engine.js";
import { run, runOk, type RunOptions, type RunResult } from "./proc.js";

/** The repository root (this file is dist/bench/lib/context.js once compiled). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const FLOOR = join(ROOT, "dist/bench/floor.js");
export const TRACE_HOOK = join(ROOT, "dist/bench/trace-hook.js");
export const HOST_IMAGE = process.env.DINV_BENCH_IMAGE ?? "dinv/host:latest";

/** An isolated dinv store: its own DINV_STORAGE_PATH and DOCKER_CONFIG (never ~/.dinv, ~/.docker). */
export interface Store {
  dir: string;
  env: NodeJS.ProcessEnv;
}

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  engine: string;
  engineDetail: string;
  load: string;
  commit: string;
}

/**
 * What every part shares: the engine, a run id that prefixes every name the bench makes
 * (so clean-up removes exactly what this run made), temporary stores, and clean-up.
 */
export class BenchContext {
  readonly runId = `${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
  readonly engineUrl = engineUrl();
  readonly engine: RawEngine = rawEngine(this.engineUrl);
  readonly tmp = mkdtempSync(join(tmpdir(), "dinv-bench-"));
  private readonly stores: Store[] = [];
  /** The CLI as built when the run started (see snapshot). */
  private app = ROOT;
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  /** Every host, container and volume this run makes has this in its name. */
  get prefix(): string {
    return `bench-${this.runId}`;
  }

  name(suffix: string): string {
    return `${this.prefix}-${suffix}`;
  }

  /** bin/dinv of the snapshot: the CLI every part runs. */
  get dinvBin(): string {
    return join(this.app, "bin/dinv");
  }

  /** A compiled dinv module of the snapshot, e.g. "dist/src/cli/main.js". */
  appFile(relative: string): string {
    return join(this.app, relative);
  }

  /**
   * Copy bin/, dist/src/, the bundle dist/cli/ and package.json into the run's folder (node_modules linked) and run
   * the CLI from there: others rebuild dist/ while a run goes on, and a half-written file
   * would fail a command or time a different build.
   */
  snapshot(): void {
    if (!existsSync(join(ROOT, "dist/src/cli/main.js")) || !existsSync(join(ROOT, "dist/cli/main.js")))
      throw new Error("dist/ is not built: run npm run build");
    const app = join(this.tmp, "app");
    cpSync(join(ROOT, "bin"), join(app, "bin"), { recursive: true });
    cpSync(join(ROOT, "dist/src"), join(app, "dist/src"), { recursive: true });
    cpSync(join(ROOT, "dist/cli"), join(app, "dist/cli"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(app, "package.json"));
    symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"), "dir");
    this.app = app;
  }

  newStore(label: string): Store {
    const dir = join(this.tmp, `store-${label}`);
    mkdirSync(join(dir, "docker"), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: this.engineUrl,
      DINV_STORAGE_PATH: join(dir, "dinv"),
      DOCKER_CONFIG: join(dir, "docker"),
    };
    for (const key of [
      "DOCKER_TLS_VERIFY",
      "DOCKER_CERT_PATH",
      "DOCKER_CONTEXT",
      "DOCKER_MACHINE_NAME",
      "NODE_OPTIONS",
    ])
      delete env[key];
    const store = { dir, env };
    this.stores.push(store);
    return store;
  }

  dir(label: string): string {
    const dir = join(this.tmp, label);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  dinv(store: Store, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return run(this.dinvBin, args, { env: store.env, ...options });
  }

  dinvOk(store: Store, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return runOk(this.dinvBin, args, { env: store.env, ...options });
  }

  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  async checkEngine(): Promise<void> {
    try {
      await this.engine.call("GET", "/_ping");
    } catch (err) {
      throw new Error(
        `the engine at ${this.engineUrl} does not answer (${(err as Error).message}); start it with scripts/engine.sh and export DOCKER_HOST`,
      );
    }
    try {
      await this.engine.call("GET", `/images/${encodeURIComponent(HOST_IMAGE)}/json`);
    } catch {
      throw new Error(
        `the host image ${HOST_IMAGE} is not on ${this.engineUrl}: build it with images/dinv/build-offline.sh`,
      );
    }
  }

  async machine(): Promise<Machine> {
    const version = await this.engine.call<{ Version: string; ApiVersion: string; KernelVersion: string }>(
      "GET",
      "/version",
    );
    const info = await this.engine.call<{ NCPU: number; MemTotal: number; Driver: string }>("GET", "/info");
    let commit = "unknown";
    try {
      commit = execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
      const dirty = execFileSync("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"], {
        encoding: "utf8",
      }).trim();
      if (dirty) commit += " + uncommitted changes";
    } catch {
      // not a git checkout
    }
    return {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      engine: `Docker Engine ${version.Version} (API ${version.ApiVersion})`,
      engineDetail: `${info.NCPU} CPUs, ${Math.round((info.MemTotal / 2 ** 30) * 10) / 10} GiB, storage ${info.Driver}, kernel ${version.KernelVersion}`,
      load: loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
      commit,
    };
  }

  /**
   * Remove everything this run made: registered clean-ups first (dinv rm of real hosts), then a
   * sweep of containers and volumes whose names carry the run id, then the temporary folder.
   */
  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`bench: clean-up step failed: ${(err as Error).message}\n`);
      }
    }
    try {
      const containers = await containersNamed(this.engine, this.prefix);
      const volumes = await volumesNamed(this.engine, this.prefix);
      await removeQuietly(this.engine, { containers: containers.map((c) => c.Id), volumes });
      const left = [
        ...(await containersNamed(this.engine, this.prefix)).map((c) => c.Names[0]),
        ...(await volumesNamed(this.engine, this.prefix)),
      ];
      if (left.length) process.stderr.write(`bench: could not remove ${left.join(", ")}\n`);
    } catch (err) {
      process.stderr.write(`bench: clean-up sweep failed: ${(err as Error).message}\n`);
    }
    rmSync(this.tmp, { recursive: true, force: true });
    this.engine.close();
  }
}

/** `dinv rm -f -y` of hosts of one store (several at once), ignoring ones already gone. */
export async function removeHosts(ctx: BenchContext, store: Store, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await ctx.dinv(store, ["rm", "-f", "-y", ...names], { timeoutMs: 120_000 });
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
