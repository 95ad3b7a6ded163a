import type { Command } from "commander";
import { openStore } from "../store.js";

async function open(name: string) {
  const { openHost } = await import("../../host/open.js");
  return openHost(await openStore(), name);
}

export function defineLogsExec(program: Command): void {
  program
    .command("logs")
    .description("show the host's Docker engine log")
    .argument("<name>")
    .option("-f, --follow", "keep streaming")
    .option("-n, --tail <lines>", "only the last lines", (v) => Number(v))
    .action(async (name: string, opts: { follow?: boolean; tail?: number }) => {
      const host = await open(name);
      const stream = await host.driver.logs({
        follow: opts.follow === true,
        ...(opts.tail ? { tail: opts.tail } : {}),
      });
      // Non-TTY container logs are multiplexed: split them back into stdout and stderr.
      host.client.docker.modem.demuxStream(stream, process.stdout, process.stderr);
      await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("error", reject);
      });
    });

  program
    .command("exec")
    .alias("ssh")
    .description("run a command inside the host (a shell when none is given): the replacement for ssh")
    .argument("<name>")
    .argument("[command...]", "command and arguments (after -- when they include -h or --debug)")
    // `dinv ssh NAME ls -la` as with docker-machine: the command's own flags are not dinv's.
    .allowUnknownOption()
    .action(async (name: string, command: string[]) => {
      const host = await open(name);
      const { requireRunning } = await import("../../host/state.js");
      await requireRunning(host);
      const { execInHost } = await import("../../host/exec.js");
      process.exitCode = await execInHost(host, command.length > 0 ? command : ["/bin/sh"]);
    });
}
