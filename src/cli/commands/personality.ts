import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { formatTable, out } from "../output.js";
import { openStore } from "../store.js";

/** dinv personality add|ls|rm: what hosts can run besides the built-in personalities (docs/personalities.md). */
export function definePersonality(program: Command): void {
  const personality = program
    .command("personality")
    .description("personalities: what a host runs (built-in, or added from a folder or an npm package)");

  personality
    .command("add")
    .description("add the personality in FOLDER (or an npm package) holding a dinv-personality.json")
    .argument("<folder|package>")
    .action(async (source: string) => {
      const { addPersonality } = await import("../../personalities/catalog.js");
      const record = await addPersonality((await openStore()).layout.root, source);
      out(
        `Added personality "${record.name}". Create a host with: dinv create --personality ${record.name} NAME`,
      );
    });

  personality
    .command("ls")
    .description("list the personalities")
    .option("-q, --quiet", "names only")
    .action(async (opts: { quiet?: boolean }) => {
      const { listPersonalities } = await import("../../personalities/catalog.js");
      const listed = listPersonalities((await openStore()).layout.root);
      if (opts.quiet) {
        for (const p of listed) out(p.name);
        return;
      }
      out(
        formatTable(
          ["NAME", "IMAGE", "SERVICE", "SOURCE", "DESCRIPTION"],
          listed.map((p) =>
            p.manifest
              ? [
                  p.name,
                  p.manifest.image,
                  `${p.manifest.service.port}/${p.manifest.service.protocol}`,
                  p.source,
                  p.manifest.description,
                ]
              : [p.name, "-", "-", p.source, `unusable: ${p.error ?? ""}`],
          ),
        ),
      );
    });

  personality
    .command("rm")
    .description("remove an added personality (its hosts can still be removed with `dinv rm`)")
    .argument("<name>")
    .option("-f, --force", "remove it even while hosts use it")
    .action(async (name: string, opts: { force?: boolean }) => {
      const { removePersonality } = await import("../../personalities/catalog.js");
      const store = await openStore();
      const users = store
        .list()
        .filter((h) => h.config?.personality === name)
        .map((h) => h.name);
      if (users.length && !opts.force) {
        throw new DinvError(`personality "${name}" is used by ${users.join(", ")}`, {
          hint: "remove those hosts first, or pass -f (they can still be removed with `dinv rm`)",
        });
      }
      removePersonality(store.layout.root, name);
      out(`Removed personality "${name}".`);
    });
}
