/**
 * CPU figures from a VCH's stats, which are not cgroup nanoseconds. From VIC's
 * lib/apiservers/engine/backends/convert/stats.go: `cpu_stats.cpu_usage.percpu_usage` holds each
 * vCPU's MHz in vSphere's latest (20 s) sample, and `total_usage` is the previous sample's
 * per-vCPU average plus this one's — a sum of averages, neither CPU time nor a counter; a
 * starting VM may even report negative MHz.
 *
 * The conversion chosen: usage in cores = the sum of percpu_usage MHz / 1000, i.e. 1 core per
 * GHz, the same rate the node's capacity uses (flavor.ts profileFrom turns /info's NCPU MHz into
 * cores at 1 per GHz), so usage / capacity is VIC's own "MHz used / VCH MHz" and `kubectl top`
 * and HPA percentages agree with vSphere's. The cumulative usageCoreNanoSeconds that
 * metrics-server reads is integrated here: each new sample's rate × the time it covers, per
 * container run (a restart starts the counter over, as cgroup counters do).
 */
import { kubeTime } from "../kube/types.js";
import type { EngineStatsSample } from "../provider/engine.js";
import type { CpuStats } from "./types.js";

const MHZ_PER_CORE = 1000;

function time(value: string | undefined): number {
  if (!value || value.startsWith("0001-")) return NaN;
  return Date.parse(value);
}

export class MhzCpu {
  /** Per container run: the core-nanoseconds counted so far, up to the sample read at `read`. */
  private readonly runs = new Map<string, { coreNs: number; read: number }>();

  /** undefined until VIC delivered a full sample (two vSphere samples): no figure beats a wrong one. */
  cpu(run: string, sample: EngineStatsSample): CpuStats | undefined {
    const read = time(sample.read);
    const preread = time(sample.preread);
    const perCpu = sample.perCpuUsage ?? [];
    if (perCpu.length === 0 || !(read > preread)) return undefined;
    const mhz = Math.max(
      0,
      perCpu.reduce((a, b) => a + b, 0),
    );
    const nanoCores = Math.round((mhz / MHZ_PER_CORE) * 1e9);
    const counted = this.runs.get(run) ?? { coreNs: 0, read: preread };
    if (read > counted.read) {
      counted.coreNs += (nanoCores * (read - Math.max(counted.read, preread))) / 1000;
      counted.read = read;
    }
    this.runs.set(run, counted);
    return {
      time: kubeTime(new Date(read)),
      usageNanoCores: nanoCores,
      usageCoreNanoSeconds: Math.round(counted.coreNs),
    };
  }

  /** Forget the runs not in this set (stopped, restarted or removed containers). */
  retain(runs: ReadonlySet<string>): void {
    for (const run of this.runs.keys()) if (!runs.has(run)) this.runs.delete(run);
  }
}
