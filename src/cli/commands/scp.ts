import type { Command } from "commander";
import type { Location } from "../../host/scp.js";
import { openStore } from "../store.js";

/**
 * docker-machine's location syntax: `[user@]host:path` is in a host, anything without a colon
 * (or `localhost:path`) is here. The user is accepted and ignored: the archive API writes as root.
 */
export function parseLocation(arg: string): Location {
  const colon = arg.indexOf(":");
  if (colon < 0) return { path: arg };
  const host = arg.slice(0, colon).replace(/^[^@]*@/, "");
  const path = arg.slice(colon + 1);
  return host === "localhost" ? { path } : { host, path };
}

export function defineScp(program: Command): void {
  program
    .command("scp")
    .description(
      "copy files between this machine and hosts, or between hosts: [host:]path [host:]path (through the Docker API, no SSH)",
    )
    .argument("<from>", "[host:]path to copy")
    .argument("<to>", "[host:]path to copy to (an existing folder receives it under its own name)")
    .option("-r, --recursive", "copy folders")
    .option("-d, --delta", "accepted for docker-machine's scripts: every file is sent whole (no rsync)")
    .option("-q, --quiet", "accepted for docker-machine's scripts: dinv scp prints no progress")
    .action(async (from: string, to: string, opts: { recursive?: boolean }) => {
      const { scp } = await import("../../host/scp.js");
      await scp(await openStore(), parseLocation(from), parseLocation(to), {
        recursive: opts.recursive === true,
      });
    });
}
