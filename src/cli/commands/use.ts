import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { out } from "../output.js";
import { openStore } from "../store.js";

/** What `dinv env` sets; unset by `dinv use`, since DOCKER_HOST would win over DOCKER_CONTEXT. */
const DOCKER_ENV_NAMES = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"];

/** The project file naming a folder's host (found in the working directory or a parent). */
export const PROJECT_FILE = ".dinv";

/** The host a `.dinv` file names, from `dir` up to the root; undefined when there is none. */
export function projectHost(dir: string): { name: string; file: string } | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const file = join(current, PROJECT_FILE);
    if (existsSync(file)) {
      const name = readFileSync(file, "utf8")
        .split("\n")
        .map((line) => line.trim())
        .find((line) => line !== "" && !line.startsWith("#"));
      if (!name)
        throw new DinvError(`${file} names no host`, { hint: "write the host's name on its first line" });
      return { name, file };
    }
    if (dirname(current) === current) return undefined;
  }
}

/**
 * dinv use: point this shell (only) at a host through DOCKER_CONTEXT, where `docker context use`
 * would switch every terminal at once (docker/cli#1899). Without a name, the `.dinv` file of the
 * folder decides (a direnv .envrc of `eval "$(dinv use)"` makes that automatic).
 */
export function defineUse(program: Command): void {
  program
    .command("use")
    .description("print what points this shell at a host's docker context (eval it); -u undoes it")
    .argument("[name]", "the host (default: the one the .dinv file of this folder or a parent names)")
    .option("--shell <shell>", "bash, zsh, fish, powershell, cmd, emacs or tcsh (default: from $SHELL)")
    .option("-u, --unset", "print what unsets DOCKER_CONTEXT")
    .action(async (given: string | undefined, opts: { shell?: string; unset?: boolean }) => {
      const fmt = await import("../format/shell-env.js");
      const shell = opts.shell ? fmt.parseShell(opts.shell) : fmt.detectShell(process.env);
      const commandHint = fmt.hintCommandLine(["dinv", ...process.argv.slice(2)]);
      if (opts.unset) {
        out(fmt.formatUnset(["DOCKER_CONTEXT"], shell, { commandHint }));
        return;
      }
      const name = given ?? projectHost(process.cwd())?.name;
      if (!name) {
        throw new DinvError("no host named and no .dinv file here or above", {
          hint: "dinv use NAME, or write NAME into a .dinv file in the project folder",
        });
      }
      const store = await openStore();
      store.load(name); // a missing host is one clear line
      const { contextPaths, dockerConfigDir } = await import("../../store/docker-context.js");
      if (!existsSync(join(contextPaths(dockerConfigDir(), name).metaDir, "meta.json"))) {
        throw new DinvError(`host "${name}" has no docker context`, {
          hint: `it was created with --no-context: use \`dinv env ${name}\` instead`,
        });
      }
      // The docker CLI prefers DOCKER_HOST to DOCKER_CONTEXT: what `dinv env` set must go.
      out(fmt.formatEnv([["DOCKER_CONTEXT", name]], shell, { commandHint, unset: DOCKER_ENV_NAMES }));
    });
}
