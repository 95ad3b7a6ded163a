/**
 * Collects one stats sample per running container of every pod, all at once, for the summary.
 * The engine takes a second or two per sample (it waits for two collection cycles to give a
 * CPU rate), so samples run concurrently and each is bounded; a container that stopped or
 * vanished meanwhile just has no figures.
 *
 * A VCH (statsCpuUnit "MHz") answers a sample only once vSphere took two, 20 s apart, so no
 * summary could wait for it: there each container is sampled in the background, one request at
 * a time, and a summary reports the latest sample of the container's current run — none until
 * the first arrives — with its CPU converted from MHz (stats/mhz-cpu.ts).
 */
import type { Capabilities } from "../../engine/flavor.js";
import { kubeTime } from "../kube/types.js";
import { MhzCpu } from "../stats/mhz-cpu.js";
import type { CpuStats, StatsSummary } from "../stats/types.js";
import { cpuOf, summarize, type NodeInput, type PodSampleInput } from "../stats/summary.js";
import type { EngineContainerDetails, EngineStatsSample, PodEngine, StreamingEngine } from "./engine.js";
import type { CachedPod, PodCache } from "./pod-cache.js";

const SAMPLE_TIMEOUT_MS = 5_000;
/** A background sample on a VCH: two vSphere samples (20 s apart) plus slack. */
const BACKGROUND_SAMPLE_TIMEOUT_MS = 60_000;

export class PodStatsCollector {
  private readonly mhz: MhzCpu | undefined;
  /** VCH: the latest sample per container run (`id@startedAt`), and the requests under way. */
  private readonly latest = new Map<string, EngineStatsSample>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly engine: PodEngine & StreamingEngine,
    private readonly cache: PodCache,
    private readonly node: NodeInput,
    cpuUnit: Capabilities["statsCpuUnit"] = "nanoseconds",
  ) {
    this.mhz = cpuUnit === "MHz" ? new MhzCpu() : undefined;
  }

  /** `seen` collects the container runs one summary asked about (on a VCH, to forget the others). */
  private async sample(
    id: string,
    details: EngineContainerDetails | undefined,
    seen: Set<string>,
  ): Promise<EngineStatsSample | undefined> {
    if (details?.state.status !== "running") return undefined;
    if (this.mhz) {
      seen.add(runOf(id, details));
      return this.background(runOf(id, details));
    }
    return this.bounded(id, SAMPLE_TIMEOUT_MS);
  }

  private async bounded(id: string, ms: number): Promise<EngineStatsSample | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      // A background sample must not hold the process open.
      timer.unref();
    });
    const sample = this.engine.containerStats(id).catch(() => undefined);
    try {
      return await Promise.race([sample, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The latest sample of this run (if any yet), asking for a newer one when none is under way. */
  private background(run: string): EngineStatsSample | undefined {
    if (!this.inFlight.has(run)) {
      this.inFlight.add(run);
      const id = run.slice(0, run.indexOf("@"));
      void this.bounded(id, BACKGROUND_SAMPLE_TIMEOUT_MS)
        .then((sample) => {
          if (sample) this.latest.set(run, sample);
        })
        .finally(() => this.inFlight.delete(run));
    }
    return this.latest.get(run);
  }

  private cpu(id: string, details: EngineContainerDetails | undefined, sample: EngineStatsSample) {
    if (!this.mhz) return cpuOf(sample);
    return details ? this.mhz.cpu(runOf(id, details), sample) : undefined;
  }

  private async inspect(id: string): Promise<EngineContainerDetails | undefined> {
    return this.engine.inspectContainer(id).catch(() => undefined);
  }

  private async pod(entry: CachedPod, seen: Set<string>): Promise<PodSampleInput> {
    const containers = [...entry.containers.values()];
    const [infraDetails, ...details] = await Promise.all([
      entry.infraId ? this.inspect(entry.infraId) : Promise.resolve(undefined),
      ...containers.map((c) => this.inspect(c.id)),
    ]);
    const [infra, ...samples] = await Promise.all([
      entry.infraId ? this.sample(entry.infraId, infraDetails, seen) : Promise.resolve(undefined),
      ...containers.map((c, i) => this.sample(c.id, details[i], seen)),
    ]);
    const startTime = entry.pod?.status?.startTime ?? entry.createdAt ?? kubeTime();
    // VIC's network counters add up only within one stats request (convert/stats.go), so they are
    // no cumulative counters there: no network figures from a VCH rather than wrong ones.
    const network = this.mhz ? undefined : (infra ?? samples.find((s) => s !== undefined));
    return {
      ref: { name: entry.name, namespace: entry.namespace, uid: entry.uid },
      startTime,
      containers: containers.map((c, i) => {
        const started = details[i]?.state.startedAt;
        const sample = samples[i];
        const cpu: CpuStats | undefined = sample ? this.cpu(c.id, details[i], sample) : undefined;
        return {
          name: c.name,
          startTime: started && !started.startsWith("0001-") ? kubeTime(new Date(started)) : startTime,
          ...(sample ? { sample } : {}),
          ...(cpu ? { cpu } : {}),
        };
      }),
      ...(network ? { network } : {}),
    };
  }

  async summary(): Promise<StatsSummary> {
    const seen = new Set<string>();
    const pods = await Promise.all(this.cache.list().map((entry) => this.pod(entry, seen)));
    if (this.mhz) {
      // Runs of containers gone or restarted since: their samples and CPU counters go.
      for (const run of this.latest.keys()) if (!seen.has(run)) this.latest.delete(run);
      this.mhz.retain(seen);
    }
    return summarize(this.node, pods);
  }
}

function runOf(id: string, details: EngineContainerDetails): string {
  return `${id}@${details.state.startedAt}`;
}
