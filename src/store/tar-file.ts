import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { pack } from "tar-stream";
import { storeFsError, tempName } from "./secure-fs.js";

export interface TarEntry {
  name: string;
  body: Buffer | string;
  mode: number;
}

/**
 * Write a gzipped tar of private material (0600, never over an existing file), beside the target
 * and renamed: a failure (a full disk) leaves no half archive behind.
 */
export async function writePrivateTarGz(file: string, entries: TarEntry[]): Promise<void> {
  const archive = pack();
  for (const entry of entries)
    archive.entry({ name: entry.name, mode: entry.mode, mtime: new Date() }, entry.body);
  archive.finalize();
  const temp = tempName(file);
  try {
    await pipeline(archive, createGzip(), createWriteStream(temp, { mode: 0o600, flags: "wx" }));
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw storeFsError(err, "write", file, { unchanged: true });
  }
}
