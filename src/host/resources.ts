import { DinvError } from "../errors.js";
import type { Flavor } from "../engine/flavor.js";

export class SizeError extends DinvError {}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/** "512m", "2g", "30GB", "1073741824" -> bytes (binary units, as docker reads them). */
export function parseSize(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const factor = match ? UNITS[(match[2] ?? "").toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new SizeError(`${flag} "${value}" is not a size`, {
      hint: "use a number with b, k, m, g or t, e.g. 2g",
    });
  }
  const bytes = Math.round(Number(match[1]) * factor);
  if (bytes <= 0 || !Number.isSafeInteger(bytes)) throw new SizeError(`${flag} "${value}" is out of range`);
  return bytes;
}

export function parseCpus(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1024)
    throw new SizeError(`--cpus "${value}" is not a CPU count`, { hint: "e.g. 2 or 0.5" });
  return n;
}

export interface Resources {
  cpus?: number;
  memoryBytes?: number;
  cacheBytes?: number;
  /** The VCH volume store the cache volume comes from (VIC only; VIC's default: "default"). */
  volumeStore?: string;
}

/**
 * A VCH makes a 1 GiB disk for a volume created without Capacity (the port layer's default), far
 * too small for an image cache; dinv asks for this much unless --cache-size says otherwise.
 */
export const VIC_DEFAULT_CACHE_BYTES = 20 * 1024 ** 3;

const MIB = 1024 ** 2;
/** A VCH sizes containerVMs in 128 MiB steps with a 512 MiB minimum (docs/vic.md). */
export function vicMemory(bytes: number): number {
  return Math.max(512 * MIB, Math.ceil(bytes / (128 * MIB)) * 128 * MIB);
}

/** Container and volume settings for the requested sizes on this flavor, plus what cannot be enforced. */
export function applyResources(
  resources: Resources,
  flavor: Flavor,
): { hostConfig: Record<string, unknown>; volumeOptions: Record<string, string>; notes: string[] } {
  const hostConfig: Record<string, unknown> = {};
  const volumeOptions: Record<string, string> = {};
  const notes: string[] = [];
  if (resources.cpus !== undefined) {
    if (flavor === "vic") hostConfig.CpusetCpus = String(Math.max(1, Math.ceil(resources.cpus)));
    else hostConfig.NanoCpus = Math.round(resources.cpus * 1e9);
  }
  if (resources.memoryBytes !== undefined) {
    hostConfig.Memory = flavor === "vic" ? vicMemory(resources.memoryBytes) : resources.memoryBytes;
  }
  if (flavor === "vic") {
    // The port layer makes a disk of Capacity x 1024 KB: "NMB" is N MiB (storage_handlers.go).
    volumeOptions.Capacity = `${Math.ceil((resources.cacheBytes ?? VIC_DEFAULT_CACHE_BYTES) / MIB)}MB`;
    if (resources.volumeStore) volumeOptions.VolumeStore = resources.volumeStore;
  } else if (resources.cacheBytes !== undefined) {
    notes.push(`--cache-size cannot be enforced on ${flavor}: its local volumes grow with their data`);
  }
  return { hostConfig, volumeOptions, notes };
}
