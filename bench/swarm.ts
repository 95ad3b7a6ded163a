/**
 * Part 6: time to a ready swarm of 3 managers + 2 workers. `dinv swarm create` as a whole process
 * (spawn to exit, which comes after every node is Ready) against the floor of issue 19: the same
 * five hosts made with `dinv create`, one by one, on a network made by hand, then `docker swarm
 * init` on the first and `docker swarm join` of the others through each host's docker context,
 * and `docker node ls` polled until all five are Ready. Also that floor with the five creates at
 * once and the workers joining at once (what dinv does), the tighter reference. Run in rotating
 * order, each swarm removed before the next.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchContext, HOST_IMAGE, log, type Store } from "./lib/context.js";
import { runOk, type RunResult } from "./lib/proc.js";
import type { PartReport, Table } from "./lib/report.js";
import { ms, ratio, summarize } from "./lib/stats.js";

const MANAGERS = 3;
const WORKERS = 2;
/** dinv's default pool (src/host/swarm/swarm.ts), apart from the inner engines' ranges. */
const ADDR_POOL = "10.215.0.0/16";
/** dinv's own wait polls every 500 ms; the floor polls as often. */
const POLL_MS = 500;
const READY_TIMEOUT_MS = 180_000;

interface ByHand {
  total: number;
  hosts: number;
  joins: number;
  ready: number;
}

type Way = "dinv" | "one by one" | "at once";

export async function benchSwarm(ctx: BenchContext, runs: number): Promise<PartReport> {
  const store = ctx.newStore("swarm");
  const engineConfig = join(ctx.dir("swarm"), "live-restore-off.json");
  // Swarm mode refuses live-restore, which the host image turns on: dinv swarm create does the same.
  writeFileSync(engineConfig, `${JSON.stringify({ "live-restore": false })}\n`);
  const image = process.env.DINV_BENCH_IMAGE ? ["--image", HOST_IMAGE] : [];
  const swarms: string[] = [];
  const byHandHosts: string[] = [];
  const networks: string[] = [];
  ctx.onCleanup(async () => {
    for (const name of swarms) await ctx.dinv(store, ["swarm", "rm", "-f", name], { timeoutMs: 180_000 });
    if (byHandHosts.length) await ctx.dinv(store, ["rm", "-f", "-y", ...byHandHosts], { timeoutMs: 180_000 });
    for (const net of networks) await docker(store, ["network", "rm", net]).catch(() => undefined);
  });

  log("swarm: warm-up (the store's CA, the docker CLI)");
  const warm = ctx.name("sww");
  await ctx.dinvOk(store, ["create", ...image, warm]);
  await docker(store, ["--context", warm, "version"]);
  await ctx.dinvOk(store, ["rm", "-f", "-y", warm]);

  const samples: Record<Way, number[]> = { dinv: [], "one by one": [], "at once": [] };
  const parts: Record<Exclude<Way, "dinv">, ByHand[]> = { "one by one": [], "at once": [] };
  const ways: Way[] = ["dinv", "one by one", "at once"];
  for (let i = 1; i <= runs; i++) {
    const order = ways.map((_, k) => ways[(k + i - 1) % ways.length] as Way);
    log(`swarm: run ${i}/${runs} (${order.join(", ")})`);
    for (const way of order) {
      const name = ctx.name(`s${i}${way === "dinv" ? "d" : way === "one by one" ? "h" : "p"}`);
      if (way === "dinv") {
        swarms.push(name);
        const made = await ctx.dinvOk(
          store,
          ["swarm", "create", "--managers", String(MANAGERS), "--workers", String(WORKERS), ...image, name],
          { timeoutMs: 300_000 },
        );
        samples.dinv.push(made.ms);
        await ctx.dinvOk(store, ["swarm", "rm", "-y", name], { timeoutMs: 180_000 });
        swarms.pop();
      } else {
        const hosts = nodeNames(name);
        byHandHosts.push(...hosts);
        networks.push(name);
        const times = await swarmByHand(ctx, store, name, {
          concurrent: way === "at once",
          createArgs: ["--engine-config", engineConfig, ...image],
        });
        samples[way].push(times.total);
        parts[way].push(times);
        await ctx.dinvOk(store, ["rm", "-f", "-y", ...hosts], { timeoutMs: 180_000 });
        await docker(store, ["network", "rm", name]);
        byHandHosts.splice(0);
        networks.pop();
      }
      log(`swarm:   ${way}: ${ms(samples[way].at(-1) ?? NaN)}`);
    }
  }

  const dinv = summarize(samples.dinv);
  const row = (what: string, way: Way): string[] => {
    const s = summarize(samples[way]);
    return [what, ms(s.median), ms(s.min), ms(s.max), ratio(dinv.median, s.median)];
  };
  const main: Table = {
    title: `Time to a ready swarm of ${MANAGERS} managers + ${WORKERS} workers (median, min and max of ${runs} runs, the three ways in rotating order)`,
    columns: ["way", "median", "min", "max", "dinv median ÷ this median"],
    rows: [
      row("dinv swarm create (whole process, returns when every node is Ready)", "dinv"),
      row("floor: dinv create one by one, then swarm init/join by hand (docker CLI)", "one by one"),
      row("floor, hosts at once: the five dinv creates at once, workers joining at once", "at once"),
    ],
    notes: [
      "The floor's hosts are made exactly as dinv swarm create makes them: `dinv create --network NET --ip ADDR --engine-config {live-restore: false}` (swarm mode refuses live-restore; a fixed address per node, which a swarm node advertises once), on a bridge network made with `docker network create`, its subnet read back and the network made again with `--subnet` (what `--ip` needs).",
      `By hand: \`docker --context M1 swarm init --advertise-addr eth0 --default-addr-pool ${ADDR_POOL}\`, the manager's address from \`docker info\`, both join tokens with \`docker swarm join-token -q\`, then \`docker --context NODE swarm join\` for each other node (managers one at a time, as raft wants), then \`docker node ls\` every ${POLL_MS} ms until all five are Ready. Timed from the network create to the last poll, in one process that runs the commands.`,
      "Removal is not timed. Each way's swarm is removed before the next starts, so at most five inner engines run at a time.",
    ],
  };
  const partRow = (what: string, way: Exclude<Way, "dinv">): string[] => {
    const med = (pick: (t: ByHand) => number) => ms(summarize(parts[way].map(pick)).median);
    return [what, med((t) => t.hosts), med((t) => t.joins), med((t) => t.ready)];
  };
  const steps: Table = {
    title: "Where the floor's time goes (medians)",
    columns: ["floor", "network + 5 hosts", "swarm init + joins", "until all Ready"],
    rows: [partRow("one by one", "one by one"), partRow("hosts at once", "at once")],
  };
  return { part: "swarm", heading: "6. Time to a ready swarm", tables: [main, steps] };
}

