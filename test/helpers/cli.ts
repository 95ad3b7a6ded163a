/** Run bin/dinv and the real docker CLI as child processes, in an isolated store and docker config. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_ENGINE_ENV } from "./engine.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const DINV_BIN = join(REPO_ROOT, "bin", "dinv");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Sandbox {
  store: string;
  dockerConfig: string;
  env: NodeJS.ProcessEnv;
  dinv(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  docker(args: string[], extraEnv?: NodeJS.ProcessEnv, input?: NodeJS.ReadableStream): Promise<RunResult>;
  sh(script: string, extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  cleanup(): void;
}

export function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: NodeJS.ReadableStream,
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    if (input && child.stdin) input.pipe(child.stdin);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A fresh store and docker config; DOCKER_HOST is that of the test engine (DINV_TEST_ENGINE). */
export function sandbox(): Sandbox {
  const base = mkdtempSync(join(tmpdir(), "dinv-cli-"));
  const store = join(base, "store");
  const dockerConfig = join(base, "docker");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...TEST_ENGINE_ENV,
    DINV_STORAGE_PATH: store,
    DOCKER_CONFIG: dockerConfig,
  };
  return {
    store,
    dockerConfig,
    env,
    dinv: (args, extraEnv = {}) => run(DINV_BIN, args, { ...env, ...extraEnv }),
    docker: (args, extraEnv = {}, input) => run("docker", args, { ...env, ...extraEnv }, input),
    sh: (script, extraEnv = {}) => run("bash", ["-c", script], { ...env, ...extraEnv }),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}
