import { Agent, request } from "node:http";

/**
 * The raw Docker Engine API over its unix socket (or plain tcp), with nothing in between:
 * what the floor measurements and the bench's own set-up and clean-up use.
 */
export interface RawEngine {
  readonly url: string;
  call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T>;
  close(): void;
}

export class EngineApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The engine the benchmarks run against: DOCKER_HOST, else dinv's private development engine. */
export function engineUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST && env.DOCKER_HOST !== "" ? env.DOCKER_HOST : "unix:///run/dinv-engine/docker.sock";
}

export function rawEngine(url: string, timeoutMs = 30_000): RawEngine {
  let target: { socketPath: string } | { host: string; port: number };
  if (url.startsWith("unix://")) target = { socketPath: url.slice("unix://".length) };
  else if (url.startsWith("tcp://")) {
    const parsed = new URL(url.replace(/^tcp:/, "http:"));
    target = { host: parsed.hostname, port: Number(parsed.port || 2375) };
  } else throw new Error(`the benchmarks need a unix:// or plain tcp:// engine, not ${url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  return {
    url,
    close: () => agent.destroy(),
    call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const payload =
          body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
        const req = request(
          {
            ...target,
            agent,
            method,
            path,
            timeout: timeoutMs,
            headers: {
              ...(payload
                ? {
                    "Content-Type": Buffer.isBuffer(body) ? "application/x-tar" : "application/json",
                    "Content-Length": String(payload.length),
                  }
                : {}),
              ...headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              const status = res.statusCode ?? 0;
              if (status >= 400) {
                let message = text;
                try {
                  message = (JSON.parse(text) as { message?: string }).message ?? text;
                } catch {
                  // plain-text error body
                }
                reject(new EngineApiError(status, `${method} ${path}: ${status} ${message.trim()}`));
                return;
              }
              if (!text) resolve(undefined as T);
              else if ((res.headers["content-type"] ?? "").includes("json")) resolve(JSON.parse(text) as T);
              else resolve(text as T);
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on("error", reject);
        req.end(payload);
      });
    },
  };
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

/** Remove containers (and their anonymous volumes) and named volumes; missing ones are fine. */
export async function removeQuietly(
  engine: RawEngine,
  what: { containers?: string[]; volumes?: string[] },
): Promise<void> {
  await Promise.all(
    (what.containers ?? []).map((c) =>
      engine.call("DELETE", `/containers/${encodeURIComponent(c)}?force=1&v=1`).catch(ignoreMissing),
    ),
  );
  await Promise.all(
    (what.volumes ?? []).map((v) =>
      engine.call("DELETE", `/volumes/${encodeURIComponent(v)}?force=1`).catch(ignoreMissing),
    ),
  );
}

function ignoreMissing(err: unknown): void {
  if (err instanceof EngineApiError && err.status === 404) return;
  throw err;
}

/** Containers whose name contains `fragment` (the engine matches names by substring). */
export async function containersNamed(engine: RawEngine, fragment: string): Promise<ContainerSummary[]> {
  const filters = encodeURIComponent(JSON.stringify({ name: [fragment] }));
  return engine.call<ContainerSummary[]>("GET", `/containers/json?all=1&filters=${filters}`);
}

export async function volumesNamed(engine: RawEngine, fragment: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ name: [fragment] }));
  const answer = await engine.call<{ Volumes: Array<{ Name: string }> | null }>(
    "GET",
    `/volumes?filters=${filters}`,
  );
  return (answer.Volumes ?? []).map((v) => v.Name);
}
