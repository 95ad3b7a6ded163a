// The CLI as one ESM bundle (dist/cli/), which bin/dinv loads: module loading was most of the
// start-up of short commands (BENCHMARKS.md). Lazily imported command modules become their own
// chunks, loaded only by the commands that import them. Source maps are kept for --debug stacks.
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { build } from "esbuild";

/** An esbuild plugin resolving `request` from `importer` (both patterns) to the stub file instead. */
function stubModule(request, importer, stub) {
  return {
    name: `stub ${stub}`,
    setup(b) {
      b.onResolve({ filter: request }, (args) =>
        importer.test(args.importer) ? { path: resolve(stub) } : undefined,
      );
    },
  };
}

/**
 * docker-modem formats every request's options with util.inspect (showHidden, unlimited depth:
 * the agent, the TLS material) before asking whether its debug log is on: 24 ms of a create's CPU
 * profile here, and with DEBUG=modem it would print the client key. The bundle logs method and path
 * instead. The build fails if the line changes, so an upgrade cannot silently drop the patch.
 */
const modemDebugLine = {
  name: "docker-modem debug line",
  setup(b) {
    b.onLoad({ filter: /docker-modem[\\/]lib[\\/]modem\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const eager =
        /debug\('Sending: %s', util\.inspect\(options, \{\s*showHidden: true,\s*depth: null\s*\}\)\);/;
      if (!eager.test(source))
        throw new Error(`${args.path}: the request debug line changed; review scripts/bundle.mjs`);
      return {
        contents: source.replace(eager, "debug('Sending: %s %s', options.method, options.path);"),
        loader: "js",
      };
    });
  },
};

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
  // dockerode's BuildKit session (gRPC, protobufjs) is never used by dinv either: a stub stands in.
  plugins: [
    modemDebugLine,
    stubModule(
      /^\.\/session$/,
      /dockerode[\\/]lib[\\/]docker\.js$/,
      "scripts/bundle-stubs/dockerode-session.cjs",
    ),
  ],
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
