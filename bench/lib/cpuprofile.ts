import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchContext } from "./context.js";
import { run } from "./proc.js";
import type { Table } from "./report.js";
import { ms } from "./stats.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function category(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:internal/modules") || url.includes("internal/modules/"))
    return "Node module loader";
  if (url.startsWith("node:")) return "Node internals";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.includes("/dist/src/")) return "dinv (dist/src)";
  if (url.includes("/dist/cli/")) return bundleRegion(url, node.callFrame.lineNumber);
  return url;
}

/** Per bundle chunk: the line where each source region starts (esbuild marks them `// path`), and its owner. */
const regions = new Map<string, Array<[number, string]>>();

/** Who a line of the bundle belongs to: a package, or dinv's own source. */
function bundleRegion(url: string, line: number): string {
  let starts = regions.get(url);
  if (!starts) {
    starts = [];
    try {
      readFileSync(fileURLToPath(url), "utf8")
        .split("\n")
        .forEach((text, index) => {
          const marker = /^\/\/ (\S+)$/.exec(text)?.[1];
          if (!marker) return;
          const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(marker)?.[1];
          starts?.push([index, pkg ?? (marker.startsWith("src/") ? "dinv (bundle)" : "bundle")]);
        });
    } catch {
      // unreadable: the whole chunk counts as the bundle's
    }
    regions.set(url, starts);
  }
  let owner = "dinv (bundle)";
  for (const [start, name] of starts) {
    if (start > line) break;
    owner = name;
  }
  return owner;
}

const NODE = new Set(["Node internals", "Node module loader", "(native)"]);

export interface ProfileSummary {
  /** Self time per package, Node's own work counted for the package that called into it. */
  byPackage: Array<[string, number]>;
  /** The heaviest Node-internal functions (self time), with the package that called them. */
  nodeFunctions: Array<[string, number]>;
}

/** Milliseconds per category, largest first. */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const cause = (id: number): string | undefined => {
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node && !NODE.has(category(node)) && node.callFrame.url) return category(node);
    }
    return undefined;
  };
  const byPackage = new Map<string, number>();
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = category(node);
    const caller = NODE.has(leaf) ? cause(id) : undefined;
    const key = caller ?? leaf;
    byPackage.set(key, (byPackage.get(key) ?? 0) + dt);
    if (NODE.has(leaf)) {
      const where = node.callFrame.url.replace(/^node:(internal\/)?/, "");
      const fn = `${node.callFrame.functionName || "(anonymous)"}${where ? ` (${where})` : ""} ← ${caller ?? "Node itself"}`;
      functions.set(fn, (functions.get(fn) ?? 0) + dt);
    }
  });
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((x, y) => y[1] - x[1]);
  return { byPackage: sorted(byPackage), nodeFunctions: sorted(functions) };
}

export async function cpuProfile(ctx: BenchContext, env: NodeJS.ProcessEnv, args: string[], label: string) {
  const dir = ctx.dir(`cpu-${label}`);
  const result = await run(
    process.execPath,
    ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", dir, ctx.dinvBin, ...args],
    { env },
  );
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no CPU profile from dinv ${args.join(" ")}`);
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  return {
    ms: result.ms,
    profileMs: (profile.endTime - profile.startTime) / 1000,
    summary: summarizeProfile(profile),
  };
}

export function profileTables(label: string, p: Awaited<ReturnType<typeof cpuProfile>>): Table[] {
  return [
    {
      title: `CPU profile of \`${label}\` (${ms(p.ms)} as a profiled process; ${ms(p.profileMs)} profiled): time by the package responsible`,
      columns: ["package (with the Node work it called)", "ms"],
      rows: p.summary.byPackage.slice(0, 12).map(([where, value]) => [where, value.toFixed(1)]),
      notes: [
        "Node's own work (TLS, util.inspect, module compilation…) is counted for the nearest package on the stack that called it; what no package called stays under Node. (program) is V8 and Node outside JavaScript; (idle) is waiting for I/O.",
      ],
    },
    {
      title: `CPU profile of \`${label}\`: the heaviest Node functions and who called them`,
      columns: ["function (file) ← caller", "self ms"],
      rows: p.summary.nodeFunctions.slice(0, 10).map(([what, value]) => [what, value.toFixed(1)]),
    },
  ];
}
