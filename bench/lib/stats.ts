/** Small statistics over repeated measurements (milliseconds). */

export interface Summary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, median: NaN, p95: NaN, p99: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    n: sorted.length,
    median,
    p95: at(0.95),
    p99: at(0.99),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

/** "123 ms" below 10 s, "12.3 s" above. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 10_000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

export function ratio(value: number, floor: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(floor) || floor <= 0) return "–";
  return `${(value / floor).toFixed(2)}×`;
}
