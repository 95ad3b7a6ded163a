/**
 * Part 5: the virtual kubelet. `dinv kubelet` (the CLI bundle, as users run it) against the
 * repository's Kubernetes API test server, in this process; N pods of a pre-loaded image
 * created at once through the API; per pod the time from its creation request to the first
 * moment the API server holds it as Running (polled in memory every 10 ms). The floor: the same
 * containers (one per pod: a single-container pod needs no infra container), given the same
 * service-account files through the archive API and started directly on the engine, as many at
 * once as the kubelet has pod workers. Kubelet memory (RSS) with N running pods, and with 1000 pods on a
 * simulated engine (sim-engine.ts), which is said so in the table.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KubeApiTestServer } from "../test/fixtures/k8s-api-server/server.js";
import { type BenchContext, HOST_IMAGE, log } from "./lib/context.js";
import { removeQuietly, type RawEngine } from "./lib/engine.js";
import { mapLimit } from "./lib/proc.js";
import { goal, type PartReport, type Table } from "./lib/report.js";
import { startSimEngine } from "./lib/sim-engine.js";
import { tar } from "./lib/tar.js";
import { ms, ratio, summarize } from "./lib/stats.js";

/** Goal for the kubelet's own share (the Kubernetes pod start-up SLO is p99 <= 5 s). */
export const GOAL_P99_MS = 2000;
/** Goal on the real engine, from the issue: p99 within 10 % of the floor of the same containers. */
export const GOAL_FLOOR_RATIO = 1.1;
const WORKERS = 10;
const NAMESPACE = "default";

interface PodObject {
  status?: { phase?: string };
}

interface Kubelet {
  child: ChildProcess;
  output: () => string;
  nodeName: string;
  /** RSS once the node is Ready, before any pod. */
  startRss: number;
}

