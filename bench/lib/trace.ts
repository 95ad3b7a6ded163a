import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Trace, TraceRequest } from "../trace-hook.js";
import { TRACE_HOOK, type BenchContext, type Store } from "./context.js";
import { run, type RunResult } from "./proc.js";
import type { Table } from "./report.js";
import { normalizeStep } from "./steps.js";

/** Run one dinv command with the trace hook preloaded; returns the run and its trace. */
export async function tracedDinv(
  ctx: BenchContext,
  store: Store,
  args: readonly string[],
  label: string,
): Promise<{ run: RunResult; trace: Trace }> {
  const file = join(ctx.dir("traces"), `${label}.json`);
  const result = await run(ctx.dinvBin, args, {
    env: { ...store.env, NODE_OPTIONS: `--import=${TRACE_HOOK}`, DINV_BENCH_TRACE: file },
    timeoutMs: 120_000,
  });
  return { run: result, trace: JSON.parse(readFileSync(file, "utf8")) as Trace };
}

/** Path without the query (docker-modem repeats a request's whole body there), host names as NAME. */
function shortUrl(url: string, prefix: string): string {
  const [path = "", query] = url
    .replace(/^http:\/\/localhost/, "")
    .replace(/^https:\/\//, "TLS ")
    .split("?");
  const keep = (query ?? "").split("&").filter((p) => /^(name|path|all|force|v)=/.test(p));
  return normalizeStep(`${path}${keep.length ? `?${keep.join("&")}` : query ? "?…" : ""}`, prefix)
    .replace(/\/v1\.\d+/, "")
    .replace(/[0-9a-f]{64}/, "ID");
}

/** Consecutive identical requests (the readiness polls) become one row. */
function collapse(requests: readonly TraceRequest[], prefix: string) {
  const rows: Array<{ start: number; end: number; what: string; count: number; outcome: string }> = [];
  for (const r of requests) {
    const what = `${r.method} ${shortUrl(r.url, prefix)}`;
    const outcome = r.status !== undefined ? String(r.status) : (r.error ?? "?");
    const last = rows[rows.length - 1];
    if (last && last.what === what && (what.includes("_ping") || last.outcome === outcome)) {
      last.end = r.end;
      last.count++;
      if (outcome !== last.outcome) last.outcome = `${last.outcome} … ${outcome}`;
    } else rows.push({ start: r.start, end: r.end, what, count: 1, outcome });
  }
  return rows;
}

/** The step (progress line) a moment belongs to: the first one that finished after it. */
function stepAt(trace: Trace, at: number, prefix: string): string {
  if (!trace.stderr.some((line) => /: done/.test(line.text))) return "";
  for (const line of trace.stderr) {
    if (line.at < at) continue;
    const match = /^(.*?): done/.exec(line.text.trim());
    if (match) return normalizeStep(match[1] as string, prefix);
  }
  return "after the last step";
}

/**
 * The timeline of one traced run: process start → the hook (Node start-up) → each engine or
 * TLS request → exit, with the local time between requests shown as its own rows.
 */
export function traceTable(title: string, trace: Trace, prefix: string): Table {
  const rows: string[][] = [];
  const f = (n: number) => Math.round(n).toString();
  rows.push(["0", f(trace.preload), "Node start-up until the first preloaded module runs", ""]);
  let cursor = trace.preload;
  for (const r of collapse(trace.requests, prefix)) {
    if (r.start - cursor >= 2)
      rows.push([
        f(cursor),
        f(r.start - cursor),
        "local work (module loading, files, certificates)",
        stepAt(trace, r.start, prefix),
      ]);
    rows.push([
      f(r.start),
      f(r.end - r.start),
      `${r.what}${r.count > 1 ? ` ×${r.count}` : ""} → ${r.outcome}`,
      stepAt(trace, r.start, prefix),
    ]);
    cursor = Math.max(cursor, r.end);
  }
  rows.push([f(cursor), f(trace.exit - cursor), "local work until exit", ""]);
  return { title, columns: ["at ms", "took ms", "what", "during step"], rows };
}

/** Packages of the CommonJS modules a run loaded, with their file counts. */
export function cjsPackages(trace: Trace): string {
  const counts = new Map<string, number>();
  for (const file of trace.cjsModules) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const name = match ? (match[1] as string) : file.includes("/dist/") ? "dinv (dist)" : "other";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  if (sorted.length === 0) return "none";
  const shown = sorted.slice(0, 12).map(([name, n]) => `${name} (${n} files)`);
  const rest = sorted.slice(12);
  if (rest.length)
    shown.push(`${rest.length} more packages (${rest.reduce((sum, [, n]) => sum + n, 0)} files)`);
  return `${trace.cjsModules.length} files: ${shown.join(", ")}`;
}

/** A run with many requests, in phases: start-up, engine calls, TLS calls to hosts, exit. */
export function traceSummary(title: string, trace: Trace): Table {
  const f = (n: number) => `${Math.round(n)} ms`;
  const engine = trace.requests.filter((r) => r.url.startsWith("http:"));
  const tls = trace.requests.filter((r) => r.url.startsWith("https:"));
  const first = trace.requests[0];
  const rows: string[][] = [
    ["Node start-up (until the preloaded hook runs)", f(trace.preload)],
    ["first request starts (modules loaded, store read)", first ? `at ${f(first.start)}` : "no request"],
  ];
  for (const r of engine)
    rows.push([
      `engine: ${r.method} ${shortUrl(r.url, "\u0000")}`,
      `at ${f(r.start)}, took ${f(r.end - r.start)}`,
    ]);
  if (tls.length) {
    const events = tls.flatMap((r) => [
      [r.start, 1],
      [r.end, -1],
    ]) as Array<[number, number]>;
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let peak = 0;
    for (const [, delta] of events) peak = Math.max(peak, (open += delta));
    const durations = tls.map((r) => r.end - r.start).sort((a, b) => a - b);
    const failed = tls.filter((r) => r.status !== 200).length;
    rows.push(
      [
        `TLS calls to the hosts' engines: ${tls.length} (${failed} without a 200)`,
        `from ${f(Math.min(...tls.map((r) => r.start)))} to ${f(Math.max(...tls.map((r) => r.end)))}`,
      ],
      ["  at most in flight at once", String(peak)],
      [
        "  each call: median / max",
        `${f(durations[Math.floor(durations.length / 2)] ?? NaN)} / ${f(durations[durations.length - 1] ?? NaN)}`,
      ],
    );
  }
  rows.push(["process exit", `at ${f(trace.exit)}`]);
  return { title, columns: ["phase", "time"], rows };
}
