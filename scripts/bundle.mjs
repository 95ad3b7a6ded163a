// The CLI as one ESM bundle (dist/cli/), which bin/dinv loads: module loading was most of the
// start-up of short commands (BENCHMARKS.md). Lazily imported command modules become their own
// chunks, loaded only by the commands that import them. Source maps are kept for --debug stacks.
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync("package.json", "utf8")); // run from the root (npm run build);

rmSync("dist/cli", { recursive: true, force: true }); // no chunks of earlier builds

await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // docker-modem's ssh2 (with cpu-features' native addon) is never used by dinv: a stub stands in.
  alias: { ssh2: "./scripts/bundle-stubs/ssh2.cjs" },
  // The Kubernetes client is large and loaded only by the long-running kubelet command.
  external: ["@kubernetes/client-node"],
  define: { DINV_VERSION: JSON.stringify(pkg.version) },
  // CommonJS dependencies use require() for Node's modules, and some name files after __filename:
  // give every chunk its own.
  banner: {
    js: [
      'import { createRequire as __createRequire } from "node:module";',
      'import { fileURLToPath as __fileURLToPath } from "node:url";',
      'import { dirname as __pathDirname } from "node:path";',
      "const require = __createRequire(import.meta.url);",
      "const __filename = __fileURLToPath(import.meta.url);",
      "const __dirname = __pathDirname(__filename);",
    ].join(" "),
  },
  logLevel: "warning",
});
