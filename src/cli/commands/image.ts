import type { Command } from "commander";
import { DinvError } from "../../errors.js";
import { addEndpointOptions, endpointFlags } from "../options.js";
import { out, stderrProgress } from "../output.js";

/** dinv image check: whether an image keeps the host image contract (docs/host-image.md). */
export function defineImage(program: Command): void {
  const image = program.command("image").description("host images: check one against the contract");
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
