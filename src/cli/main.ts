/**
 * Entry point: parses the command line, dispatches to one command module, and turns
 * expected failures into one line on stderr with exit code 1 (stack traces only with --debug).
 * Command modules are imported lazily so that `dinv version` and `dinv env` start fast.
 */
import { Command, CommanderError } from "commander";
import { errorMessage, DinvError } from "../errors.js";
import { defineCreate } from "./commands/create.js";
import { defineDay2 } from "./commands/day2.js";
import { defineInfo } from "./commands/info.js";
import { defineKubelet } from "./commands/kubelet.js";
import { defineLifecycle } from "./commands/lifecycle.js";
import { defineLogsExec } from "./commands/logs-exec.js";
import { defineLs } from "./commands/ls.js";
import { defineTransfer } from "./commands/transfer.js";
import { packageVersion } from "./version.js";

function buildProgram(): Command {
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
  defineKubelet(program);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync(argv);
    // A command may set its own exit status (exec passes on the command's).
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      return err.exitCode === 0 ? 0 : 1;
    }
    process.stderr.write(`dinv: ${errorMessage(err)}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
    else if (!(err instanceof DinvError))
      process.stderr.write("dinv: (unexpected error; run with --debug for details)\n");
    return 1;
  }
}
