import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { addEndpointOptions, collect, endpointFlags, seconds } from "../options.js";
import { out, stderrProgress } from "../output.js";
import { DinvError } from "../../errors.js";
import { openStore } from "../store.js";
import type { RegistryAuth } from "../../host/registry-cache.js";

export function defineCreate(program: Command): void {
  const create = addEndpointOptions(
    program
      .command("create")
      .description("create a Docker host in a container on a Docker API endpoint")
      .argument("<name>", "host name")
      .option("-d, --driver <driver>", "infrastructure driver", driverName, "docker"),
  )
    .option(
      "--personality <name>",
      "what the host runs: docker (a Docker engine), registry-cache, or one added with `dinv personality add`",
      "docker",
    )
    .option(
      "--upstream <url>",
      "registry-cache: the registry to pull through (e.g. https://registry-1.docker.io); without it a plain registry",
    )
    .option(
      "--registry-auth <mode>",
      "registry-cache: client-cert (clients need a certificate dinv issued; default) or none (anyone who reaches it)",
      registryAuth,
    )
    .option(
      "--registry-cache <name>",
      "pull through this dinv registry cache (its mirror and trust are configured in the host)",
    )
    .option("--image <ref>", "host image (default: the personality's)", undefined)
    .option("--tls-san <name>", "extra IP or DNS name in the server certificate (repeatable)", collect, [])
    .option(
      "--publish-address <addr>",
      "endpoint address to publish the TLS port on (default: 127.0.0.1 for a local socket, else 0.0.0.0)",
    )
    .option(
      "--network <name>",
      "put the host on this container network, reached at its own address (no published port)",
    )
    .option("--ip <address>", "the host's fixed address on --network")
    .option(
      "--engine-opt <key=value>",
      "dockerd flag for the host's engine, e.g. log-driver=none (repeatable)",
      collect,
      [],
    )
    .option("--engine-label <key=value>", "label of the host's engine (repeatable)", collect, [])
    .option(
      "--engine-insecure-registry <registry>",
      "registry the host's engine may reach without TLS (repeatable)",
      collect,
      [],
    )
    .option(
      "--engine-registry-mirror <url>",
      "registry mirror of the host's engine (repeatable)",
      collect,
      [],
    )
    .option("--engine-storage-driver <driver>", "storage driver of the host's engine")
    .option(
      "--registry-ca <registry=file>",
      "trust this CA for a private registry in the host's engine, kept across upgrades (repeatable)",
      collect,
      [],
    )
    .option(
      "--engine-env <key=value>",
      "environment of the host's dockerd, e.g. HTTP_PROXY=… (repeatable)",
      collect,
      [],
    )
    .option("--engine-config <file>", "daemon.json merged under the --engine-* flags")
    .option("--cpus <n>", "CPUs for the host (a VCH: its containerVM's vCPUs)")
    .option("--memory <size>", "memory for the host, e.g. 4g (a VCH: its containerVM's memory)")
    .option(
      "--cache-size <size>",
      "size of the image cache volume, where the endpoint can size volumes (VIC; default there 20g)",
    )
    .option(
      "--volume-store <name>",
      "VIC: the VCH volume store the image cache comes from (default: default)",
    )
    .option("--timeout <seconds>", "how long to wait for the host's engine", seconds, 60)
    .option("--ttl <duration>", "a disposable host: `dinv prune` removes it after this long (30m, 2h, 1d)")
    .option("--keep-on-failure", "keep what was created when creation fails")
    .option("--no-context", "do not register a docker CLI context")
    .option(
      "--engine-install-url <url>",
      "accepted for docker-machine's scripts: the host image carries the engine",
    )
    .action(async (name: string, opts: Record<string, unknown>) => {
      const swarm = SWARM_FLAGS.find((flag) => opts[camel(flag)] !== undefined);
      if (swarm) {
        const { noSwarm } = await import("./info.js");
        throw noSwarm(`--${swarm}`);
      }
      if (opts.engineInstallUrl !== undefined)
        process.stderr.write("warning: --engine-install-url is ignored: the host image carries its engine\n");
      const { createHost } = await import("../../host/create.js");
      const { parseCpus, parseSize } = await import("../../host/resources.js");
      const resources = {
        ...(typeof opts.cpus === "string" ? { cpus: parseCpus(opts.cpus) } : {}),
        ...(typeof opts.memory === "string" ? { memoryBytes: parseSize(opts.memory, "--memory") } : {}),
        ...(typeof opts.cacheSize === "string"
          ? { cacheBytes: parseSize(opts.cacheSize, "--cache-size") }
          : {}),
        ...(typeof opts.volumeStore === "string" ? { volumeStore: opts.volumeStore } : {}),
      };
      if (opts.ip !== undefined && opts.network === undefined) {
        throw new DinvError("--ip goes with --network", { hint: "e.g. --network lan --ip 10.0.5.20" });
      }
      const config = await createHost(
        await openStore(),
        {
          name,
          endpoint: endpointFlags(opts),
          personality: opts.personality as string,
          ...(typeof opts.image === "string" ? { image: opts.image } : {}),
          ...(typeof opts.upstream === "string" ? { upstream: opts.upstream } : {}),
          ...(opts.registryAuth !== undefined ? { registryAuth: opts.registryAuth as RegistryAuth } : {}),
          ...(typeof opts.registryCache === "string" ? { registryCache: opts.registryCache } : {}),
          registryCas: opts.registryCa as string[],
          ...(typeof opts.ttl === "string"
            ? { ttlMs: (await import("../../host/prune.js")).parseTtl(opts.ttl) }
            : {}),
          ...(typeof opts.network === "string"
            ? { network: { name: opts.network, ...(typeof opts.ip === "string" ? { ip: opts.ip } : {}) } }
            : {}),
          engine: {
            engineOpt: opts.engineOpt as string[],
            engineLabel: opts.engineLabel as string[],
            engineInsecureRegistry: opts.engineInsecureRegistry as string[],
            engineRegistryMirror: opts.engineRegistryMirror as string[],
            engineEnv: opts.engineEnv as string[],
            ...(typeof opts.engineStorageDriver === "string"
              ? { engineStorageDriver: opts.engineStorageDriver }
              : {}),
            ...(typeof opts.engineConfig === "string" ? { engineConfig: opts.engineConfig } : {}),
          },
          resources,
          tlsSans: opts.tlsSan as string[],
          ...(typeof opts.publishAddress === "string" ? { publishAddress: opts.publishAddress } : {}),
          timeoutSeconds: opts.timeout as number,
          keepOnFailure: opts.keepOnFailure === true,
          dockerContext: opts.context !== false,
        },
        stderrProgress(),
      );
      if (config.personality === "registry-cache") {
        out(`Registry cache "${config.name}" is running.`);
        out(`Hosts pull through it when created with: dinv create --registry-cache ${config.name} NAME`);
        return;
      }
      const { speaksDockerApi } = await import("../../store/host-config.js");
      if (!speaksDockerApi(config)) {
        out(`Host "${config.name}" (personality ${config.personality}) is running.`);
        out(`Its service: dinv url ${config.name}`);
        return;
      }
      out(`Host "${config.name}" is running.`);
      out(`To point your Docker client at it, run: dinv env ${config.name}`);
      if (opts.context !== false) out(`or use the context: docker --context ${config.name} ps`);
    });
  addSwarmFlags(create);
}

/** docker-machine's Swarm (classic) flags: known, so that they are refused with the reason. */
const SWARM_FLAGS = [
  "swarm",
  "swarm-master",
  "swarm-experimental",
  "swarm-image",
  "swarm-discovery",
  "swarm-strategy",
  "swarm-opt",
  "swarm-join-opt",
  "swarm-host",
  "swarm-addr",
];
const SWARM_BOOLEANS = new Set(["swarm", "swarm-master", "swarm-experimental"]);

function addSwarmFlags(command: Command): Command {
  for (const flag of SWARM_FLAGS)
    command.addOption(new Option(SWARM_BOOLEANS.has(flag) ? `--${flag}` : `--${flag} <value>`).hideHelp());
  return command;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function registryAuth(value: string): RegistryAuth {
  if (value !== "client-cert" && value !== "none")
    throw new InvalidArgumentError('use "client-cert" or "none"');
  return value;
}

function driverName(value: string): string {
  if (value !== "docker")
    throw new InvalidArgumentError('the only driver is "docker" (any Docker API endpoint)');
  return value;
}
