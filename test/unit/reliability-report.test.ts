/** The reliability report: what it collects from reporter events, how runs merge, what it renders. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TestEvent } from "node:test/reporters";
import { mergeRuns, renderReport, RunCollector } from "../reporters/reliability-report.js";

const ROOT = "/repo/";
const FAULTS = "/repo/dist/test/faults/disk.test.js";
const OTHER = "/repo/dist/test/e2e/day2.test.js";

function event(type: string, data: Record<string, unknown>): TestEvent {
  return { type, data } as unknown as TestEvent;
}

/** The events node:test emits for: describe("disk") { it("full") + cases: 3; describe("ro") { it("create") fails } }. */
function faultRun(): TestEvent[] {
  return [
    event("test:start", { name: "disk", nesting: 0, file: FAULTS }),
    event("test:start", { name: "full", nesting: 1, file: FAULTS }),
    event("test:pass", { name: "full", nesting: 1, file: FAULTS, details: { duration_ms: 1500 } }),
    event("test:diagnostic", { message: "cases: 3", nesting: 1, file: FAULTS }),
    event("test:start", { name: "ro", nesting: 1, file: FAULTS }),
    event("test:start", { name: "create", nesting: 2, file: FAULTS }),
    event("test:fail", { name: "create", nesting: 2, file: FAULTS, details: { duration_ms: 10 } }),
    event("test:fail", { name: "ro", nesting: 1, file: FAULTS, details: { type: "suite" } }),
    event("test:pass", { name: "disk", nesting: 0, file: FAULTS, details: { type: "suite" } }),
    event("test:start", { name: "upgrade", nesting: 0, file: OTHER }),
    event("test:pass", { name: "upgrade", nesting: 0, file: OTHER, details: { duration_ms: 5 } }),
    event("test:diagnostic", { message: "cases: 9", nesting: 0, file: OTHER }),
    event("test:diagnostic", { message: "tests 3", nesting: 0 }),
  ];
}

describe("reliability report", () => {
  it("collects the tests in scope with their suites, cases and results", () => {
    const collector = new RunCollector(ROOT, () => "2026-01-01T00:00:00.000Z");
    for (const e of faultRun()) collector.add(e);
    const [faults, other] = collector.files();
    assert.deepEqual(faults?.tests, [
      { area: "Faults", suite: "disk", name: "full", cases: 3, result: "pass", ms: 1500 },
      { area: "Faults", suite: "disk › ro", name: "create", cases: 1, result: "fail", ms: 10 },
    ]);
    assert.equal(other?.file, "test/e2e/day2.test.ts");
    assert.deepEqual(other?.tests, [], "a file out of scope contributes no rows");
  });

  it("counts a skipped test as skipped, not passed", () => {
    const collector = new RunCollector(ROOT);
    collector.add(event("test:start", { name: "t", nesting: 0, file: FAULTS }));
    collector.add(event("test:pass", { name: "t", nesting: 0, file: FAULTS, skip: true, details: {} }));
    assert.equal(collector.files()[0]?.tests[0]?.result, "skipped");
  });

  it("merges runs file by file: a run replaces its files, keeps the others, drops deleted ones", () => {
    const row = { area: "Faults", suite: "s", name: "t", cases: 1, result: "pass" as const, ms: 1 };
    const previous = {
      files: [
        { file: "test/faults/a.test.ts", ranAt: "old", tests: [row] },
        { file: "test/faults/b.test.ts", ranAt: "old", tests: [row] },
        { file: "test/faults/gone.test.ts", ranAt: "old", tests: [row] },
      ],
    };
    const merged = mergeRuns(
      previous,
      [{ file: "test/faults/a.test.ts", ranAt: "new", tests: [{ ...row, cases: 7 }] }],
      (file) => !file.includes("gone"),
    );
    assert.deepEqual(
      merged.files.map((f) => [f.file, f.ranAt, f.tests[0]?.cases]),
      [
        ["test/faults/a.test.ts", "new", 7],
        ["test/faults/b.test.ts", "old", 1],
      ],
    );
  });

  it("renders totals per area and a row per test, failures marked", () => {
    const collector = new RunCollector(ROOT, () => "2026-01-01T00:00:00.000Z");
    for (const e of faultRun()) collector.add(e);
    const text = renderReport(mergeRuns({ files: [] }, collector.files(), () => true));
    assert.match(text, /^\| Faults \| 2 \| 4 \| 1 \| 1 \| 0 \|$/m);
    assert.match(text, /^\*\*disk › ro\*\*\n\n.*\n.*\n\| create \| 1 \| \*\*FAIL\*\* \| 0\.0 s \|$/m);
    assert.match(text, /^### `test\/faults\/disk\.test\.ts`$/m);
    assert.doesNotMatch(text, /day2/);
  });
});
