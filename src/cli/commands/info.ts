import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import type { HostFiles } from "../../host/state.js";
import { seconds } from "../options.js";
import { out } from "../output.js";
import { openStore } from "../store.js";

/** Load a host and make sure it runs (url, env, config, version NAME need that). */
async function runningHost(name: string): Promise<HostFiles> {
  const s = await openStore();
  const host = { config: s.load(name), dir: s.hostDir(name) };
  const { requireRunning } = await import("../../host/state.js");
  await requireRunning(host);
  return host;
}

/** A running host whose client files (printed for the docker CLI) are there and private. */
async function usableHost(name: string) {
  const host = await runningHost(name);
  const { checkClientFiles } = await import("../../host/connection.js");
  checkClientFiles(host.config, host.dir);
  return host;
}

interface EnvOptions {
  shell?: string;
  unset?: boolean;
  proxy?: boolean;
  swarm?: boolean;
  testcontainers?: boolean;
}

/**
 * Testcontainers against a TLS host: containers' ports are on the host's address, and Ryuk
 * must mount the host engine's own socket, not the DOCKER_HOST URL (testcontainers-java#9137).
 */
const TESTCONTAINERS_NAMES = ["TESTCONTAINERS_HOST_OVERRIDE", "TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE"];

const ENV_NAMES = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"];

/** docker-machine's Swarm flags (create, env, config): dinv creates no Swarm. */
export function noSwarm(flag = "--swarm"): DinvError {
  return new DinvError(`${flag} is not supported: dinv hosts have no Swarm`, {
    hint: "Docker Swarm (classic) was retired; use `docker swarm init` inside a host",
  });
}

