/**
 * The kubelet API's view of the pods a DockerProvider runs: /pods, logs, exec/attach, port-forward
 * and stats, composed from PodStreams, PodPortDialer and PodStatsCollector over the pod cache the
 * lifecycle handler fills (both are handed the same PodCache where the kubelet is put together).
 */
import type { Readable } from "node:stream";
import type { Capabilities } from "../../engine/flavor.js";
import type { Pod } from "../kube/types.js";
import type {
  ContainerLogOptions,
  ContainerRef,
  ContainerSession,
  PodPorts,
  PodLifecycleHandler,
  PodRef,
  PodStreamingProvider,
  StreamOptions,
} from "../provider-api.js";
import type { NodeInput } from "../stats/summary.js";
import type { StatsSummary } from "../stats/types.js";
import type { PodEngine, StreamingEngine } from "./engine.js";
import type { PodCache } from "./pod-cache.js";
import { PodPortDialer } from "./pod-ports.js";
import { PodStatsCollector } from "./pod-stats.js";
import { PodStreams } from "./pod-streams.js";
import type { PodRelay } from "./pod-relay.js";

export class DockerStreamingProvider implements PodStreamingProvider {
  private readonly streams: PodStreams;
  private readonly stats: PodStatsCollector;
  private readonly ports: PodPortDialer;

  constructor(
    engine: PodEngine & StreamingEngine,
    private readonly cache: PodCache,
    private readonly lifecycle: Pick<PodLifecycleHandler, "getPodStatus">,
    node: NodeInput,
    cpuUnit: Capabilities["statsCpuUnit"] = "nanoseconds",
    relay?: PodRelay,
  ) {
    this.streams = new PodStreams(engine, cache);
    this.stats = new PodStatsCollector(engine, cache, node, cpuUnit);
    this.ports = new PodPortDialer(engine, cache, relay);
  }

  async listPods(): Promise<Pod[]> {
    const known = this.cache.list().flatMap((e) => (e.pod ? [e.pod] : []));
    return Promise.all(
      known.map(async (pod) => {
        const status = await this.lifecycle.getPodStatus(pod).catch(() => undefined);
        return { apiVersion: "v1", kind: "Pod", ...pod, ...(status ? { status } : {}) };
      }),
    );
  }

  containerLogs(ref: ContainerRef, options: ContainerLogOptions): Promise<Readable> {
    return this.streams.containerLogs(ref, options);
  }

  exec(ref: ContainerRef, command: string[], options: StreamOptions): Promise<ContainerSession> {
    return this.streams.exec(ref, command, options);
  }

  attach(ref: ContainerRef, options: StreamOptions): Promise<ContainerSession> {
    return this.streams.attach(ref, options);
  }

  portForward(ref: PodRef): Promise<PodPorts> {
    return this.ports.open(ref);
  }

  statsSummary(): Promise<StatsSummary> {
    return this.stats.summary();
  }
}
