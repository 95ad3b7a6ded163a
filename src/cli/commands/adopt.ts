import type { Command } from "commander";
import { addEndpointOptions, endpointFlags, seconds } from "../options.js";
import { out, stderrProgress } from "../output.js";
import { openStore } from "../store.js";

export function defineAdopt(program: Command): void {
  addEndpointOptions(
    program
      .command("adopt")
      .description(
        "take over a Docker-in-container host made by hand (dockerd with TLS in a container, its own CA)",
      )
      .argument("<name>", "host name in dinv")
      .requiredOption("--container <name|id>", "the container running the host's dockerd"),
  )
    .requiredOption("--tls-ca-cert <file>", "the CA that signed its server certificate and its clients'")
    .requiredOption("--tls-ca-key <file>", "that CA's key (kept in the host folder, 0600)")
    .option("--tls-cert <file>", "your client certificate from that CA (default: dinv issues one)")
    .option("--tls-key <file>", "its key")
    .option("--url <tcp://address:port>", "where its engine answers (default: its published 2376)")
    .option("--timeout <seconds>", "how long to wait for its engine", seconds, 30)
    .option("--no-context", "do not register a docker CLI context")
    .action(async (name: string, opts: Record<string, unknown>) => {
      const { adoptHost } = await import("../../host/adopt.js");
      const config = await adoptHost(
        await openStore(),
        {
          name,
          endpoint: endpointFlags(opts),
          container: opts.container as string,
          caCert: opts.tlsCaCert as string,
          caKey: opts.tlsCaKey as string,
          ...(typeof opts.tlsCert === "string" ? { clientCert: opts.tlsCert } : {}),
          ...(typeof opts.tlsKey === "string" ? { clientKey: opts.tlsKey } : {}),
          ...(typeof opts.url === "string" ? { url: opts.url } : {}),
          timeoutSeconds: opts.timeout as number,
          dockerContext: opts.context !== false,
        },
        stderrProgress(),
      );
      out(`Adopted ${config.container.name} as host "${config.name}".`);
      out(`To point your Docker client at it, run: dinv env ${config.name}`);
    });
}
