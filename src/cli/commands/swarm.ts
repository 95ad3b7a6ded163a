/** `dinv swarm …`: swarms of dinv hosts on Docker's swarm mode (the work is in host/swarm/). */
import { InvalidArgumentError, type Command } from "commander";
import { DinvError } from "../../errors.js";
import { confirmRemoval } from "../confirm.js";
import { collect, seconds } from "../options.js";
import { formatTable, out, stderrProgress } from "../output.js";
import { openStore } from "../store.js";

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("give a whole number");
  return Number(value);
}

export function defineSwarm(program: Command): void {
  const swarm = program.command("swarm").description("swarms of dinv hosts on Docker's swarm mode");

  swarm
    .command("create")
    .description(
      "create hosts and make them one swarm: managers and workers, spread over the endpoints given",
    )
    .argument("<name>")
    .option("--managers <n>", "manager nodes (odd: 1, 3, 5 keep a quorum)", count, 1)
    .option("--workers <n>", "worker nodes", count, 0)
    .option(
      "--endpoint <url>",
      "Docker API endpoint to put nodes on (repeatable: nodes are spread over them)",
      collect,
      [],
    )
    .option(
      "--network <name>",
      "an existing network on every endpoint that routes between them (default: dinv makes dinv-swarm-NAME)",
    )
    .option("--addr-pool <cidr>", "swarm's address pool for overlay networks", "10.215.0.0/16")
    .option("--subnet-size <bits>", "prefix length of each overlay network", count, 24)
    .option("--registry-cache <host>", "nodes pull through this dinv registry cache")
    .option("--image <ref>", "host image (default: the docker personality's)")
    .option(
      "--timeout <seconds>",
      "how long to wait for each host and for the nodes to be Ready",
      seconds,
      120,
    )
    .option("--no-context", "do not register a docker CLI context for the swarm")
    .action(
      async (
        name: string,
        opts: {
          managers: number;
          workers: number;
          endpoint: string[];
          network?: string;
          addrPool: string;
          subnetSize: number;
          registryCache?: string;
          image?: string;
          timeout: number;
          context: boolean;
        },
      ) => {
        const { createSwarm } = await import("../../host/swarm/swarm.js");
        const store = await openStore();
        const started = Date.now();
        const config = await createSwarm(
          store,
          {
            name,
            managers: opts.managers,
            workers: opts.workers,
            endpoints: opts.endpoint.map((endpoint) => ({ endpoint })),
            ...(opts.network ? { network: opts.network } : {}),
            addrPool: opts.addrPool,
            subnetSize: opts.subnetSize,
            ...(opts.registryCache ? { registryCache: opts.registryCache } : {}),
            ...(opts.image ? { image: opts.image } : {}),
            timeoutSeconds: opts.timeout,
            dockerContext: opts.context,
          },
          stderrProgress(),
        );
        out(
          `Swarm "${name}" is ready: ${config.nodes.length} node(s) in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
        );
        out(
          `Point your Docker client at it: eval $(dinv swarm env ${name})${opts.context ? `, or docker --context ${name} node ls` : ""}`,
        );
      },
    );

  swarm
    .command("ls")
    .description("list the swarms")
    .option("-q, --quiet", "names only")
    .action(async (opts: { quiet?: boolean }) => {
      const { swarmStore, listNodes } = await import("../../host/swarm/swarm.js");
      const store = await openStore();
      const swarms = swarmStore(store);
      const names = swarms.list();
      if (opts.quiet) {
        if (names.length) out(names.join("\n"));
        return;
      }
      const rows = await Promise.all(
        names.map(async (name) => {
          try {
            const config = swarms.load(name);
            const managers = config.nodes.filter((n) => n.role === "manager").length;
            const workers = config.nodes.length - managers;
            const ready = await listNodes(store, config).then(
              ({ nodes }) =>
                `${nodes.filter((n) => n.Status?.State === "ready").length}/${config.nodes.length}`,
              () => "no manager answers",
            );
            return [
              name,
              String(managers),
              String(workers),
              ready,
              config.endpoints.map((e) => e.url).join(","),
            ];
          } catch (err) {
            return [name, "-", "-", err instanceof DinvError ? err.message : String(err), "-"];
          }
        }),
      );
      out(formatTable(["NAME", "MANAGERS", "WORKERS", "READY", "ENDPOINTS"], rows));
    });

  swarm
    .command("inspect")
    .description("the swarm's record and its nodes as a manager sees them, as JSON (no tokens)")
    .argument("<name>")
    .action(async (name: string) => {
      const { swarmStore, listNodes } = await import("../../host/swarm/swarm.js");
      const store = await openStore();
      const config = swarmStore(store).load(name);
      const seen = await listNodes(store, config).catch((err: unknown) => ({
        error: err instanceof DinvError ? err.message : String(err),
      }));
      const view = {
        ...config,
        ...("error" in seen
          ? { error: seen.error }
          : {
              answeringManager: seen.manager,
              nodes: config.nodes.map((n) => {
                const node = seen.nodes.find((x) => x.Description?.Hostname === n.host);
                return {
                  ...n,
                  id: node?.ID ?? "",
                  state: node?.Status?.State ?? "missing",
                  availability: node?.Spec.Availability ?? "",
                  manager: node?.ManagerStatus
                    ? node.ManagerStatus.Leader
                      ? "Leader"
                      : (node.ManagerStatus.Reachability ?? "")
                    : "",
                };
              }),
            }),
      };
      out(JSON.stringify(view, null, 2));
    });

  swarm
    .command("env")
    .description(
      "print the commands that point the docker CLI at a manager of the swarm (the first that answers)",
    )
    .argument("<name>")
    .option("--shell <shell>", "bash, zsh, fish, powershell, cmd, emacs or tcsh (default: from $SHELL)")
    .action(async (name: string, opts: { shell?: string }) => {
      const { swarmStore, answeringManager, registerSwarmContext } =
        await import("../../host/swarm/swarm.js");
      const { hostUrl } = await import("../../host/connection.js");
      const fmt = await import("../format/shell-env.js");
      const store = await openStore();
      const config = swarmStore(store).load(name);
      const shell = opts.shell ? fmt.parseShell(opts.shell) : fmt.detectShell(process.env);
      const { config: manager } = await answeringManager(store, config);
      // The swarm's context follows the manager env chose, so `docker --context NAME` fails over too.
      await registerSwarmContext(store, config, stderrProgress(), manager);
      const vars: Array<[string, string]> = [
        ["DOCKER_TLS_VERIFY", "1"],
        ["DOCKER_HOST", hostUrl(manager)],
        ["DOCKER_CERT_PATH", store.hostDir(manager.name)],
        ["DOCKER_MACHINE_NAME", manager.name],
      ];
      out(
        fmt.formatEnv(vars, shell, { commandHint: fmt.hintCommandLine(["dinv", ...process.argv.slice(2)]) }),
      );
    });

  swarm
    .command("scale")
    .description("add or remove nodes; managers are demoted and every leaving node drained first")
    .argument("<name>")
    .option("--managers <n>", "manager nodes wanted", count)
    .option("--workers <n>", "worker nodes wanted", count)
    .option("--timeout <seconds>", "how long to wait for new hosts and nodes", seconds, 120)
    .action(async (name: string, opts: { managers?: number; workers?: number; timeout: number }) => {
      if (opts.managers === undefined && opts.workers === undefined)
        throw new DinvError("say how many nodes: --managers N and/or --workers M");
      const { scaleSwarm } = await import("../../host/swarm/swarm.js");
      const store = await openStore();
      const config = await scaleSwarm(
        store,
        name,
        {
          ...(opts.managers !== undefined ? { managers: opts.managers } : {}),
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
          timeoutSeconds: opts.timeout,
        },
        stderrProgress(),
      );
      const managers = config.nodes.filter((n) => n.role === "manager").length;
      out(`Swarm "${name}": ${managers} manager(s), ${config.nodes.length - managers} worker(s).`);
    });

  swarm
    .command("upgrade")
    .description(
      "move the nodes to the newest host image one at a time: drain, upgrade, wait Ready, activate",
    )
    .argument("<name>")
    .argument("[nodes...]", "only these nodes (host names)")
    .option("--image <ref>", "the image to move to (default: each node's own reference, read again)")
    .option("--timeout <seconds>", "how long to wait for each step of each node", seconds, 120)
    .action(async (name: string, nodes: string[], opts: { image?: string; timeout: number }) => {
      const { upgradeSwarm } = await import("../../host/swarm/rolling.js");
      const upgraded = await upgradeSwarm(
        await openStore(),
        name,
        {
          timeoutSeconds: opts.timeout,
          ...(nodes.length ? { only: nodes } : {}),
          ...(opts.image ? { image: opts.image } : {}),
        },
        stderrProgress(),
      );
      out(
        `Swarm "${name}": ${upgraded.length} node(s) upgraded${upgraded.length ? `: ${upgraded.join(", ")}` : ""}.`,
      );
    });

  swarm
    .command("regenerate-certs")
    .description(
      "new server certificates for the nodes, one at a time (each drained while its engine reloads)",
    )
    .argument("<name>")
    .argument("[nodes...]", "only these nodes (host names)")
    .option("--timeout <seconds>", "how long to wait for each step of each node", seconds, 120)
    .action(async (name: string, nodes: string[], opts: { timeout: number }) => {
      const { regenerateSwarmCertificates } = await import("../../host/swarm/rolling.js");
      const done = await regenerateSwarmCertificates(
        await openStore(),
        name,
        { timeoutSeconds: opts.timeout, ...(nodes.length ? { only: nodes } : {}) },
        stderrProgress(),
      );
      out(`Swarm "${name}": new certificates on ${done.join(", ")}.`);
    });

  swarm
    .command("rm")
    .description("remove swarms: every node's host, the network dinv made, the docker context, the tokens")
    .argument("<names...>")
    .option("-f, --force", "go on past nodes or endpoints that cannot be cleaned")
    .option("-y", "do not ask for confirmation")
    .action(async (names: string[], opts: { force?: boolean; y?: boolean }) => {
      // As `dinv rm`: every node's host goes, with the images and cache of each.
      if (!opts.y && !opts.force)
        await confirmRemoval(
          `About to remove swarm ${names.join(", ")}: every node's host, its containers, images and cache go with it.`,
        );
      const { removeSwarm } = await import("../../host/swarm/swarm.js");
      const store = await openStore();
      for (const name of names) {
        const notes = await removeSwarm(store, name, { force: opts.force === true });
        for (const note of notes) process.stderr.write(`warning: ${note}\n`);
        out(`Removed swarm "${name}".`);
      }
    });
}
