import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { seconds } from "../options.js";
import { out, stderrProgress } from "../output.js";
import { openStore } from "../store.js";

export function defineDay2(program: Command): void {
  program
    .command("upgrade")
    .description("move hosts to the newest host image, keeping their cache, certificates, options and state")
    .argument("<names...>")
    .option("--image <ref>", "the image to move to (default: the personality's newest)")
    .option("--timeout <seconds>", "how long to wait for each host", seconds, 60)
    .action(async (names: string[], opts: { image?: string; timeout: number }) => {
      const { upgradeHost } = await import("../../host/upgrade.js");
      const s = await openStore();
      // One after another: upgrades are rare, and their output should read in order.
      for (const name of names) {
        const result = await upgradeHost(
          s,
          name,
          { ...(opts.image ? { image: opts.image } : {}), timeoutSeconds: opts.timeout },
          stderrProgress(),
        );
        out(result.upgraded ? `Upgraded "${name}" to ${result.to}.` : `"${name}" already runs ${result.to}.`);
      }
    });

  program
    .command("set")
    .description(
      "resize a host (CPUs, memory, cache size), keeping its images, containers, certificates and state",
    )
    .argument("<name>")
    .option("--cpus <n>", "CPUs for the host (a VCH: its containerVM's vCPUs)")
    .option("--memory <size>", "memory for the host, e.g. 4g")
    .option("--cache-size <size>", "the image cache's size (a VCH: the cache is copied into a larger volume)")
    .option("--timeout <seconds>", "how long to wait for the host", seconds, 60)
    .action(
      async (name: string, opts: { cpus?: string; memory?: string; cacheSize?: string; timeout: number }) => {
        const { parseCpus, parseSize } = await import("../../host/resources.js");
        const { resizeHost } = await import("../../host/resize.js");
        const change = {
          ...(opts.cpus !== undefined ? { cpus: parseCpus(opts.cpus) } : {}),
          ...(opts.memory !== undefined ? { memoryBytes: parseSize(opts.memory, "--memory") } : {}),
          ...(opts.cacheSize !== undefined ? { cacheBytes: parseSize(opts.cacheSize, "--cache-size") } : {}),
        };
        const result = await resizeHost(
          await openStore(),
          name,
          change,
          { timeoutSeconds: opts.timeout },
          stderrProgress(),
        );
        out(result.changed ? `Resized "${name}".` : `"${name}" already has these resources.`);
      },
    );

  program
    .command("provision")
    .description(
      "provision hosts again: new server certificate, engine options and docker context; containers and cache stay",
    )
    .argument("<names...>")
    .action(async (names: string[]) => {
      const { reprovisionHost } = await import("../../host/regenerate.js");
      const s = await openStore();
      for (const name of names) {
        await reprovisionHost(s, name, stderrProgress());
        out(`Provisioned "${name}".`);
      }
    });

  program
    .command("mount")
    .description("docker-machine's SSHFS mount: not supported (dinv hosts have no SSH)")
    .argument("[args...]")
    .option("-u, --unmount", "unmount instead of mount")
    .action(() => {
      throw new DinvError(
        "dinv mount is not supported: it mounts a host's folder over SSHFS, and dinv hosts have no SSH",
        {
          hint: "copy files with `dinv scp -r`, or give the host's containers a volume",
        },
      );
    });

  program
    .command("regenerate-certs")
    .description(
      "issue new server certificates (every SAN kept, the current address picked up); hosts keep their containers",
    )
    .argument("[names...]")
    .option("-f, --force", "do not ask before renewing the CA")
    .option("--client-certs", "also renew the CA and client certificate, then every host's certificates")
    .action(async (names: string[], opts: { force?: boolean; clientCerts?: boolean }) => {
      const s = await openStore();
      const regenerate = await import("../../host/regenerate.js");
      if (opts.clientCerts) {
        if (!opts.force) await confirmCaRenewal();
        const { renewed, failed } = await regenerate.renewStoreCertificates(s, stderrProgress());
        out(`Renewed the CA and client certificate; re-issued certificates of ${renewed.length} host(s).`);
        if (failed.length)
          throw new DinvError(`could not re-issue certificates of: ${failed.join("; ")}`, {
            hint: "run `dinv regenerate-certs NAME` for each once it is reachable",
          });
        return;
      }
      if (names.length === 0)
        throw new DinvError("name the hosts whose certificates to regenerate", {
          hint: "or renew everything with --client-certs",
        });
      for (const name of names) {
        const sans = await regenerate.regenerateHostCertificates(s, name, stderrProgress());
        out(`Regenerated the certificate of "${name}" (${sans.join(", ")}).`);
      }
    });
}

async function confirmCaRenewal(): Promise<void> {
  const warning =
    "This renews the CA: every host gets new certificates, and every client still using the old CA or client certificate (other workstations, CI) stops working";
  if (!process.stdin.isTTY)
    throw new DinvError(`${warning}; refusing without confirmation`, { hint: "pass -f to go ahead" });
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${warning}. Continue? (y/n): `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new DinvError("cancelled");
}
