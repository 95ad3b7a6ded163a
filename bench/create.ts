/**
 * Part 1: create latency. `dinv create` as a whole process (spawn to exit, which comes after a
 * TLS-verified answer) against the floor doing the same work on the raw API, run alternately;
 * then a create over a kept cache (rm --keep-cache, create again) and `start` of a stopped host.
 */
import { type BenchContext, HOST_IMAGE, log, removeHosts } from "./lib/context.js";
import {
  cliFloorCreateProcess,
  floorCreateProcess,
  floorRemove,
  floorStartProcess,
  floorStop,
} from "./lib/floor-run.js";
import { makeFloorPki } from "./lib/pki.js";
import { goal, type PartReport, type Table } from "./lib/report.js";
import { ms, ratio, summarize } from "./lib/stats.js";
import { dinvSteps, medianSteps } from "./lib/steps.js";
import { cjsPackages, traceTable, tracedDinv } from "./lib/trace.js";

export const CREATE_GOAL_RATIO = 1.3;
/** Against the docker-CLI floor (bench/cli-floor.sh), issue 18's goal. */
export const CLI_GOAL_RATIO = 1.2;
/** The floor measured with the CLI tools of the trade (openssl, docker create/cp/start, docker version polls). */
const DESIGN_FLOOR_MS = 625;

interface Sample {
  dinv: number;
  floor: number;
  floorWork: number;
  /** The docker-CLI floor; absent for start (the CLI floor is measured for creates). */
  cli?: number;
}