export function defineInfo(program: Command): void {
  program
    .command("url")
    .description("print the host's Docker URL")
    .argument("<name>")
    .action(async (name: string) => {
      const { hostUrl } = await import("../../host/connection.js");
      out(hostUrl((await runningHost(name)).config));
    });

  program
    .command("ip")
    .description("print the address clients reach the host at")
    .argument("<names...>")
    .action(async (names: string[]) => {
      const s = await openStore();
      for (const name of names) out(s.load(name).network.address);
    });

  program
    .command("status")
    .description("print the host's state (with -v: its engine's storage, privilege, cgroups and warnings)")
    .argument("<name>")
    // Not -v: that is the global version flag (docker-machine's), which commander reads anywhere.
    .option("--verbose", "also how the host's engine runs, each with the reason")
    .option("-t, --timeout <seconds>", "how long to wait for the host", seconds, 10)
    .action(async (name: string, opts: { verbose?: boolean; timeout: number }) => {
      const s = await openStore();
      const { hostState } = await import("../../host/state.js");
      const host = { config: s.load(name), dir: s.hostDir(name) };
      const { state } = await hostState(host, opts.timeout * 1000);
      out(state);
      if (!opts.verbose) return;
      if (state !== "Running" || host.config.personality !== "docker") {
        out(
          `(${state === "Running" ? "a registry cache has no engine" : "its engine is not running"}: nothing more to show)`,
        );
        return;
      }
      const { hostHealth } = await import("../../host/health.js");
      const { healthLines } = await import("../format/health.js");
      out(healthLines(await hostHealth(host, opts.timeout * 1000)).join("\n"));
    });

  program
    .command("config")
    .description("print the docker CLI flags to reach the host: docker $(dinv config NAME) ps")
    .argument("<name>")
    .option("--swarm", "docker-machine's Swarm config: refused, dinv hosts have no Swarm")
    .action(async (name: string, opts: { swarm?: boolean }) => {
      if (opts.swarm) throw noSwarm();
      const host = await usableHost(name);
      const { join } = await import("node:path");
      const { hostUrl } = await import("../../host/connection.js");
      const file = (relative: string) => join(host.dir, relative);
      out(
        [
          "--tlsverify",
          `--tlscacert="${file(host.config.files.ca)}"`,
          `--tlscert="${file(host.config.files.clientCert)}"`,
          `--tlskey="${file(host.config.files.clientKey)}"`,
          `-H=${hostUrl(host.config)}`,
        ].join("\n"),
      );
    });

  program
    .command("env")
    .description("print the commands that point the docker CLI at the host (with -u, that undo it)")
    .argument("[name]", "the host (none with -u)")
    .option("--shell <shell>", "bash, zsh, fish, powershell, cmd, emacs or tcsh (default: from $SHELL)")
    .option("-u, --unset", "print the commands that unset the variables (takes no host name)")
    .option("--no-proxy", "add the host's address to NO_PROXY (with -u: unset NO_PROXY too)")
    .option("--swarm", "docker-machine's Swarm config: refused, dinv hosts have no Swarm")
    .option("--testcontainers", "also what Testcontainers needs (host override, Ryuk's socket)")
    .action(async (name: string | undefined, opts: EnvOptions) => {
      if (opts.swarm) throw noSwarm();
      // docker-machine's own message and rule (commands/env.go).
      if (opts.unset && name !== undefined)
        throw new DinvError("Expected no machine name when the -u flag is present");
      if (!opts.unset && name === undefined)
        throw new DinvError("missing host name", { hint: "usage: dinv env NAME (or dinv env -u)" });
      const fmt = await import("../format/shell-env.js");
      const shell = opts.shell ? fmt.parseShell(opts.shell) : fmt.detectShell(process.env);
      const commandHint = fmt.hintCommandLine(["dinv", ...process.argv.slice(2)]);
      // docker-machine picks no_proxy when it is set in lower case, else NO_PROXY.
      const noProxyName = process.env.no_proxy ? "no_proxy" : "NO_PROXY";
      if (opts.unset) {
        const names = [
          ...ENV_NAMES,
          ...(opts.proxy === false ? [noProxyName] : []),
          ...(opts.testcontainers ? TESTCONTAINERS_NAMES : []),
        ];
        out(fmt.formatUnset(names, shell, { commandHint }));
        return;
      }
      const host = await usableHost(name as string);
      const { hostUrl } = await import("../../host/connection.js");
      const vars: Array<[string, string]> = [
        ["DOCKER_TLS_VERIFY", "1"],
        ["DOCKER_HOST", hostUrl(host.config)],
        ["DOCKER_CERT_PATH", host.dir],
        ["DOCKER_MACHINE_NAME", host.config.name],
      ];
      if (opts.proxy === false)
        vars.push([noProxyName, fmt.noProxyValue(process.env[noProxyName], host.config.network.address)]);
      if (opts.testcontainers) {
        vars.push(
          ["TESTCONTAINERS_HOST_OVERRIDE", host.config.network.address],
          ["TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE", "/var/run/docker.sock"],
        );
        // Only the TLS port is published on that address; the inner engine publishes
        // containers' ports on the host container's own interfaces.
        if (host.config.network.mode === "publish") {
          process.stderr.write(
            `warning: host "${host.config.name}" publishes only its TLS port on ${host.config.network.address}: Testcontainers will not reach its containers' ports there; a host created with --network NET is reached at its own address\n`,
          );
        }
      }
      out(fmt.formatEnv(vars, shell, { commandHint }));
    });

  program
    .command("inspect")
    .description("print the host's configuration as JSON, or through a Go template")
    .argument("<name>")
    .option(
      "-f, --format <template>",
      "Go template, e.g. '{{.DriverName}}', '{{.Driver.IPAddress}}', '{{json .HostOptions.AuthOptions}}' or '{{.Health.StorageDriver}}'",
    )
    .option("-t, --timeout <seconds>", "how long to wait for a running host's engine (Health)", seconds, 10)
    .action(async (name: string, opts: { format?: string; timeout: number }) => {
      const store = await openStore();
      const config = store.load(name);
      const { inspectView } = await import("../format/machine-view.js");
      // The engine is asked only when the output shows its health (all of it, or a template naming it).
      const wantsHealth = opts.format === undefined || /\.Health\b/.test(opts.format);
      let health: Record<string, unknown> | undefined;
      if (wantsHealth) {
        const { healthIfAnswering } = await import("../../host/health.js");
        const found = await healthIfAnswering({ config, dir: store.hostDir(name) }, opts.timeout * 1000);
        if (found) health = (await import("../format/health.js")).healthView(found);
      }
      const view = inspectView(
        config,
        { root: store.layout.root, certsDir: store.layout.certsDir, hostDir: store.hostDir(name) },
        health,
      );
      if (!opts.format) {
        out(JSON.stringify(view, null, 2));
        return;
      }
      const { compileTemplate } = await import("../format/template.js");
      out(compileTemplate(opts.format)(view));
    });

  program
    .command("active")
    .description("print the running host whose URL is DOCKER_HOST")
    .option("-t, --timeout <seconds>", "how long to wait for the host's endpoint", seconds, 10)
    .action(async (opts: { timeout: number }) => {
      const dockerHost = process.env.DOCKER_HOST;
      const s = await openStore();
      const { hostUrl } = await import("../../host/connection.js");
      const match = dockerHost
        ? s.list().find((h) => h.config && hostUrl(h.config) === dockerHost)
        : undefined;
      // As docker-machine: the active host is the one DOCKER_HOST names, if it runs.
      const { hostState } = await import("../../host/state.js");
      const running =
        match?.config !== undefined &&
        (await hostState({ config: match.config, dir: match.dir }, opts.timeout * 1000)).state === "Running";
      if (!match || !running)
        throw new DinvError("No active host found", {
          hint: match
            ? `"${match.name}" is not running`
            : "DOCKER_HOST names no dinv host; run `eval $(dinv env NAME)`",
        });
      out(match.name);
    });

  program
    .command("version")
    .description("show dinv's version, or with a host name its engine's")
    .argument("[name]")
    .action(async (name?: string) => {
      const { versionLine } = await import("../version.js");
      if (!name) {
        out(versionLine());
        return;
      }
      const host = await runningHost(name);
      const { hostEngineVersion } = await import("../../host/state.js");
      out((await hostEngineVersion(host)) ?? "unknown");
    });
}
