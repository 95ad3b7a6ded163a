/**
 * /metrics/resource: the Prometheus text a kubelet serves for metrics-server (and so HPA):
 * cumulative CPU seconds and working-set bytes per container, pod and node, container start
 * times, and resource_scrape_error. Samples carry the time they were taken, in milliseconds.
 */
import type { CpuStats, MemoryStats, StatsSummary } from "../stats/types.js";

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: string[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");
  return body ? `{${body}}` : "";
}

function number(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(15).replace(/\.?0+$/, "");
}

function cpuSample(name: string, pairs: Record<string, string>, cpu: CpuStats | undefined): string[] {
  if (cpu?.usageCoreNanoSeconds === undefined) return [];
  return [`${name}${labels(pairs)} ${number(cpu.usageCoreNanoSeconds / 1e9)} ${Date.parse(cpu.time)}`];
}

function memorySample(
  name: string,
  pairs: Record<string, string>,
  memory: MemoryStats | undefined,
): string[] {
  if (memory?.workingSetBytes === undefined) return [];
  return [`${name}${labels(pairs)} ${number(memory.workingSetBytes)} ${Date.parse(memory.time)}`];
}

export function resourceMetrics(summary: StatsSummary, scrapeError: boolean): string {
  const families: Family[] = [
    {
      name: "container_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
      type: "counter",
      samples: summary.pods.flatMap((p) =>
        p.containers.flatMap((c) =>
          cpuSample(
            "container_cpu_usage_seconds_total",
            { container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name },
            c.cpu,
          ),
        ),
      ),
    },
    {
      name: "container_memory_working_set_bytes",
      help: "[STABLE] Current working set of the container in bytes",
      type: "gauge",
      samples: summary.pods.flatMap((p) =>
        p.containers.flatMap((c) =>
          memorySample(
            "container_memory_working_set_bytes",
            { container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name },
            c.memory,
          ),
        ),
      ),
    },
    {
      name: "container_start_time_seconds",
      help: "[STABLE] Start time of the container since unix epoch in seconds",
      type: "gauge",
      samples: summary.pods.flatMap((p) =>
        p.containers.map(
          (c) =>
            `container_start_time_seconds${labels({ container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name })} ${number(Date.parse(c.startTime) / 1000)}`,
        ),
      ),
    },
    {
      name: "node_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
      type: "counter",
      samples: cpuSample("node_cpu_usage_seconds_total", {}, summary.node.cpu),
    },
    {
      name: "node_memory_working_set_bytes",
      help: "[STABLE] Current working set of the node in bytes",
      type: "gauge",
      samples: memorySample("node_memory_working_set_bytes", {}, summary.node.memory),
    },
    {
      name: "pod_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
      type: "counter",
      samples: summary.pods.flatMap((p) =>
        cpuSample(
          "pod_cpu_usage_seconds_total",
          { namespace: p.podRef.namespace, pod: p.podRef.name },
          p.cpu,
        ),
      ),
    },
    {
      name: "pod_memory_working_set_bytes",
      help: "[STABLE] Current working set of the pod in bytes",
      type: "gauge",
      samples: summary.pods.flatMap((p) =>
        memorySample(
          "pod_memory_working_set_bytes",
          { namespace: p.podRef.namespace, pod: p.podRef.name },
          p.memory,
        ),
      ),
    },
    {
      name: "resource_scrape_error",
      help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
      type: "gauge",
      samples: [`resource_scrape_error ${scrapeError ? 1 : 0}`],
    },
  ];
  return families
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples].join("\n"))
    .join("\n")
    .concat("\n");
}