function nodeNames(name: string): string[] {
  return [
    ...Array.from({ length: MANAGERS }, (_, i) => `${name}-m${i + 1}`),
    ...Array.from({ length: WORKERS }, (_, i) => `${name}-w${i + 1}`),
  ];
}

/** The docker CLI with the store's DOCKER_CONFIG (where dinv wrote the hosts' contexts). */
function docker(store: Store, args: string[]): Promise<RunResult> {
  return runOk("docker", args, { env: store.env, timeoutMs: 120_000 });
}

/** Network, hosts, init, joins, wait: what a person would type, timed as a whole. */
async function swarmByHand(
  ctx: BenchContext,
  store: Store,
  name: string,
  options: { concurrent: boolean; createArgs: string[] },
): Promise<ByHand> {
  const [first, ...rest] = nodeNames(name) as [string, ...string[]];
  const started = performance.now();
  // As dinv does (src/host/swarm/swarm.ts): a subnet the engine picks, given back to it so that
  // each node can have a fixed address (`--ip` needs a network with a user-given subnet).
  const label = ["--label", `io.dinv.bench=${ctx.runId}`];
  await docker(store, ["network", "create", ...label, name]);
  const subnet = (
    await docker(store, ["network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", name])
  ).stdout.trim();
  await docker(store, ["network", "rm", name]);
  await docker(store, ["network", "create", ...label, "--subnet", subnet, name]);
  // .1 is the gateway: nodes from .2 on, in order.
  const base = subnet.split("/")[0]?.split(".").map(Number) ?? [];
  const ipOf = (i: number) => [base[0], base[1], base[2], (base[3] ?? 0) + 2 + i].join(".");
  const order = [first, ...rest];
  const create = (host: string) =>
    ctx.dinvOk(
      store,
      ["create", "--network", name, "--ip", ipOf(order.indexOf(host)), ...options.createArgs, host],
      { timeoutMs: 180_000 },
    );
  if (options.concurrent) await Promise.all([first, ...rest].map(create));
  else for (const host of [first, ...rest]) await create(host);
  const hostsDone = performance.now();

  await docker(store, [
    "--context",
    first,
    "swarm",
    "init",
    "--advertise-addr",
    "eth0",
    "--default-addr-pool",
    ADDR_POOL,
  ]);
  const address = (
    await docker(store, ["--context", first, "info", "--format", "{{.Swarm.NodeAddr}}"])
  ).stdout.trim();
  const token = async (role: string) =>
    (await docker(store, ["--context", first, "swarm", "join-token", "-q", role])).stdout.trim();
  const tokens = { manager: await token("manager"), worker: await token("worker") };
  const join = (host: string, role: "manager" | "worker") =>
    docker(store, [
      "--context",
      host,
      "swarm",
      "join",
      "--advertise-addr",
      "eth0",
      "--token",
      tokens[role],
      `${address}:2377`,
    ]);
  const managers = rest.slice(0, MANAGERS - 1);
  const workers = rest.slice(MANAGERS - 1);
  for (const host of managers) await join(host, "manager");
  if (options.concurrent) await Promise.all(workers.map((host) => join(host, "worker")));
  else for (const host of workers) await join(host, "worker");
  const joined = performance.now();

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ls = await docker(store, ["--context", first, "node", "ls", "--format", "{{.Status}}"]);
    const states = ls.stdout.trim().split("\n");
    if (states.length === MANAGERS + WORKERS && states.every((s) => s === "Ready")) break;
    if (Date.now() > deadline) throw new Error(`swarm ${name} not Ready by hand: ${ls.stdout.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const ready = performance.now();
  return {
    total: ready - started,
    hosts: hostsDone - started,
    joins: joined - hostsDone,
    ready: ready - joined,
  };
}
