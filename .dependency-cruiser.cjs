/**
 * The layers of src/ and which way their imports may point (docs/architecture.md draws them):
 *
 *   cli → host → drivers, personalities → engine → store → pki
 *   cli → kubelet → engine, pki
 *
 * src/errors.ts sits under everything. Run by `npm run lint`; type-only imports count too,
 * since a type pulled from above ties a layer to it as surely as a value does.
 */
const LAYERS_ABOVE_BOTTOM = "^src/(cli|host|drivers|personalities|kubelet)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "bottom-looks-up",
      comment:
        "engine, store and pki are the floor: they know nothing of hosts, what runs in them or the CLI",
      severity: "error",
      from: { path: "^src/(engine|store|pki)/" },
      to: { path: LAYERS_ABOVE_BOTTOM },
    },
    {
      name: "store-uses-engine",
      comment:
        "the store keeps files (dinv's and the docker CLI's contexts); the engine reads it, not the reverse",
      severity: "error",
      from: { path: "^src/store/" },
      to: { path: "^src/engine/" },
    },
    {
      name: "pki-uses-dinv",
      comment: "pki makes and checks certificates from what it is given, and imports nothing of dinv's",
      severity: "error",
      from: { path: "^src/pki/" },
      to: { path: "^src/", pathNot: ["^src/pki/", "^src/errors\\.ts$"] },
    },
    {
      name: "middle-looks-up",
      comment:
        "drivers and personalities are used by host; they cannot use it (or the CLI, or the kubelet) back",
      severity: "error",
      from: { path: "^src/(drivers|personalities)/" },
      to: { path: "^src/(host|cli|kubelet)/" },
    },
    {
      name: "driver-personality-apart",
      comment: "where a host runs and what runs in it are chosen independently; host composes them",
      severity: "error",
      from: { path: "^src/drivers/" },
      to: { path: "^src/personalities/" },
    },
    {
      name: "personality-driver-apart",
      comment: "where a host runs and what runs in it are chosen independently; host composes them",
      severity: "error",
      from: { path: "^src/personalities/" },
      to: { path: "^src/drivers/" },
    },
    {
      name: "personalities-apart",
      comment: "a personality is its own folder; what two share lives in src/personalities/*.ts",
      severity: "error",
      from: { path: "^src/personalities/([^/]+)/" },
      to: { path: "^src/personalities/[^/]+/", pathNot: "^src/personalities/$1/" },
    },
    {
      name: "drivers-apart",
      comment: "a driver implements drivers/driver.ts and uses no other driver",
      severity: "error",
      from: { path: "^src/drivers/" },
      to: { path: "^src/drivers/", pathNot: "^src/drivers/driver\\.ts$" },
    },
    {
      name: "host-looks-up",
      comment: "host is a library for the CLI, beside the kubelet",
      severity: "error",
      from: { path: "^src/host/" },
      to: { path: "^src/(cli|kubelet)/" },
    },
    {
      name: "kubelet-beside-host",
      comment: "the kubelet runs pods on an engine; it never goes through the CLI or host lifecycle",
      severity: "error",
      from: { path: "^src/kubelet/" },
      to: { path: "^src/(cli|host|drivers|personalities)/" },
    },
    {
      name: "src-uses-tests",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "no-circular",
      comment: "modules that import each other are one module in two files",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "an import the checker cannot resolve would pass every rule above unseen",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};
