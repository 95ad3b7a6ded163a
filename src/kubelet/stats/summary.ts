/**
 * The stats summary from engine samples. Pure: the collector (provider/pod-stats.ts) takes the
 * samples and turns their CPU figures into CpuStats in the endpoint's unit (`cpuOf` for cgroup
 * nanoseconds, stats/mhz-cpu.ts for a VCH's MHz); this shapes and sums them. CPU rates come from
 * the engine's own pair of samples (it takes two, a moment apart); the node is the sum of its
 * pods, since an endpoint such as a VCH reports no host-wide usage of its own.
 */
import { kubeTime } from "../kube/types.js";
import type { EngineStatsSample } from "../provider/engine.js";
import type { CpuStats, MemoryStats, NetworkStats, PodStats, StatsSummary } from "./types.js";

export interface ContainerSampleInput {
  name: string;
  startTime: string;
  sample?: EngineStatsSample;
  /** The sample's CPU, already in Kubernetes' units (absent: no trustworthy figure yet). */
  cpu?: CpuStats;
}

export interface PodSampleInput {
  ref: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerSampleInput[];
  /** The sample that carries the pod's network (its infra container, else its first container). */
  network?: EngineStatsSample;
}

export interface NodeInput {
  nodeName: string;
  startTime: string;
  allocatableMemoryBytes: number;
}

function valid(time: string | undefined): boolean {
  return !!time && !time.startsWith("0001-") && !Number.isNaN(Date.parse(time));
}

/** cgroup nanoseconds (Docker Engine, Podman) → CpuStats. */
export function cpuOf(sample: EngineStatsSample): CpuStats {
  const elapsedMs = Date.parse(sample.read) - Date.parse(sample.preread);
  const used = sample.cpuTotalNs - sample.preCpuTotalNs;
  const rate =
    valid(sample.preread) && elapsedMs > 0 && used >= 0 && sample.preCpuTotalNs > 0
      ? Math.round((used * 1000) / elapsedMs)
      : undefined;
  return {
    time: kubeTime(new Date(sample.read)),
    ...(rate !== undefined ? { usageNanoCores: rate } : {}),
    usageCoreNanoSeconds: sample.cpuTotalNs,
  };
}

export function memoryOf(sample: EngineStatsSample): MemoryStats {
  return {
    time: kubeTime(new Date(sample.read)),
    ...(sample.memoryUsageBytes !== undefined ? { usageBytes: sample.memoryUsageBytes } : {}),
    ...(sample.memoryWorkingSetBytes !== undefined ? { workingSetBytes: sample.memoryWorkingSetBytes } : {}),
    ...(sample.memoryRssBytes !== undefined ? { rssBytes: sample.memoryRssBytes } : {}),
    ...(sample.pageFaults !== undefined ? { pageFaults: sample.pageFaults } : {}),
    ...(sample.majorPageFaults !== undefined ? { majorPageFaults: sample.majorPageFaults } : {}),
  };
}

export function networkOf(sample: EngineStatsSample): NetworkStats | undefined {
  const primary = sample.networks.find((n) => n.name === "eth0") ?? sample.networks[0];
  if (!primary) return undefined;
  return { time: kubeTime(new Date(sample.read)), ...primary, interfaces: sample.networks };
}

function sum(values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : undefined;
}

function add<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function total(cpus: CpuStats[], time: string): CpuStats | undefined {
  if (cpus.length === 0) return undefined;
  return {
    time,
    ...add("usageNanoCores", sum(cpus.map((c) => c.usageNanoCores))),
    ...add("usageCoreNanoSeconds", sum(cpus.map((c) => c.usageCoreNanoSeconds))),
  };
}

function totalMemory(memories: MemoryStats[], time: string): MemoryStats | undefined {
  if (memories.length === 0) return undefined;
  return {
    time,
    ...add("usageBytes", sum(memories.map((m) => m.usageBytes))),
    ...add("workingSetBytes", sum(memories.map((m) => m.workingSetBytes))),
    ...add("rssBytes", sum(memories.map((m) => m.rssBytes))),
    ...add("pageFaults", sum(memories.map((m) => m.pageFaults))),
    ...add("majorPageFaults", sum(memories.map((m) => m.majorPageFaults))),
  };
}

export function summarize(node: NodeInput, pods: PodSampleInput[], now: Date = new Date()): StatsSummary {
  const time = kubeTime(now);
  const podStats: PodStats[] = pods.map((p) => {
    const containers = p.containers.map((c) => ({
      name: c.name,
      startTime: c.startTime,
      ...(c.sample && c.cpu ? { cpu: c.cpu } : {}),
      ...(c.sample ? { memory: memoryOf(c.sample) } : {}),
    }));
    const cpu = total(
      containers.flatMap((c) => (c.cpu ? [c.cpu] : [])),
      time,
    );
    const memory = totalMemory(
      containers.flatMap((c) => (c.memory ? [c.memory] : [])),
      time,
    );
    const network = p.network ? networkOf(p.network) : undefined;
    return {
      podRef: p.ref,
      startTime: p.startTime,
      containers,
      ...(cpu ? { cpu } : {}),
      ...(memory ? { memory } : {}),
      ...(network ? { network } : {}),
    };
  });
  const cpu = total(
    podStats.flatMap((p) => (p.cpu ? [p.cpu] : [])),
    time,
  ) ?? { time, usageNanoCores: 0, usageCoreNanoSeconds: 0 };
  const memory = totalMemory(
    podStats.flatMap((p) => (p.memory ? [p.memory] : [])),
    time,
  ) ?? { time, usageBytes: 0, workingSetBytes: 0 };
  const workingSet = memory.workingSetBytes ?? 0;
  return {
    node: {
      nodeName: node.nodeName,
      startTime: node.startTime,
      cpu,
      memory: { ...memory, availableBytes: Math.max(0, node.allocatableMemoryBytes - workingSet) },
    },
    pods: podStats,
  };
}
