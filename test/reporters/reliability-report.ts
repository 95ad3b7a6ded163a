/**
 * The reliability report's data: which tests count (faults, bad input, security), what a run of
 * them gave (collected from node:test reporter events), the merge with earlier runs of other
 * files, and the markdown of docs/reliability.md. Pure: the reporter does the file IO.
 */
import type { TestEvent } from "node:test/reporters";

/** The tests the report covers: every test of a matching file, or those whose suite or name matches. */
const SCOPE: Array<{ area: string; file: RegExp; test?: RegExp }> = [
  { area: "Faults", file: /^test\/faults\// },
  { area: "Bad input", file: /^test\/unit\/input-properties\.test\.ts$/ },
  { area: "Bad input", file: /^test\/e2e\/cli\.test\.ts$/, test: /failures/ },
  { area: "Security", file: /^test\/e2e\/security\.test\.ts$/ },
  { area: "Security", file: /^test\/e2e\/host-image\.test\.ts$/, test: /refuses|plain HTTP/ },
  { area: "Security", file: /^test\/e2e\/transfer\.test\.ts$/, test: /CA key|not an export/ },
  {
    area: "Security",
    file: /^test\/e2e\/kubelet-api\.test\.ts$/,
    test: /refuses requests without credentials/,
  },
  { area: "Security", file: /^test\/e2e\/kubelet-volumes\.test\.ts$/, test: /namespace/ },
];
export const AREAS = ["Faults", "Bad input", "Security"];

export type Result = "pass" | "fail" | "skipped" | "todo";

export interface TestRow {
  area: string;
  suite: string;
  name: string;
  cases: number;
  result: Result;
  ms: number;
}

export interface FileRun {
  /** The test's source file, relative to the repository. */
  file: string;
  ranAt: string;
  tests: TestRow[];
}

export interface ReportData {
  files: FileRun[];
}

/** dist/test/x/y.test.js (absolute) → test/x/y.test.ts. */
export function sourceOf(file: string, root: string): string {
  const rel = file.startsWith(root) ? file.slice(root.length).replace(/^\/+/, "") : file;
  return rel.replace(/^dist\//, "").replace(/\.js$/, ".ts");
}

function areaOf(file: string, suite: string, name: string): string | undefined {
  const path = `${suite} › ${name}`;
  return SCOPE.find((s) => s.file.test(file) && (!s.test || s.test.test(path)))?.area;
}

/** Collects the tests in scope from a run's events, file by file. */
export class RunCollector {
  private readonly suites = new Map<string, string[]>();
  private readonly runs = new Map<string, FileRun>();
  /** The test a `cases: N` diagnostic belongs to: the last one to finish at its nesting level. */
  private readonly lastAt = new Map<string, TestRow | undefined>();

  constructor(
    private readonly root: string,
    private readonly now = () => new Date().toISOString(),
  ) {}

  add(event: TestEvent): void {
    const data = event.data as {
      name?: string;
      nesting: number;
      file?: string;
      message?: string;
      skip?: unknown;
      todo?: unknown;
      details?: { type?: string; duration_ms?: number };
    };
    if (!data.file) return;
    const file = sourceOf(data.file, this.root);
    const stack = this.suites.get(file) ?? [];
    this.suites.set(file, stack);
    if (!this.runs.has(file)) this.runs.set(file, { file, ranAt: this.now(), tests: [] });
    switch (event.type) {
      case "test:start":
        stack.length = data.nesting;
        stack[data.nesting] = data.name ?? "";
        break;
      case "test:pass":
      case "test:fail": {
        if (data.details?.type === "suite") return;
        const suite = stack.slice(0, data.nesting).join(" › ");
        const name = data.name ?? "";
        const area = areaOf(file, suite, name);
        const key = `${file}#${data.nesting}`;
        if (!area) {
          this.lastAt.set(key, undefined);
          return;
        }
        const result: Result =
          event.type === "test:fail" ? "fail" : data.skip ? "skipped" : data.todo ? "todo" : "pass";
        const row = { area, suite, name, cases: 1, result, ms: Math.round(data.details?.duration_ms ?? 0) };
        this.runs.get(file)?.tests.push(row);
        this.lastAt.set(key, row);
        break;
      }
      case "test:diagnostic": {
        const count = /^cases: (\d+)$/.exec(data.message ?? "")?.[1];
        const row = this.lastAt.get(`${file}#${data.nesting}`);
        if (count && row) row.cases = Number(count);
        break;
      }
    }
  }

  /** Every file the run saw (with or without tests in scope). */
  files(): FileRun[] {
    return [...this.runs.values()];
  }
}

/** This run's files replace their earlier entries; files not run keep theirs (the other npm script ran them). */
export function mergeRuns(
  previous: ReportData,
  run: FileRun[],
  exists: (file: string) => boolean,
): ReportData {
  const ran = new Set(run.map((r) => r.file));
  const kept = previous.files.filter((f) => !ran.has(f.file) && exists(f.file));
  const files = [...kept, ...run.filter((r) => r.tests.length > 0)];
  return { files: files.sort((a, b) => a.file.localeCompare(b.file)) };
}

const RESULT_TEXT: Record<Result, string> = {
  pass: "pass",
  fail: "**FAIL**",
  skipped: "skipped",
  todo: "todo",
};
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function renderReport(data: ReportData): string {
  const rows = data.files.flatMap((f) => f.tests.map((t) => ({ ...t, file: f.file })));
  const count = (list: typeof rows, result?: Result) =>
    list.filter((r) => !result || r.result === result).length;
  const sum = (list: typeof rows) => list.reduce((n, r) => n + r.cases, 0);
  const out: string[] = [
    "# Reliability and security report",
    "",
    "Written by `test/reporters/reliability.ts` from the test runs (`npm test`, `npm run test:faults`, both run",
    "by `scripts/test.sh`): do not edit it by hand. Each row is one test; **cases** counts the inputs or",
    "situations it tried (fast-check's runs for the property tests), as the test itself reports them.",
    "",
    "| Area | Tests | Cases | Passed | Failed | Skipped |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const area of AREAS) {
    const list = rows.filter((r) => r.area === area);
    out.push(
      `| ${area} | ${list.length} | ${sum(list)} | ${count(list, "pass")} | ${count(list, "fail")} | ${count(list, "skipped") + count(list, "todo")} |`,
    );
  }
  out.push(
    `| **All** | ${rows.length} | ${sum(rows)} | ${count(rows, "pass")} | ${count(rows, "fail")} | ${count(rows, "skipped") + count(rows, "todo")} |`,
  );
  for (const area of AREAS) {
    const files = data.files.filter((f) => f.tests.some((t) => t.area === area));
    if (files.length === 0) continue;
    out.push("", `## ${area}`);
    for (const f of files) {
      const tests = f.tests.filter((test) => test.area === area);
      out.push(
        "",
        `### \`${f.file}\``,
        "",
        `Reported ${f.ranAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}.`,
      );
      for (const suite of [...new Set(tests.map((t) => t.suite))]) {
        out.push(
          "",
          `**${cell(suite || "(top level)")}**`,
          "",
          "| Fault or input tried | Cases | Result | Time |",
          "| --- | ---: | --- | ---: |",
        );
        for (const t of tests.filter((test) => test.suite === suite))
          out.push(`| ${cell(t.name)} | ${t.cases} | ${RESULT_TEXT[t.result]} | ${seconds(t.ms)} |`);
      }
    }
  }
  return `${out.join("\n")}\n`;
}
