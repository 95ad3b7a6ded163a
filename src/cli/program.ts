/** The whole command line: every command defined, each importing its work lazily. */
import { Command } from "commander";
import { defineCreate } from "./commands/create.js";
import { defineDay2 } from "./commands/day2.js";
import { defineInfo } from "./commands/info.js";
import { defineKubelet } from "./commands/kubelet.js";
import { defineLifecycle } from "./commands/lifecycle.js";
import { defineLogsExec } from "./commands/logs-exec.js";
import { defineLs } from "./commands/ls.js";
import { definePrune } from "./commands/prune.js";
import { defineTransfer } from "./commands/transfer.js";
import { packageVersion } from "./version.js";

export function buildProgram(): Command {
  const program = new Command("dinv")
    .description("Docker hosts in containers on any Docker API endpoint (VIC, Docker Engine, Podman)")
    .option("--debug", "show details of failures")
    .version(packageVersion(), "-v, --version", "print the version")
    .showSuggestionAfterError()
    .exitOverride();

  defineCreate(program);
  defineLs(program);
  defineLifecycle(program);
  defineInfo(program);
  defineLogsExec(program);
  defineDay2(program);
  defineTransfer(program);
  definePrune(program);
  defineKubelet(program);

  return program;
}
