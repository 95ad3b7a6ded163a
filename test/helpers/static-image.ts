/**
 * Images made of one static program, since no registry is reachable: a C fixture built with the
 * machine's gcc, alone in a root filesystem tar, imported into the engine with its ENTRYPOINT.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pack } from "tar-stream";
import type { EngineClient } from "../../src/engine/client.js";
import { REPO_ROOT } from "./cli.js";

/** `source` (relative to the repository) compiled static; the binary's bytes. */
export function buildStatic(source: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "dinv-static-"));
  try {
    const binary = join(dir, "program");
    execFileSync("gcc", ["-static", "-Os", "-s", "-Wall", "-o", binary, join(REPO_ROOT, source)]);
    return readFileSync(binary);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A root filesystem holding only `/<name>` (and /tmp), as a tar for `docker import`. */
export async function singleBinaryRootfs(name: string, binary: Buffer): Promise<Buffer> {
  const archive = pack();
  archive.entry({ name: "tmp/", type: "directory", mode: 0o1777 });
  archive.entry({ name, mode: 0o755 }, binary);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Import the C program `source` as image `ref`, its binary at `/<basename without .c>` and its
 * ENTRYPOINT (arguments come from the container's Cmd, a pod's `args`). Remove it with removeImages.
 */
export async function importStaticImage(engine: EngineClient, source: string, ref: string): Promise<void> {
  const name = basename(source, ".c");
  const tar = await singleBinaryRootfs(name, buildStatic(source));
  const [repo, tag = "latest"] = ref.split(/:(?=[^/:]+$)/);
  const changes = [`ENTRYPOINT ["/${name}"]`];
  const stream = (await engine.docker.importImage(Readable.from([tar]), {
    repo,
    tag,
    changes,
  })) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) =>
    engine.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
  );
}
