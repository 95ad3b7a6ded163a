import type { Command } from "commander";
import { out } from "../output.js";
import { openStore } from "../store.js";

export function defineTransfer(program: Command): void {
  program
    .command("export")
    .description("write a host (config and certificates) to a file another workstation can import")
    .argument("<name>")
    .requiredOption("-o, --output <file>", "the archive to write (mode 0600: it holds the client key)")
    .option("--with-ca", "include the CA private key (lets the importer issue certificates)")
    .action(async (name: string, opts: { output: string; withCa?: boolean }) => {
      const { exportHost } = await import("../../store/transfer.js");
      await exportHost(await openStore(), name, opts.output, opts.withCa === true);
      out(
        `Exported "${name}" to ${opts.output}${opts.withCa ? " (with the CA private key: keep it safe)" : ""}.`,
      );
    });

  program
    .command("import")
    .description("add a host exported with `dinv export` to this store")
    .argument("<file>")
    .option("--name <name>", "import under another name")
    .option("--no-context", "do not register a docker CLI context")
    .action(async (file: string, opts: { name?: string; context?: boolean }) => {
      const { importHost } = await import("../../store/transfer.js");
      const store = await openStore();
      const { config, installedCa } = await importHost(store, file, opts.name);
      const { speaksDockerApi } = await import("../../store/host-config.js");
      if (opts.context !== false && speaksDockerApi(config)) {
        const { registerContext } = await import("../../host/context.js");
        await registerContext(store, config);
      }
      out(
        `Imported "${config.name}" (endpoint ${config.endpoint.url}).${installedCa ? " Installed the CA from the archive." : ""}`,
      );
    });
}
