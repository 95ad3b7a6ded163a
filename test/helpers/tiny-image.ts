/**
 * A tiny image for tests, since no registry is reachable: dash, sleep, cat and the C
 * library taken from this Debian machine, as a root filesystem tar for `docker import`.
 */
import { readFileSync, realpathSync } from "node:fs";
import { pack } from "tar-stream";

const FILES: Array<[string, string]> = [
  ["/bin/dash", "bin/sh"],
  ["/usr/bin/sleep", "bin/sleep"],
  ["/bin/cat", "bin/cat"],
  ["/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"],
  ["/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"],
];

export async function tinyRootfsTar(): Promise<Buffer> {
  const archive = pack();
  for (const dir of ["bin/", "lib/", "lib/x86_64-linux-gnu/", "lib64/", "tmp/"]) {
    archive.entry({ name: dir, type: "directory", mode: dir === "tmp/" ? 0o1777 : 0o755 });
  }
  for (const [source, target] of FILES) {
    archive.entry({ name: target, mode: 0o755 }, readFileSync(realpathSync(source)));
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
