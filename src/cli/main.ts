/**
 * Entry point: parses the command line, dispatches to one command module, and turns
 * expected failures into one line on stderr with exit code 1 (stack traces only with --debug).
 * Command modules are imported lazily so that `dinv version` and `dinv env` start fast;
 * plain `dinv version` (run in shell prompts) answers without loading the parser at all.
 */
import { errorMessage, DinvError } from "../errors.js";
import { versionLine } from "./version.js";

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 3 && argv[2] === "version") {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  const { CommanderError } = await import("commander");
  const { buildProgram } = await import("./program.js");
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
