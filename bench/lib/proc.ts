import { spawn } from "node:child_process";

export interface Line {
  /** Milliseconds after spawn when the line arrived. */
  at: number;
  text: string;
}

export interface RunResult {
  /** Wall time from spawn to process exit, in milliseconds. */
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr lines with their arrival times (progress lines of dinv). */
  stderrLines: Line[];
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process after this long (it is then reported with code null). */
  timeoutMs?: number;
}

/** Spawn a process and time it from spawn to exit; output is collected, never inherited. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const stderrLines: Line[] = [];
    let partial = "";
    let exitedAt = 0;
    let code: number | null = null;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs).unref();
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      const at = performance.now() - started;
      stderr.push(chunk);
      partial += chunk.toString("utf8");
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const text of parts) stderrLines.push({ at, text });
    });
    child.on("error", reject);
    child.on("exit", (exitCode) => {
      exitedAt = performance.now();
      code = exitCode;
    });
    child.on("close", () => {
      if (timer) clearTimeout(timer);
      if (partial) stderrLines.push({ at: exitedAt - started, text: partial });
      resolve({
        ms: (exitedAt || performance.now()) - started,
        code,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        stderrLines,
      });
    });
  });
}

/** Like run, but fails with the process's output when it exits non-zero. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim().split("\n").slice(-5).join("\n  ");
    throw new Error(`${command} ${args.join(" ")} exited with ${result.code}:\n  ${output}`);
  }
  return result;
}

/** Run fn over items with at most `limit` at once. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}