export async function benchKubelet(
  ctx: BenchContext,
  pods: number,
  simulatedPods: number,
): Promise<PartReport> {
  const server = new KubeApiTestServer();
  const url = await server.start();
  ctx.onCleanup(() => server.stop());
  const dir = ctx.dir("kubelet");
  const kubeconfig = join(dir, "kubeconfig");
  server.writeKubeconfig(kubeconfig);

  log(`kubelet: ${pods} pods at once on the real engine`);
  const real = await runKubelet(ctx, server, { kubeconfig, endpoint: ctx.engineUrl, suffix: "node" });
  ctx.onCleanup(() => removePodContainers(ctx.engine, real.nodeName));
  const created = await createPods(url, real.nodeName, ctx.name("p"), pods);
  const kubeletTimes = await untilRunning(server, created, real, 300_000);
  await settle();
  const rss100 = memoryOf(real.child);
  logTimes("kubelet", kubeletTimes, rss100.rss);
  await stop(real);
  const made = await podContainers(ctx.engine, real.nodeName);
  log(`kubelet: removing its ${made.length} containers`);
  await mapLimit(made, 8, (c) => removeQuietly(ctx.engine, { containers: [c.Id] }));

  log(`kubelet: floor, the same ${pods} pods' containers straight on the engine, ${WORKERS} at a time`);
  const floorTimes = await floorPods(ctx, pods);
  logTimes("floor", floorTimes);

  log(`kubelet: ${simulatedPods} pods on a simulated engine (memory only)`);
  const sim = await startSimEngine(join(dir, "sim-engine.sock"));
  ctx.onCleanup(() => sim.close());
  const simulated = await runKubelet(ctx, server, {
    kubeconfig,
    endpoint: `unix://${sim.socketPath}`,
    suffix: "sim",
  });
  // First the same N pods as on the real engine (the kubelet's own share), then the rest at once.
  const simFirst = await untilRunning(
    server,
    await createPods(url, simulated.nodeName, ctx.name("s"), pods),
    simulated,
    300_000,
  );
  logTimes(`simulated, ${pods} pods`, simFirst);
  const simRest = await untilRunning(
    server,
    await createPods(url, simulated.nodeName, ctx.name("t"), simulatedPods - pods),
    simulated,
    600_000,
  );
  await settle();
  const rss1000 = memoryOf(simulated.child);
  logTimes(`simulated, ${simulatedPods - pods} more pods`, simRest, rss1000.rss);
  await stop(simulated);
  sim.close();

  const k = summarize(kubeletTimes);
  const f = summarize(floorTimes);
  const s1 = summarize(simFirst);
  const s = summarize(simRest);
  const latency: Table = {
    title: `Pod start-up: ${pods} pods created at once, creation request → Running (per pod)`,
    columns: ["measure", "p50", "p99", "max", "floor p50", "floor p99", "ratio p50", "ratio p99", "goal", ""],
    rows: [
      [
        `dinv kubelet, ${pods} pods (real engine)`,
        ms(k.median),
        ms(k.p99),
        ms(k.max),
        ms(f.median),
        ms(f.p99),
        ratio(k.median, f.median),
        ratio(k.p99, f.p99),
        `p99 ≤ ${GOAL_FLOOR_RATIO}× floor`,
        goal(k.p99 <= GOAL_FLOOR_RATIO * f.p99),
      ],
      [
        `dinv kubelet, ${pods} pods (**simulated engine**: no containers run; the kubelet's own share)`,
        ms(s1.median),
        ms(s1.p99),
        ms(s1.max),
        "–",
        "–",
        "–",
        "–",
        `p99 ≤ ${ms(GOAL_P99_MS)}`,
        goal(s1.p99 <= GOAL_P99_MS),
      ],
      [
        `dinv kubelet, ${simulatedPods - pods} more pods at once onto those ${pods} (simulated engine)`,
        ms(s.median),
        ms(s.p99),
        ms(s.max),
        "–",
        "–",
        "–",
        "–",
        "–",
        "–",
      ],
    ],
    notes: [
      `Image ${HOST_IMAGE} (already on the engine, imagePullPolicy IfNotPresent), command \`sleep 3600\`, one container per pod; --pod-sync-workers ${WORKERS}. **Containers per pod: ${(made.length / pods).toFixed(2)}** (counted on the engine after the burst: ${made.length} for ${pods} pods; a single-container pod has no infra container, its one container holds the network namespace).`,
      `Floor: a script on the raw engine API doing per pod what the pod's semantics need and nothing else — create the same container (bridge network, restart policy always), put the service-account files (token, ca.crt, namespace: what the API server's ServiceAccount admission mounts in every pod) into it through the archive API, start it — ${WORKERS} pods at a time like the kubelet's workers, timed from the same start for all pods to the start answer. It makes no Kubernetes calls at all (no watch, no status write).`,
      "Running is seen by polling the API server's memory every 10 ms: the time includes the watch event reaching the kubelet and its status write.",
    ],
  };
  const memory: Table = {
    title: "Kubelet memory (RSS of the `dinv kubelet` process, pods all Running, 3 s after the last)",
    columns: ["pods", "engine", "RSS", "peak RSS (VmHWM)", "RSS with no pods", "per pod (growth / pods)"],
    rows: [
      [
        String(pods),
        "real engine",
        mib(rss100.rss),
        mib(rss100.peak),
        mib(real.startRss),
        `${((rss100.rss - real.startRss) / pods / 1024).toFixed(0)} KiB`,
      ],
      [
        String(simulatedPods),
        "**simulated engine** (sim-engine.ts: the Docker API calls the kubelet makes, answered from memory; no containers)",
        mib(rss1000.rss),
        mib(rss1000.peak),
        mib(simulated.startRss),
        `${((rss1000.rss - simulated.startRss) / simulatedPods / 1024).toFixed(0)} KiB`,
      ],
    ],
    notes: [
      "RSS read from /proc/PID/status (VmRSS, VmHWM) of the kubelet's Node process; the simulated engine runs in the bench process, not in the kubelet's.",
    ],
  };
  return { part: "kubelet", heading: "5. Virtual kubelet", tables: [latency, memory] };
}

async function runKubelet(
  ctx: BenchContext,
  server: KubeApiTestServer,
  options: { kubeconfig: string; endpoint: string; suffix: string },
): Promise<Kubelet> {
  const nodeName = ctx.name(options.suffix);
  const store = ctx.newStore(`kubelet-${options.suffix}`);
  const args = [
    ctx.dinvBin,
    "kubelet",
    "--kubeconfig",
    options.kubeconfig,
    "--node-name",
    nodeName,
    "--endpoint",
    options.endpoint,
    "--listen",
    "127.0.0.1:0",
    "--node-ip",
    "127.0.0.1",
    "--pods",
    "2000",
    "--pod-sync-workers",
    String(WORKERS),
  ];
  const child = spawn(process.execPath, args, { env: store.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const kubelet = { child, output: () => output, nodeName, startRss: 0 };
  ctx.onCleanup(() => stop(kubelet));
  await until(`node ${nodeName} Ready`, 60_000, () => {
    if (child.exitCode !== null) throw new Error(`dinv kubelet exited: ${output}`);
    const node = server.object("nodes", undefined, nodeName) as
      { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined;
    return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      ? true
      : undefined;
  });
  await settle();
  kubelet.startRss = memoryOf(child).rss;
  return kubelet;
}

/** POST every pod at once; the time each request was sent, by name. */
async function createPods(
  url: string,
  nodeName: string,
  prefix: string,
  count: number,
): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const name = `${prefix}${i}`;
      const body = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NAMESPACE },
        spec: {
          nodeName,
          terminationGracePeriodSeconds: 1,
          tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
          containers: [
            { name: "main", image: HOST_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] },
          ],
        },
      };
      sent.set(name, performance.now());
      const res = await fetch(`${url}/api/v1/namespaces/${NAMESPACE}/pods`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`creating pod ${name}: HTTP ${res.status} ${await res.text()}`);
    }),
  );
  return sent;
}

