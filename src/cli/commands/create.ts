import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { addEndpointOptions, collect, endpointFlags, seconds } from "../options.js";
import { out, stderrProgress } from "../output.js";

export function defineCreate(program: Command): void {
  addEndpointOptions(
    program
      .command("create")
      .description("create a Docker host in a container on a Docker API endpoint")
      .argument("<name>", "host name")
      .option("-d, --driver <driver>", "infrastructure driver", driverName, "docker"),
  )
    .option("--image <ref>", "host image", undefined)
    .option("--tls-san <name>", "extra IP or DNS name in the server certificate (repeatable)", collect, [])
    .option(
      "--publish-address <addr>",
      "endpoint address to publish the TLS port on (default: 127.0.0.1 for a local socket, else 0.0.0.0)",
    )
    .option("--timeout <seconds>", "how long to wait for the host's engine", seconds, 60)
    .option("--keep-on-failure", "keep what was created when creation fails")
    .option("--no-context", "do not register a docker CLI context")
    .action(async (name: string, opts: Record<string, unknown>) => {
      const { HostStore } = await import("../../store/host-store.js");
      const { createHost } = await import("../../host/create.js");
      const config = await createHost(
        new HostStore(),
        {
          name,
          endpoint: endpointFlags(opts),
          ...(typeof opts.image === "string" ? { image: opts.image } : {}),
          tlsSans: opts.tlsSan as string[],
          ...(typeof opts.publishAddress === "string" ? { publishAddress: opts.publishAddress } : {}),
          timeoutSeconds: opts.timeout as number,
          keepOnFailure: opts.keepOnFailure === true,
          dockerContext: opts.context !== false,
        },
        stderrProgress(),
      );
      out(`Host "${config.name}" is running.`);
      out(`To point your Docker client at it, run: dinv env ${config.name}`);
      if (opts.context !== false) out(`or use the context: docker --context ${config.name} ps`);
    });
}

function driverName(value: string): string {
  if (value !== "docker")
    throw new InvalidArgumentError('the only driver is "docker" (any Docker API endpoint)');
  return value;
}
