/**
 * Kubernetes resource quantities to engine limits. On Docker/Podman: Memory, MemoryReservation,
 * NanoCpus, CpuShares. On a VCH every container is a VM sized from these: memory in 128 MiB
 * steps with a 512 MiB minimum, and the vCPU count passed as CpusetCpus (how VIC reads it).
 */
import type { Flavor } from "../../engine/flavor.js";
import { DinvError } from "../../errors.js";
import type { Container, Quantity } from "../kube/types.js";

export class QuantityError extends DinvError {}

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A quantity ("500m", "1.5Gi", "129e6", 2) as a plain number of base units. */
export function parseQuantity(value: Quantity): number {
  if (typeof value === "number") return value;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(
    value.trim(),
  );
  if (!match)
    throw new QuantityError(`"${value}" is not a Kubernetes quantity`, {
      hint: "use forms such as 500m, 128Mi or 1G",
    });
  const number = Number(match[1]);
  if (match[2] !== undefined) return number * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? "";
  return number * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

export const MIB = 2 ** 20;
export const VIC_MEMORY_STEP = 128 * MIB;
export const VIC_MEMORY_MIN = 512 * MIB;

/** The engine's resource fields for one container. */
export interface EngineResources {
  Memory?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpusetCpus?: string;
}

export function containerResources(container: Container, flavor: Flavor): EngineResources {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const memLimit = limits.memory !== undefined ? parseQuantity(limits.memory) : undefined;
  const memRequest = requests.memory !== undefined ? parseQuantity(requests.memory) : undefined;
  const cpuLimit = limits.cpu !== undefined ? parseQuantity(limits.cpu) : undefined;
  const cpuRequest = requests.cpu !== undefined ? parseQuantity(requests.cpu) : undefined;

  if (flavor === "vic") {
    // A containerVM has one size: the limit, else the request; nothing given keeps VIC's default.
    const out: EngineResources = {};
    const memory = memLimit ?? memRequest;
    if (memory !== undefined) out.Memory = vicMemory(memory);
    const cpu = cpuLimit ?? cpuRequest;
    if (cpu !== undefined) out.CpusetCpus = String(Math.max(1, Math.ceil(cpu)));
    return out;
  }
  const out: EngineResources = {};
  if (memLimit !== undefined) out.Memory = Math.ceil(memLimit);
  if (memRequest !== undefined) out.MemoryReservation = Math.ceil(memRequest);
  if (cpuLimit !== undefined) out.NanoCpus = Math.round(cpuLimit * 1e9);
  // The kubelet's own mapping of requests to cgroup shares (1024 per core, at least 2).
  if (cpuRequest !== undefined) out.CpuShares = Math.max(2, Math.round(cpuRequest * 1024));
  return out;
}

/** VIC containerVM memory: rounded up to 128 MiB steps, at least 512 MiB. */
export function vicMemory(bytes: number): number {
  return Math.max(VIC_MEMORY_MIN, Math.ceil(bytes / VIC_MEMORY_STEP) * VIC_MEMORY_STEP);
}
