// dinv as one self-contained ESM file for the kubelet image (examples/kubelet-host/build.sh):
// the CLI bundle's settings (scripts/bundle.mjs) with the Kubernetes client inside it and no
// chunks, so the image needs node and this file only. Run from the repository: it bundles src/.
import { readFileSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = process.argv[2];
if (!out) throw new Error("usage: node bundle.mjs OUTPUT.mjs");
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

await build({
  stdin: {
    contents: 'import { main } from "./src/cli/main.ts"; process.exitCode = await main(process.argv);',
    resolveDir: root,
    loader: "ts",
  },
  outfile: out,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  alias: { ssh2: `${root}scripts/bundle-stubs/ssh2.cjs` },
  define: { DINV_VERSION: JSON.stringify(pkg.version) },
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
