/**
 * Preloaded into a dinv process (NODE_OPTIONS="--import …/trace-hook.js", with
 * DINV_BENCH_TRACE=<file>) to see where its time goes without touching src/: every HTTP(S)
 * request it makes (the engine API, the host's TLS ping) with start and end, every line it
 * writes to stderr (the progress steps), and the CommonJS modules it loaded, written to the
 * file at exit. Times are milliseconds since the process started.
 */
import type { ClientRequest, IncomingMessage } from "node:http";
import { subscribe } from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface TraceRequest {
  start: number;
  end: number;
  method: string;
  url: string;
  status?: number;
  error?: string;
}

export interface Trace {
  preload: number;
  exit: number;
  requests: TraceRequest[];
  stderr: Array<{ at: number; text: string }>;
  /** CommonJS module files loaded (ESM ones are not listed). */
  cjsModules: string[];
}

const file = process.env.DINV_BENCH_TRACE;
if (file) {
  const trace: Trace = { preload: performance.now(), exit: 0, requests: [], stderr: [], cjsModules: [] };
  const open = new Map<ClientRequest, TraceRequest>();
  subscribe("http.client.request.start", (message) => {
    const request = (message as { request: ClientRequest }).request;
    const entry: TraceRequest = {
      start: performance.now(),
      end: NaN,
      method: request.method,
      url: `${request.protocol}//${request.host}${request.path}`,
    };
    open.set(request, entry);
    request.once("close", () => {
      entry.end = performance.now();
      open.delete(request);
    });
    trace.requests.push(entry);
  });
  subscribe("http.client.response.finish", (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const entry = open.get(request);
    if (entry) entry.status = response.statusCode;
  });
  subscribe("http.client.request.error", (message) => {
    const { request, error } = message as { request: ClientRequest; error: Error & { code?: string } };
    const entry = open.get(request);
    if (entry) entry.error = error.code ?? error.message;
  });
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    trace.stderr.push({ at: performance.now(), text: String(chunk) });
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  process.on("exit", () => {
    trace.exit = performance.now();
    const cache = (createRequire(import.meta.url) as unknown as { cache: Record<string, unknown> }).cache;
    trace.cjsModules = Object.keys(cache);
    writeFileSync(file, JSON.stringify(trace));
  });
}
