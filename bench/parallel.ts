/**
 * Part 4: parallel create. 10 `dinv create` processes at once against 10 one after another
 * (same store, the CA made beforehand), and the floor the same two ways for reference.
 */
import { type BenchContext, log, removeHosts } from "./lib/context.js";
import { floorCreateProcess, floorRemove } from "./lib/floor-run.js";
import { makeFloorPki } from "./lib/pki.js";
import type { RunResult } from "./lib/proc.js";
import type { PartReport, Table } from "./lib/report.js";
import { ms, summarize } from "./lib/stats.js";
import { dinvSteps, medianSteps } from "./lib/steps.js";

export async function benchParallel(ctx: BenchContext, count: number): Promise<PartReport> {
  const store = ctx.newStore("parallel");
  const pki = await makeFloorPki(ctx.dir("floor-pki-parallel"));
  const seqNames = Array.from({ length: count }, (_, i) => ctx.name(`q${i + 1}`));
  const parNames = Array.from({ length: count }, (_, i) => ctx.name(`p${i + 1}`));
  ctx.onCleanup(() => removeHosts(ctx, store, [...seqNames, ...parNames]));

  log("parallel: warm-up (the store's CA)");
  const warm = ctx.name("pw");
  await ctx.dinvOk(store, ["create", warm]);
  await ctx.dinvOk(store, ["rm", "-f", "-y", warm]);

  const wall = async <T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> => {
    const started = performance.now();
    const value = await fn();
    return { ms: performance.now() - started, value };
  };
  const check = (results: RunResult[]) => {
    const failed = results.filter((r) => r.code !== 0);
    return failed.length
      ? `${failed.length} failed: ${failed[0]?.stderr.trim().split("\n").pop()}`
      : "all ok";
  };

  log(`parallel: dinv, ${count} one after another`);
  const seq = await wall(async () => {
    const out: RunResult[] = [];
    for (const name of seqNames) out.push(await ctx.dinv(store, ["create", name], { timeoutMs: 180_000 }));
    return out;
  });
  await removeHosts(ctx, store, seqNames);
  log(`parallel: dinv, ${count} at once`);
  const par = await wall(() =>
    Promise.all(parNames.map((name) => ctx.dinv(store, ["create", name], { timeoutMs: 180_000 }))),
  );
  await removeHosts(ctx, store, parNames);

  log(`parallel: floor, ${count} one after another, then at once`);
  const floorSeq = await wall(async () => {
    const out: number[] = [];
    for (const name of seqNames) out.push((await floorCreateProcess(ctx, pki, name)).ms);
    return out;
  });
  await Promise.all(seqNames.map((name) => floorRemove(ctx, name)));
  const floorPar = await wall(() =>
    Promise.all(parNames.map(async (name) => (await floorCreateProcess(ctx, pki, name)).ms)),
  );
  await Promise.all(parNames.map((name) => floorRemove(ctx, name)));

  const row = (what: string, totalMs: number, each: number[], status: string, vs?: number) => {
    const s = summarize(each);
    return [
      what,
      ms(totalMs),
      ms(totalMs / each.length),
      ms(s.median),
      ms(s.p95),
      vs === undefined ? "–" : `${(vs / totalMs).toFixed(2)}×`,
      status,
    ];
  };
  const table: Table = {
    title: `${count} creates at once vs one after another (wall time of the whole batch)`,
    columns: [
      "batch",
      "total wall",
      "per host",
      "each create median",
      "each create p95",
      "speed-up",
      "outcome",
    ],
    rows: [
      row(
        `dinv create ×${count}, one after another`,
        seq.ms,
        seq.value.map((r) => r.ms),
        check(seq.value),
      ),
      row(
        `dinv create ×${count}, all at once`,
        par.ms,
        par.value.map((r) => r.ms),
        check(par.value),
        seq.ms,
      ),
      row(`floor ×${count}, one after another`, floorSeq.ms, floorSeq.value, "all ok"),
      row(`floor ×${count}, all at once`, floorPar.ms, floorPar.value, "all ok", floorSeq.ms),
    ],
    notes: [
      `dinv all at once vs the floor all at once: ${(par.ms / floorPar.ms).toFixed(2)}×.`,
      "Each host is a nested dockerd starting up: with few cores the batch is bound by CPU, so the speed-up is capped by the machine, not by the tool.",
    ],
  };
  const steps = (results: RunResult[]) =>
    medianSteps(results.map((r) => dinvSteps(r.stderrLines, r.ms, ctx.prefix))).map(([label, value]) => [
      label,
      String(Math.round(value)),
    ]);
  const seqSteps = new Map(steps(seq.value).map(([label, value]) => [label, value]));
  const stepTable: Table = {
    title: "dinv create per progress step, median ms: one after another vs all at once",
    columns: ["step", "one after another", "all at once"],
    rows: steps(par.value).map(([label, value]) => [
      label as string,
      seqSteps.get(label as string) ?? "–",
      value as string,
    ]),
  };
  return { part: "parallel", heading: "4. Parallel create", tables: [table, stepTable] };
}
