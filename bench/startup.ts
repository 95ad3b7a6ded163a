/**
 * Part 3: CLI start-up. `dinv version` and `dinv env NAME` run in shell prompts and `eval`:
 * whole processes, interleaved with a bare `node -e 0` in the same run (the part no CLI on
 * Node can avoid), and `dinv ip NAME` (store only, no engine call) to separate the costs.
 */
import { type BenchContext, log, removeHosts } from "./lib/context.js";
import { run, type RunResult } from "./lib/proc.js";
import { goal, type PartReport, type Table } from "./lib/report.js";
import { ms, ratio, summarize } from "./lib/stats.js";
import { cjsPackages, traceTable, tracedDinv } from "./lib/trace.js";

export const GOALS = { version: 150, env: 250 };
/** Bare `node` on a quiet machine here (docs/architecture.md): the scale for the estimate column. */
const QUIET_NODE_MS = 90;

export async function benchStartup(ctx: BenchContext, runs: number): Promise<PartReport> {
  const store = ctx.newStore("startup");
  const name = ctx.name("s1");
  ctx.onCleanup(() => removeHosts(ctx, store, [name]));
  log("startup: creating a host for env");
  await ctx.dinvOk(store, ["create", name]);

  const commands: Array<{
    key: string;
    label: string;
    run: () => Promise<RunResult>;
  }> = [
    { key: "node", label: "node -e 0 (bare Node, same run)", run: () => run(process.execPath, ["-e", "0"]) },
    { key: "version", label: "dinv version", run: () => ctx.dinv(store, ["version"]) },
    {
      key: "env",
      label: "dinv env NAME (checks the host runs: one engine call)",
      run: () => ctx.dinv(store, ["env", name]),
    },
    {
      key: "ip",
      label: "dinv ip NAME (store only, no engine call; diagnostic)",
      run: () => ctx.dinv(store, ["ip", name]),
    },
  ];
  const times = new Map<string, number[]>(commands.map((c) => [c.key, []]));
  // One warm-up round, then interleaved rounds so that load changes hit every command alike.
  for (const c of commands) await c.run();
  log(`startup: ${runs} interleaved rounds`);
  for (let i = 0; i < runs; i++) {
    for (const c of commands) {
      const result = await c.run();
      if (result.code !== 0) throw new Error(`${c.label} failed: ${result.stderr.trim()}`);
      times.get(c.key)?.push(result.ms);
    }
  }
  const node = summarize(times.get("node") ?? []);
  const rows = commands.map((c) => {
    const s = summarize(times.get(c.key) ?? []);
    const target = GOALS[c.key as keyof typeof GOALS] as number | undefined;
    return [
      c.label,
      ms(s.median),
      ms(s.p95),
      c.key === "node" ? "–" : `+${ms(s.median - node.median)}`,
      c.key === "node" ? "–" : ratio(s.median, node.median),
      ms((s.median / node.median) * QUIET_NODE_MS),
      c.key === "version" ? "6 ms" : c.key === "env" ? "15–18 ms" : "–",
      target === undefined ? "–" : `< ${target} ms`,
      goal(target === undefined ? undefined : s.median < target),
    ];
  });
  const table: Table = {
    title: `CLI start-up, whole process (median and p95 of ${runs} interleaved runs)`,
    columns: [
      "command",
      "median",
      "p95",
      "over bare Node",
      "ratio to bare Node",
      "scaled to a quiet machine (estimate)",
      "docker-machine",
      "goal",
      "",
    ],
    rows,
    notes: [
      "docker-machine figures from docs/architecture.md (a Go binary; measured here earlier).",
      `The goal verdict is on the measured median. The estimate column scales the ratio to bare Node by docs/architecture.md's quiet-machine bare Node (${QUIET_NODE_MS} ms): an estimate for a quiet machine, not a measurement.`,
    ],
  };

  const version = await tracedDinv(ctx, store, ["version"], "version");
  const env = await tracedDinv(ctx, store, ["env", name], "env");
  return {
    part: "startup",
    heading: "3. CLI start-up",
    tables: [table, traceTable("dinv env NAME, one traced run", env.trace, ctx.prefix)],
    extra: [
      `CommonJS packages loaded by \`dinv version\`: ${cjsPackages(version.trace)}. By \`dinv env NAME\`: ${cjsPackages(env.trace)}. (ESM packages are not listed; see the profile section.)`,
    ],
  };
}
