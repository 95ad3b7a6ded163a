/**
 * The swarm e2e's service image, made here since no registry is reachable: test/fixtures/swarm/hello.c
 * built static with the machine's gcc, alone in a root filesystem tar for `docker import`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { REPO_ROOT } from "./cli.js";

export const HELLO_PORT = 8080;

export async function helloRootfsTar(): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), "dinv-hello-"));
  try {
    const binary = join(dir, "hello");
    execFileSync("gcc", [
      "-static",
      "-Os",
      "-s",
      "-o",
      binary,
      join(REPO_ROOT, "test", "fixtures", "swarm", "hello.c"),
    ]);
    const archive = pack();
    archive.entry({ name: "tmp/", type: "directory", mode: 0o1777 });
    archive.entry({ name: "hello", mode: 0o755 }, readFileSync(binary));
    archive.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
