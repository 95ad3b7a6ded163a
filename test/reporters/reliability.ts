/**
 * A node:test reporter, used beside the spec reporter by `npm test` and `npm run test:faults`:
 *   node --test --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./dist/test/reporters/reliability.js --test-reporter-destination=stdout …
 * It collects the fault, bad-input and security tests of the run and rewrites docs/reliability.md
 * (with docs/reliability.json, the data, so that the two npm scripts each refresh their own files).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestEvent } from "node:test/reporters";
import { mergeRuns, renderReport, RunCollector, type ReportData } from "./reliability-report.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DOCS = process.env.DINV_RELIABILITY_DIR ?? join(ROOT, "docs");

function previous(file: string): ReportData {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ReportData;
  } catch {
    return { files: [] };
  }
}

export default async function* reliabilityReporter(
  source: AsyncIterable<TestEvent>,
): AsyncGenerator<string, void> {
  const collector = new RunCollector(ROOT);
  for await (const event of source) collector.add(event);
  const run = collector.files();
  if (!run.some((f) => f.tests.length > 0)) return;
  const dataFile = join(DOCS, "reliability.json");
  const data = mergeRuns(previous(dataFile), run, (file) => existsSync(join(ROOT, file)));
  mkdirSync(DOCS, { recursive: true });
  writeFileSync(dataFile, `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(join(DOCS, "reliability.md"), renderReport(data));
  const tests = run.flatMap((f) => f.tests);
  const cases = tests.reduce((n, t) => n + t.cases, 0);
  const failed = tests.filter((t) => t.result === "fail").length;
  yield `reliability report: ${tests.length} tests, ${cases} cases, ${failed} failed -> ${join(DOCS, "reliability.md")}\n`;
}
