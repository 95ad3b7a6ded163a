/**
 * `npm run bench` (all parts) or `node dist/bench/main.js PART…` with PART one of create, ls,
 * startup, parallel, profile, kubelet, swarm. Prints the machine and a table per part, and writes
 * them into BENCHMARKS.md (only the generated blocks; the analysis around them is kept). Slow results
 * never fail the run: only a broken set-up does (engine down, image missing, a command failing).
 */
import { BenchContext, log } from "./lib/context.js";
import { machineMarkdown, partMarkdown, textTable, updateBenchmarks, type PartReport } from "./lib/report.js";

type Part = (ctx: BenchContext) => Promise<PartReport>;

const PARTS: Record<string, Part> = {
  create: async (ctx) => (await import("./create.js")).benchCreate(ctx, 7),
  ls: async (ctx) => (await import("./ls.js")).benchLs(ctx),
  startup: async (ctx) => (await import("./startup.js")).benchStartup(ctx, 15),
  parallel: async (ctx) => (await import("./parallel.js")).benchParallel(ctx, 10),
  profile: async (ctx) => (await import("./profile.js")).benchProfile(ctx),
  kubelet: async (ctx) => (await import("./kubelet.js")).benchKubelet(ctx, 100, 1000),
  swarm: async (ctx) => (await import("./swarm.js")).benchSwarm(ctx, 3),
};

async function main(argv: string[]): Promise<number> {
  const wanted = argv.length === 0 || argv.includes("all") ? Object.keys(PARTS) : argv;
  const unknown = wanted.filter((p) => !(p in PARTS));
  if (unknown.length) {
    log(`unknown part ${unknown.join(", ")}; parts: ${Object.keys(PARTS).join(", ")}, all`);
    return 2;
  }
  const ctx = new BenchContext();
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    log("interrupted: cleaning up");
    void ctx.cleanup().finally(() => process.exit(130));
  });
  try {
    await ctx.checkEngine();
    ctx.snapshot();
    const machine = await ctx.machine();
    process.stdout.write(
      `dinv benchmarks (run ${ctx.runId})\n` +
        `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}\n` +
        `engine:  ${machine.engine} at ${ctx.engineUrl}; ${machine.engineDetail}\n` +
        `load:    ${machine.load}   date: ${machine.date}   dinv: ${machine.commit}\n\n`,
    );
    const sections = [{ id: "machine", heading: "Machine", body: machineMarkdown(machine) }];
    for (const part of wanted) {
      const started = Date.now();
      const partMachine = await ctx.machine();
      const report = await (PARTS[part] as Part)(ctx);
      for (const table of report.tables) process.stdout.write(`${textTable(table)}\n`);
      for (const line of report.extra ?? []) process.stdout.write(`${line}\n\n`);
      log(`${part}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
      sections.push({ id: report.part, heading: report.heading, body: partMarkdown(report, partMachine) });
      await updateBenchmarks(sections.splice(0));
    }
    log("results written to BENCHMARKS.md");
    return 0;
  } catch (err) {
    log(`bench: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    if (!interrupted) await ctx.cleanup();
  }
}

process.exitCode = await main(process.argv.slice(2));