/** Poll the API server's memory every 10 ms; per pod, the time from its request to Running. */
async function untilRunning(
  server: KubeApiTestServer,
  sent: Map<string, number>,
  kubelet: Kubelet,
  timeoutMs: number,
): Promise<number[]> {
  const waiting = new Set(sent.keys());
  const times: number[] = [];
  const deadline = Date.now() + timeoutMs;
  while (waiting.size > 0) {
    const now = performance.now();
    for (const name of waiting) {
      const pod = server.object("pods", NAMESPACE, name) as PodObject | undefined;
      if (pod?.status?.phase === "Running") {
        times.push(now - (sent.get(name) as number));
        waiting.delete(name);
      } else if (pod?.status?.phase === "Failed") {
        throw new Error(
          `pod ${name} failed: ${JSON.stringify(pod.status)}\n${kubelet.output().slice(-2000)}`,
        );
      }
    }
    if (kubelet.child.exitCode !== null) throw new Error(`dinv kubelet exited: ${kubelet.output()}`);
    if (Date.now() > deadline)
      throw new Error(
        `${waiting.size} pods not Running after ${timeoutMs / 1000} s\n${kubelet.output().slice(-2000)}`,
      );
    await sleep(10);
  }
  return times;
}

/** The same container as the kubelet's, straight on the engine: per pod, start → container started. */
async function floorPods(ctx: BenchContext, pods: number): Promise<number[]> {
  const engine = ctx.engine;
  const ids: string[] = [];
  ctx.onCleanup(() => removeQuietly(engine, { containers: ids }));
  const started = performance.now();
  const times = await mapLimit(
    Array.from({ length: pods }, (_, i) => i),
    WORKERS,
    async (i) => {
      const app = await engine.call<{ Id: string }>(
        "POST",
        `/containers/create?name=${ctx.name(`floor-pod${i}-main`)}`,
        {
          Image: HOST_IMAGE,
          Entrypoint: ["sleep"],
          Cmd: ["3600"],
          Labels: { "io.dinv.bench": ctx.runId },
          HostConfig: { RestartPolicy: { Name: "always" }, NetworkMode: "bridge" },
        },
      );
      ids.push(app.Id);
      await engine.call("PUT", `/containers/${app.Id}/archive?path=%2F`, serviceAccountFiles, {
        "Content-Type": "application/x-tar",
      });
      await engine.call("POST", `/containers/${app.Id}/start`);
      return performance.now() - started;
    },
  );
  log(`kubelet: removing the floor's ${ids.length} containers`);
  await removeQuietly(engine, { containers: ids.splice(0) });
  return times;
}

async function podContainers(engine: RawEngine, nodeName: string): Promise<Array<{ Id: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`io.dinv.pod.node=${nodeName}`] }));
  return engine.call<Array<{ Id: string }>>("GET", `/containers/json?all=1&filters=${filters}`);
}

async function removePodContainers(engine: RawEngine, nodeName: string): Promise<void> {
  const containers = await podContainers(engine, nodeName);
  await mapLimit(containers, 8, (c) => removeQuietly(engine, { containers: [c.Id] }));
}

/** What the kubelet delivers into every pod's container: the kube-api-access volume's files. */
const serviceAccountFiles = tar([
  { name: "var/run/secrets/kubernetes.io/serviceaccount", mode: 0o755 },
  { name: "var/run/secrets/kubernetes.io/serviceaccount/token", mode: 0o644, body: "x".repeat(900) },
  { name: "var/run/secrets/kubernetes.io/serviceaccount/ca.crt", mode: 0o644, body: "y".repeat(1100) },
  { name: "var/run/secrets/kubernetes.io/serviceaccount/namespace", mode: 0o644, body: NAMESPACE },
]);

function memoryOf(child: ChildProcess): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
}

function logTimes(what: string, times: number[], rss?: number): void {
  const s = summarize(times);
  log(`kubelet: ${what}: p50 ${ms(s.median)}, p99 ${ms(s.p99)}${rss ? `, RSS ${mib(rss)}` : ""}`);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

async function stop(kubelet: Kubelet): Promise<void> {
  if (kubelet.child.exitCode !== null || kubelet.child.signalCode !== null) return;
  kubelet.child.kill("SIGTERM");
  const exited = new Promise<void>((resolve) => kubelet.child.once("exit", () => resolve()));
  const timer = setTimeout(() => kubelet.child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

function settle(): Promise<void> {
  return sleep(3000);
}

function sleep(msec: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msec));
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