export async function benchCreate(ctx: BenchContext, runs: number): Promise<PartReport> {
  const store = ctx.newStore("create");
  const pki = await makeFloorPki(ctx.dir("floor-pki"));
  const made: string[] = [];
  ctx.onCleanup(() => removeHosts(ctx, store, made));

  // Warm-up (not measured): the store's CA is made by the first create, and file caches fill.
  log("create: warm-up");
  const warm = ctx.name("cw");
  made.push(warm);
  await ctx.dinvOk(store, ["create", warm]);
  await ctx.dinvOk(store, ["rm", "-f", "-y", warm]);
  await floorCreateProcess(ctx, pki, warm);
  await floorRemove(ctx, warm);
  await cliFloorCreateProcess(ctx, pki, `${warm}-cli`);
  await floorRemove(ctx, `${warm}-cli`);

  const cold: Sample[] = [];
  const kept: Sample[] = [];
  const started: Sample[] = [];
  const coldSteps: Array<Array<[string, number]>> = [];
  const keptSteps: Array<Array<[string, number]>> = [];
  const floorSteps: Array<Array<[string, number]>> = [];
  const floorPolls: number[] = [];
  const cliPolls: number[] = [];

  for (let i = 1; i <= runs; i++) {
    const name = ctx.name(`c${i}`);
    made.push(name);
    const dinvFirst = i % 2 === 1;
    log(`create: run ${i}/${runs} (${dinvFirst ? "dinv first" : "floor first"})`);

    // Cold: a new host with a new cache volume.
    const pair = async <A, B>(a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> => {
      if (dinvFirst) {
        const x = await a();
        return [x, await b()];
      }
      const y = await b();
      return [await a(), y];
    };
    const cliName = `${name}-cli`;
    const [dinvCold, floorCold] = await pair(
      () => ctx.dinvOk(store, ["create", name]),
      () => floorCreateProcess(ctx, pki, name),
    );
    const cliCold = await cliFloorCreateProcess(ctx, pki, cliName);
    cliPolls.push(cliCold.polls);
    cold.push({
      dinv: dinvCold.ms,
      floor: floorCold.ms,
      floorWork: floorCold.ms - floorCold.result.startup,
      cli: cliCold.ms,
    });
    coldSteps.push(dinvSteps(dinvCold.stderrLines, dinvCold.ms, ctx.prefix));
    floorSteps.push([
      ["process start-up", floorCold.result.startup],
      ...Object.entries(floorCold.result.steps),
    ]);
    floorPolls.push(floorCold.result.polls ?? 0);

    // Warm: the same name again over the kept cache volume.
    await ctx.dinvOk(store, ["rm", "--keep-cache", "-y", name]);
    await floorRemove(ctx, name, true);
    await floorRemove(ctx, cliName, true);
    const [dinvKept, floorKept] = await pair(
      () => ctx.dinvOk(store, ["create", name]),
      () => floorCreateProcess(ctx, pki, name, { reuseVolume: true }),
    );
    const cliKept = await cliFloorCreateProcess(ctx, pki, cliName, { reuseVolume: true });
    await floorRemove(ctx, cliName);
    kept.push({
      dinv: dinvKept.ms,
      floor: floorKept.ms,
      floorWork: floorKept.ms - floorKept.result.startup,
      cli: cliKept.ms,
    });
    keptSteps.push(dinvSteps(dinvKept.stderrLines, dinvKept.ms, ctx.prefix));

    // Start of a stopped host.
    await ctx.dinvOk(store, ["stop", name]);
    await floorStop(ctx, name);
    const [dinvStart, floorStart] = await pair(
      () => ctx.dinvOk(store, ["start", name]),
      () => floorStartProcess(ctx, pki, floorKept.result.container ?? "", floorKept.result.port ?? 0),
    );
    started.push({
      dinv: dinvStart.ms,
      floor: floorStart.ms,
      floorWork: floorStart.ms - floorStart.result.startup,
    });

    await ctx.dinvOk(store, ["rm", "-f", "-y", name]);
    await floorRemove(ctx, name);
  }

  // One traced create: where the time goes, request by request.
  log("create: traced run");
  const traced = ctx.name("ct");
  made.push(traced);
  const { run: tracedRun, trace } = await tracedDinv(ctx, store, ["create", traced], "create");
  await ctx.dinvOk(store, ["rm", "-f", "-y", traced]);

  const row = (what: string, samples: Sample[]): string[] => {
    const d = summarize(samples.map((s) => s.dinv));
    const f = summarize(samples.map((s) => s.floor));
    const w = summarize(samples.map((s) => s.floorWork));
    const r = d.median / f.median;
    const cli = samples.every((s) => s.cli !== undefined)
      ? summarize(samples.map((s) => s.cli ?? 0))
      : undefined;
    return [
      what,
      ms(d.median),
      ms(d.p95),
      ms(f.median),
      ms(f.p95),
      ms(w.median),
      ratio(d.median, f.median),
      `≤ ${CREATE_GOAL_RATIO}×`,
      goal(r <= CREATE_GOAL_RATIO),
      cli ? ms(cli.median) : "–",
      cli ? ratio(d.median, cli.median) : "–",
      cli ? `≤ ${CLI_GOAL_RATIO}×` : "–",
      cli ? goal(d.median / cli.median <= CLI_GOAL_RATIO) : "–",
    ];
  };
  const main: Table = {
    title: `Create latency: whole process, spawn to exit (median and p95 of ${runs} runs, dinv and floor alternating)`,
    columns: [
      "measure",
      "dinv median",
      "dinv p95",
      "floor median",
      "floor p95",
      "floor work only",
      "ratio (median)",
      "goal",
      "",
      "docker-CLI floor median",
      "ratio to it",
      "goal",
      "",
    ],
    rows: [
      row("create, new cache volume", cold),
      row("create over a kept cache volume (rm --keep-cache, then create)", kept),
      row("start of a stopped host (until a TLS-verified answer)", started),
    ],
    notes: [
      `Image ${HOST_IMAGE}; engine ${ctx.engineUrl}; dinv chose the privilege mode itself, the floor uses the explicit flags dinv ends up with here.`,
      "Floor = a Node script on the raw engine API, run as its own process: one openssl call for an EC P-256 server certificate, volume create, container create, archive PUT of daemon.json + certificates, start, TLS-verified /_ping every 10 ms. “floor work only” leaves out its ~Node start-up.",
      `Anchor from docs/architecture.md: the floor with CLI tools (openssl, docker create/cp/start, docker CLI polls) was 625 ms median on a quiet machine; this run's floor is ${ratio(summarize(cold.map((s) => s.floor)).median, DESIGN_FLOOR_MS)} of that, a measure of how loaded the machine was (compare ratios, not absolute times).`,
      `Readiness polls per create (median): raw-API floor ${summarize(floorPolls).median} (TLS /_ping every 10 ms), docker-CLI floor ${summarize(cliPolls).median} (\`docker version\` every 10 ms, each a whole CLI process).`,
      "docker-CLI floor = bench/cli-floor.sh, run right after each dinv/floor pair: openssl for the server certificate, `docker volume create`, `docker create` with the same explicit flags, `docker cp` of the same files, `docker start`, then `docker version` over TLS every 10 ms until it answers.",
    ],
  };
  const stepTable = (title: string, steps: Array<Array<[string, number]>>): Table => ({
    title,
    columns: ["step", "median ms", "runs"],
    rows: medianSteps(steps).map(([label, value, n]) => [label, String(Math.round(value)), String(n)]),
  });
  const traceNote = [
    `Traced create (one run, ${Math.round(tracedRun.ms)} ms as a process; with the trace hook preloaded). CommonJS packages it loaded: ${cjsPackages(trace)}.`,
  ];
  return {
    part: "create",
    heading: "1. Create latency",
    tables: [
      main,
      stepTable("dinv create, per progress step (from the arrival of each “step: done” line)", coldSteps),
      stepTable("dinv create over a kept cache, per progress step", keptSteps),
      stepTable("Floor create, per step (its own clock)", floorSteps),
      traceTable("dinv create, request by request (one traced run)", trace, ctx.prefix),
    ],
    extra: traceNote,
  };
}
