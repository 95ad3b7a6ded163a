import { InvalidArgumentError, type Command } from "commander";
import type { EndpointFlags } from "../engine/resolve.js";

/** Repeatable option collector. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError("give seconds between 1 and 3600");
  return n;
}

/** --endpoint and the docker-style TLS flags, shared by every command that picks an endpoint. */
export function addEndpointOptions(command: Command): Command {
  return command
    .option(
      "--endpoint <url>",
      "Docker API endpoint (default: DOCKER_HOST, the docker context, or the local socket)",
    )
    .option("--tlsverify", "verify the endpoint's certificate (with --tlscacert)")
    .option("--tlscacert <file>", "CA of the endpoint")
    .option("--tlscert <file>", "client certificate for the endpoint")
    .option("--tlskey <file>", "client key for the endpoint");
}

export function endpointFlags(opts: Record<string, unknown>): EndpointFlags {
  const flags: EndpointFlags = {};
  if (typeof opts.endpoint === "string") flags.endpoint = opts.endpoint;
  if (typeof opts.tlsverify === "boolean") flags.tlsVerify = opts.tlsverify;
  if (typeof opts.tlscacert === "string") flags.tlsCaCert = opts.tlscacert;
  if (typeof opts.tlscert === "string") flags.tlsCert = opts.tlscert;
  if (typeof opts.tlskey === "string") flags.tlsKey = opts.tlskey;
  return flags;
}
