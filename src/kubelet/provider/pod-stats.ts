/**
 * Collects one stats sample per running container of every pod, all at once, for the summary.
 * The engine takes a second or two per sample (it waits for two collection cycles to give a
 * CPU rate), so samples run concurrently and each is bounded; a container that stopped or
 * vanished meanwhile just has no figures.
 */
import { kubeTime } from "../kube/types.js";
import type { StatsSummary } from "../stats/types.js";
import { summarize, type NodeInput, type PodSampleInput } from "../stats/summary.js";
import type { EngineContainerDetails, EngineStatsSample, PodEngine, StreamingEngine } from "./engine.js";
import type { CachedPod, PodCache } from "./pod-cache.js";

const SAMPLE_TIMEOUT_MS = 5_000;

export class PodStatsCollector {
  constructor(
    private readonly engine: PodEngine & StreamingEngine,
    private readonly cache: PodCache,
    private readonly node: NodeInput,
  ) {}

  private async sample(
    id: string,
    details: EngineContainerDetails | undefined,
  ): Promise<EngineStatsSample | undefined> {
    if (details?.state.status !== "running") return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), SAMPLE_TIMEOUT_MS);
    });
    const sample = this.engine.containerStats(id).catch(() => undefined);
    try {
      return await Promise.race([sample, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async inspect(id: string): Promise<EngineContainerDetails | undefined> {
    return this.engine.inspectContainer(id).catch(() => undefined);
  }

  private async pod(entry: CachedPod): Promise<PodSampleInput> {
    const containers = [...entry.containers.values()];
    const [infraDetails, ...details] = await Promise.all([
      entry.infraId ? this.inspect(entry.infraId) : Promise.resolve(undefined),
      ...containers.map((c) => this.inspect(c.id)),
    ]);
    const [infra, ...samples] = await Promise.all([
      entry.infraId ? this.sample(entry.infraId, infraDetails) : Promise.resolve(undefined),
      ...containers.map((c, i) => this.sample(c.id, details[i])),
    ]);
    const startTime = entry.pod?.status?.startTime ?? entry.createdAt ?? kubeTime();
    const network = infra ?? samples.find((s) => s !== undefined);
    return {
      ref: { name: entry.name, namespace: entry.namespace, uid: entry.uid },
      startTime,
      containers: containers.map((c, i) => {
        const started = details[i]?.state.startedAt;
        const sample = samples[i];
        return {
          name: c.name,
          startTime: started && !started.startsWith("0001-") ? kubeTime(new Date(started)) : startTime,
          ...(sample ? { sample } : {}),
        };
      }),
      ...(network ? { network } : {}),
    };
  }

  async summary(): Promise<StatsSummary> {
    const pods = await Promise.all(this.cache.list().map((entry) => this.pod(entry)));
    return summarize(this.node, pods);
  }
}
