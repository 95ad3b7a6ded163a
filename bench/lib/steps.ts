import { summarize } from "./stats.js";
import type { Line } from "./proc.js";

/**
 * Per-step times of a dinv command from its plain progress lines ("step: done (detail)", one
 * per finished step when stderr is not a TTY): each step took from the previous line to its
 * own. The first step also carries process start-up and module loading; what follows the last
 * line (saving the config, the docker context, exit) is its own step.
 */
export function dinvSteps(lines: readonly Line[], totalMs: number, prefix: string): Array<[string, number]> {
  const steps: Array<[string, number]> = [];
  let last = 0;
  for (const line of lines) {
    const match = /^(.*?): done(?: \(.*\))?$/.exec(line.text);
    if (!match) continue;
    steps.push([normalizeStep(match[1] as string, prefix), line.at - last]);
    last = line.at;
  }
  if (steps.length > 0) {
    const first = steps[0] as [string, number];
    first[0] = `process start-up + ${first[0]}`;
  }
  steps.push(["after the last step (save config, docker context, exit)", totalMs - last]);
  return steps;
}

export function normalizeStep(label: string, prefix: string): string {
  return label
    .replace(/(unix|tcp):\/\/\S+/g, "ENDPOINT")
    .replace(new RegExp(`[\\w.-]*${prefix}[\\w.-]*`, "g"), "NAME");
}

/** Median per step over several runs, in the order the steps first appeared. */
export function medianSteps(
  runs: ReadonlyArray<ReadonlyArray<[string, number]>>,
): Array<[string, number, number]> {
  const order: string[] = [];
  const values = new Map<string, number[]>();
  for (const run of runs) {
    for (const [label, value] of run) {
      if (!values.has(label)) {
        values.set(label, []);
        order.push(label);
      }
      values.get(label)?.push(value);
    }
  }
  return order.map((label) => {
    const list = values.get(label) ?? [];
    return [label, summarize(list).median, list.length];
  });
}
