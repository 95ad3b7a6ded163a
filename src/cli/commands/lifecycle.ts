import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { confirmRemoval } from "../confirm.js";
import { seconds } from "../options.js";
import { out, stderrProgress } from "../output.js";
import { openStore } from "../store.js";

type Action = (name: string) => Promise<string | undefined>;

/** Run an action on several hosts concurrently; report each; fail (exit 1) if any failed. */
async function eachHost(names: string[], action: Action): Promise<void> {
  const results = await Promise.allSettled(names.map((name) => action(name)));
  const failures: string[] = [];
  results.forEach((result) => {
    if (result.status === "fulfilled") {
      if (result.value) out(result.value);
    } else {
      const err = result.reason as Error;
      failures.push(err instanceof DinvError ? err.userMessage : err.message);
    }
  });
  if (failures.length === 1) throw new DinvError(failures[0] as string);
  if (failures.length > 1) throw new DinvError(`${failures.length} hosts failed: ${failures.join("; ")}`);
}

export function defineLifecycle(program: Command): void {
  program
    .command("start")
    .description("start hosts and wait until their engines answer")
    .argument("<names...>")
    .option("--timeout <seconds>", "how long to wait for each engine", seconds, 60)
    .action(async (names: string[], opts: { timeout: number }) => {
      const { startHost } = await import("../../host/lifecycle.js");
      const s = await openStore();
      await eachHost(names, async (name) => {
        await startHost(s, name, opts.timeout, stderrProgress());
        return `Started "${name}".`;
      });
    });

  program
    .command("stop")
    .description("stop hosts gracefully (their containers stop with them)")
    .argument("<names...>")
    .action(async (names: string[]) => {
      const { stopHost } = await import("../../host/lifecycle.js");
      const s = await openStore();
      await eachHost(names, async (name) => {
        await stopHost(s, name);
        return `Stopped "${name}".`;
      });
    });

  program
    .command("restart")
    .description("restart hosts and wait until their engines answer")
    .argument("<names...>")
    .option("--timeout <seconds>", "how long to wait for each engine", seconds, 60)
    .action(async (names: string[], opts: { timeout: number }) => {
      const { restartHost } = await import("../../host/lifecycle.js");
      const s = await openStore();
      await eachHost(names, async (name) => {
        await restartHost(s, name, opts.timeout);
        return `Restarted "${name}".`;
      });
    });

  program
    .command("kill")
    .description("stop hosts at once (SIGKILL)")
    .argument("<names...>")
    .action(async (names: string[]) => {
      const { killHost } = await import("../../host/lifecycle.js");
      const s = await openStore();
      await eachHost(names, async (name) => {
        await killHost(s, name);
        return `Killed "${name}".`;
      });
    });

  program
    .command("rm")
    .description("remove hosts: container, cache volume, certificates, docker context")
    .argument("<names...>")
    .option(
      "-f, --force",
      "remove the local files even if the endpoint cannot be cleaned; works on broken hosts",
    )
    .option("-y", "do not ask for confirmation")
    .option("--keep-cache", "keep the image cache volume")
    .option("--remove-cache", "an adopted host's volume too (kept by default: it was yours)")
    .action(
      async (
        names: string[],
        opts: { force?: boolean; y?: boolean; keepCache?: boolean; removeCache?: boolean },
        command: Command,
      ) => {
        if (!opts.y && !opts.force)
          await confirmRemoval(
            `About to remove ${names.join(", ")}: its containers, images and cache go with it.`,
          );
        const { removeHost } = await import("../../host/remove.js");
        const { endpointFlags } = await import("../options.js");
        const s = await openStore();
        await eachHost(names, async (name) => {
          const notes = await removeHost(s, name, {
            force: opts.force === true,
            keepCache: opts.keepCache === true,
            removeAdoptedCache: opts.removeCache === true,
            fallbackEndpoint: endpointFlags(command.optsWithGlobals()),
          });
          return [...notes.map((n) => `warning: ${n}`), `Successfully removed ${name}`].join("\n");
        });
      },
    );
}
