import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { formatTable, out, stderrProgress } from "../output.js";
import { openStore } from "../store.js";

/** Integers as given; the host layer says what range it takes. */
const integer = (value: string) => (/^\d+$/.test(value) ? Number(value) : Number.NaN);

export function defineShare(program: Command): void {
  const share = program
    .command("share")
    .description(
      "give one person access to a host with a certificate of their own (short-lived; `dinv revoke` ends it)",
    )
    .argument("<name>")
    .option("--to <person>", "who gets access (the certificate's CN), e.g. alice@example.com")
    .option("--days <n>", "how long the access lasts", integer, 7)
    .option("-o, --output <file>", "the bundle to write (mode 0600: it holds the person's key)")
    .action(async (name: string, opts: { to?: string; days: number; output?: string }) => {
      // Not required options: commander would ask for them in `share ls` too.
      if (!opts.to || !opts.output)
        throw new DinvError(
          `dinv share needs ${opts.to ? "" : "--to PERSON "}${opts.output ? "" : "-o FILE"}`.trim(),
          {
            hint: `e.g. dinv share ${name} --to alice -o alice.tgz`,
          },
        );
      const { shareHost } = await import("../../host/share.js");
      const { share: made, url } = await shareHost(
        await openStore(),
        name,
        { person: opts.to, days: opts.days, file: opts.output },
        stderrProgress(),
      );
      out(
        `Shared "${name}" (${url}) with ${made.person} until ${made.notAfter} in ${opts.output}; end it with \`dinv revoke ${name} ${made.person}\`.`,
      );
    });
  share
    .command("ls")
    .description("list a host's shares: person, expiry, state")
    .argument("<name>")
    .action(async (name: string) => {
      const { listShares } = await import("../../host/share.js");
      const rows = listShares(await openStore(), name);
      out(
        formatTable(
          ["ID", "PERSON", "EXPIRES", "STATE"],
          rows.map((r) => [r.id, r.person, r.expires, r.state]),
        ),
      );
    });

  program
    .command("revoke")
    .description(
      "end a person's access to a host: their certificate is refused, everyone else's keeps working",
    )
    .argument("<name>")
    .argument("<person>", "the person (or share id) as `dinv share ls` shows it")
    .action(async (name: string, person: string) => {
      const { revokeShare } = await import("../../host/share.js");
      const ended = await revokeShare(await openStore(), name, person, stderrProgress());
      out(`Revoked ${ended.length} share(s) of "${name}" for ${person}.`);
    });
}
