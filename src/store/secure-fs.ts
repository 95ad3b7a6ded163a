import { chmodSync, mkdirSync, readFileSync, statSync } from "node:fs";
import writeFileAtomic from "write-file-atomic";
import { DinvError } from "../errors.js";

/** A file or folder of the store is unsafe (permissions) or unreadable. */
export class StoreError extends DinvError {}

/** Create a folder (and parents) readable by the owner only; tighten it if it exists. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o700);
}

/** Atomic write (temp file + fsync + rename): readers see the old or the new file, never half. */
export async function writeFileSafely(path: string, data: string | Buffer, mode: number): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new StoreError(`cannot write ${path} (${code})`, {
      cause: err,
      hint: "check free space and permissions; nothing was changed",
    });
  }
}

export const writePrivateFile = (path: string, data: string | Buffer) => writeFileSafely(path, data, 0o600);
export const writePublicFile = (path: string, data: string | Buffer) => writeFileSafely(path, data, 0o644);

/** Read a secret, refusing it when others can read it (as ssh does with keys). */
export function readPrivateFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new StoreError(`missing key file ${path}`, {
      cause: err,
      hint: "restore it, or regenerate the certificates",
    });
  }
  if ((mode & 0o077) !== 0) {
    throw new StoreError(`key file ${path} is accessible by others (mode ${(mode & 0o777).toString(8)})`, {
      hint: `run: chmod 600 ${path}`,
    });
  }
  return readFileSync(path, "utf8");
}

export function readPublicFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new StoreError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
      cause: err,
      hint: "restore it, or regenerate the certificates",
    });
  }
}
