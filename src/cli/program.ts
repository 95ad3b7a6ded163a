/** The whole command line: every command defined, each importing its work lazily. */
import { Command } from "commander";
import { defineAdopt } from "./commands/adopt.js";
import { defineCreate } from "./commands/create.js";
import { defineDay2 } from "./commands/day2.js";
import { defineImage } from "./commands/image.js";
import { defineInfo } from "./commands/info.js";
import { defineKubelet } from "./commands/kubelet.js";
import { defineLifecycle } from "./commands/lifecycle.js";
import { defineLogsExec } from "./commands/logs-exec.js";
import { defineLs } from "./commands/ls.js";
import { definePersonality } from "./commands/personality.js";
import { definePrune } from "./commands/prune.js";
import { defineScp } from "./commands/scp.js";
import { defineShare } from "./commands/share.js";
import { defineSwarm } from "./commands/swarm.js";
import { defineTransfer } from "./commands/transfer.js";
import { defineUse } from "./commands/use.js";
import { versionLine } from "./version.js";

export function buildProgram(): Command {
  const program = new Command("dinv")
    .description("Docker hosts in containers on any Docker API endpoint (VIC, Docker Engine, Podman)")
    .option("-D, --debug", "show details of failures")
    .option(
      "-s, --storage-path <dir>",
      "the store (default: $DINV_STORAGE_PATH, else $MACHINE_STORAGE_PATH, else ~/.dinv)",
    )
    .option("--native-ssh", "accepted for docker-machine's scripts and ignored: dinv uses no SSH")
    // As docker-machine: -v prints the same line as `version`.
    .version(versionLine(), "-v, --version", "print the version")
    .showSuggestionAfterError()
    .exitOverride()
    .hook("preAction", (root) => {
      // Every store opened afterwards (src/store/paths.ts) reads it from there.
      const storagePath = root.opts<{ storagePath?: string }>().storagePath;
      if (storagePath) process.env.DINV_STORAGE_PATH = storagePath;
    });

  defineCreate(program);
  defineAdopt(program);
  defineLs(program);
  defineLifecycle(program);
  defineInfo(program);
  defineLogsExec(program);
  defineDay2(program);
  defineScp(program);
  defineShare(program);
  defineTransfer(program);
  definePrune(program);
  defineUse(program);
  defineImage(program);
  definePersonality(program);
  defineKubelet(program);
  defineSwarm(program);

  return program;
}
