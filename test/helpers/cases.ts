/**
 * How many cases a test tried, told to the reliability reporter (test/reporters/reliability.ts)
 * as a `cases: N` diagnostic; a test that reports nothing counts as one case.
 */
import type { TestContext } from "node:test";
import fc from "fast-check";

export function reportCases(t: TestContext, count: number): void {
  t.diagnostic(`cases: ${count}`);
}

/** fc.assert that also reports how many inputs fast-check really ran. */
export function assertProperty<Ts>(
  t: TestContext,
  property: fc.IProperty<Ts>,
  params: fc.Parameters<Ts> = {},
): void {
  const details = fc.check(property, params);
  reportCases(t, details.numRuns);
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? "property failed");
}
