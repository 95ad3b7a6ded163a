import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { endpointFlags, seconds } from "../options.js";
import { out } from "../output.js";
import { openStore } from "../store.js";

/** dinv prune: remove disposable hosts past their --ttl (and, if asked, every stopped host). */
export function definePrune(program: Command): void {
  program
    .command("prune")
    .description("remove hosts past their --ttl; with --all-stopped also every stopped host")
    .option("--all-stopped", "also remove every stopped host")
    .option("--dry-run", "only list what would be removed")
    .option("-f, --force", "do not ask for confirmation")
    .option("--timeout <seconds>", "how long each endpoint gets to answer", seconds, 10)
    .action(
      async (
        opts: { allStopped?: boolean; dryRun?: boolean; force?: boolean; timeout: number },
        command: Command,
      ) => {
        const { pruneCandidates } = await import("../../host/prune.js");
        const { removeHost } = await import("../../host/remove.js");
        const store = await openStore();
        const timeoutMs = opts.timeout * 1000;
        const candidates = await pruneCandidates(store, { allStopped: opts.allStopped === true, timeoutMs });
        if (candidates.length === 0) {
          out("Nothing to prune.");
          return;
        }
        for (const c of candidates)
          out(`${opts.dryRun ? "Would remove" : "Removing"} ${c.name} (${c.reason})`);
        if (opts.dryRun) return;
        if (!opts.force) {
          throw new DinvError("refusing to prune without confirmation", {
            hint: "pass -f to remove the hosts listed (--dry-run shows them only)",
          });
        }
        const failures: string[] = [];
        for (const c of candidates) {
          try {
            await removeHost(store, c.name, {
              force: false,
              keepCache: false,
              fallbackEndpoint: endpointFlags(command.optsWithGlobals()),
            });
            out(`Successfully removed ${c.name}`);
          } catch (err) {
            failures.push(`${c.name}: ${err instanceof DinvError ? err.userMessage : String(err)}`);
          }
        }
        if (failures.length) throw new DinvError(`could not prune ${failures.join("; ")}`);
      },
    );
}
