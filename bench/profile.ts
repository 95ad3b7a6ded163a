/**
 * Profile (where the start-up time goes, for the analysis in BENCHMARKS.md): the import cost
 * of each heavy dependency and of dinv's own entry modules over bare Node, and a CPU profile
 * of `dinv version` and `dinv env NAME` summarised by package.
 */
import { pathToFileURL } from "node:url";
import { type BenchContext, log, removeHosts, ROOT } from "./lib/context.js";
import { cpuProfile, profileTables } from "./lib/cpuprofile.js";
import { run } from "./lib/proc.js";
import type { PartReport, Table } from "./lib/report.js";
import { ms, summarize } from "./lib/stats.js";

const MODULES: Array<[string, string[]]> = [
  ["commander", ["commander"]],
  ["dockerode", ["dockerode"]],
  ["zod", ["zod"]],
  ["@peculiar/x509 (+ reflect-metadata, which it needs)", ["reflect-metadata", "@peculiar/x509"]],
  ["tar-stream", ["tar-stream"]],
  ["dinv bundle: dist/cli/main.js (what bin/dinv loads)", ["dist/cli/main.js"]],
  ["dinv: cli/program.js (every command defined; not loaded by `dinv version`)", ["dist/src/cli/program.js"]],
  ["dinv: store/host-store.js (config schema: zod/mini)", ["dist/src/store/host-store.js"]],
  ["dinv: host/state.js (env, status: plain engine client)", ["dist/src/host/state.js"]],
  ["dinv: host/open.js (engine client: dockerode)", ["dist/src/host/open.js"]],
  ["dinv: pki/certificates.js (@peculiar/x509)", ["dist/src/pki/certificates.js"]],
  ["dinv: host/status.js (ls: plain engine client)", ["dist/src/host/status.js"]],
  ["dinv: host/create.js (create)", ["dist/src/host/create.js"]],
];

export async function benchProfile(ctx: BenchContext): Promise<PartReport> {
  const runs = 5;
  log(`profile: import cost of ${MODULES.length} modules (${runs} interleaved rounds)`);
  const importer = (specifiers: string[]) => {
    const targets = specifiers.map((s) => (s.startsWith("dist/") ? pathToFileURL(ctx.appFile(s)).href : s));
    return ["--input-type=module", "-e", targets.map((t) => `await import(${JSON.stringify(t)});`).join(" ")];
  };
  const baseline: number[] = [];
  const costs = new Map<string, number[]>(MODULES.map(([label]) => [label, []]));
  for (let i = 0; i < runs; i++) {
    baseline.push((await run(process.execPath, ["--input-type=module", "-e", ""], { cwd: ROOT })).ms);
    for (const [label, specs] of MODULES) {
      const result = await run(process.execPath, importer(specs), { cwd: ROOT });
      if (result.code !== 0) throw new Error(`import ${specs.join(", ")} failed: ${result.stderr.trim()}`);
      costs.get(label)?.push(result.ms);
    }
  }
  const base = summarize(baseline).median;
  const imports: Table = {
    title: `Import cost over bare Node (whole process, median of ${runs}; bare Node ESM: ${ms(base)})`,
    columns: ["module", "median", "over bare Node"],
    rows: MODULES.map(([label]) => {
      const s = summarize(costs.get(label) ?? []);
      return [label, ms(s.median), `+${ms(s.median - base)}`];
    }),
    notes: [
      "A dinv module's cost includes everything it imports statically. `dist/src/` is tsc's output, module by module, as the tests load it; the CLI itself runs the esbuild bundle in `dist/cli/` (npm run build writes both).",
    ],
  };

  log("profile: CPU profiles of dinv version and dinv env");
  const store = ctx.newStore("profile");
  const name = ctx.name("f1");
  ctx.onCleanup(() => removeHosts(ctx, store, [name]));
  await ctx.dinvOk(store, ["create", name]);
  const profiles = [
    ["dinv version", await cpuProfile(ctx, store.env, ["version"], "version")],
    ["dinv env NAME", await cpuProfile(ctx, store.env, ["env", name], "env")],
  ] as const;
  const tables: Table[] = [imports];
  for (const [label, p] of profiles) tables.push(...profileTables(label, p));
  return { part: "profile", heading: "Profile", tables };
}
