import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { addEndpointOptions, collect, endpointFlags } from "../options.js";
import { openStore } from "../store.js";
import { out, stderrProgress } from "../output.js";

/** dinv image check: whether an image keeps the host image contract (docs/host-image.md). */
export function defineImage(program: Command): void {
  const image = program
    .command("image")
    .description("host images: build your own from a base, check one against the contract");
  addEndpointOptions(
    image
      .command("build")
      .description("build a customised host image offline: Debian packages and local files on a base")
      .option("--base <image>", "the image to start from", "dinv/host:latest")
      .option(
        "--apt <package>",
        "a Debian package to install, resolved by this machine's apt (repeatable)",
        collect,
        [],
      )
      .option(
        "--copy <src:dest>",
        "a local file or folder to put at DEST in the image (repeatable)",
        collect,
        [],
      )
      .option("--tag <ref>", "the new image's name", "dinv/host-custom:latest"),
  ).action(async (opts: Record<string, unknown>) => {
    const { buildImage } = await import("../../host/image-build.js");
    const { join } = await import("node:path");
    const store = await openStore();
    const started = Date.now();
    const tag = opts.tag as string;
    const { packages } = await buildImage(
      {
        base: opts.base as string,
        tag,
        apt: opts.apt as string[],
        copies: opts.copy as string[],
        endpoint: endpointFlags(opts),
        debCache: process.env.DINV_DEB_CACHE ?? join(store.layout.root, "cache", "debs"),
      },
      stderrProgress(),
    );
    out(
      `Built ${tag} from ${opts.base as string} (${packages} packages added) in ${((Date.now() - started) / 1000).toFixed(1)}s.`,
    );
    out(`Check it with: dinv image check ${tag}`);
  });
  addEndpointOptions(
    image
      .command("check")
      .description("check that IMAGE keeps the host image contract, by its config and by running it")
      .argument("<image>"),
  ).action(async (ref: string, opts: Record<string, unknown>) => {
    const { checkImage } = await import("../../host/image-check.js");
    const results = await checkImage(ref, endpointFlags(opts), stderrProgress());
    for (const r of results) out(`${r.ok ? "ok  " : "FAIL"} ${r.check}${r.detail ? ` (${r.detail})` : ""}`);
    const failed = results.filter((r) => !r.ok);
    if (failed.length) {
      throw new DinvError(`${ref} breaks the host image contract: ${failed.map((r) => r.check).join("; ")}`, {
        hint: "see docs/host-image.md",
      });
    }
    out(`${ref} keeps the host image contract.`);
  });
}
