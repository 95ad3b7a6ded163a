/**
 * Entry point: parses the command line, dispatches to one command module, and turns
 * expected failures into one line on stderr with exit code 1 (stack traces only with --debug).
 * Command modules are imported lazily so that `dinv env` starts fast; plain `dinv version`
 * (run in shell prompts) is answered by bin/dinv before this module is even loaded.
 */
import { errorMessage, DinvError } from "../errors.js";

export async function main(argv: string[]): Promise<number> {
  const { CommanderError } = await import("commander");
  const { buildProgram } = await import("./program.js");
  const program = buildProgram();
  const debug = argv.includes("--debug") || argv.includes("-D");
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
