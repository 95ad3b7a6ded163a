import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DinvError } from "../errors.js";

/** A file or folder of the store is unsafe (permissions), unreadable or cannot be written. */
export class StoreError extends DinvError {}

/** What a file-system error code means to a user, and what to do about it. */
const FS_CAUSES: Record<string, { says: string; fix: string }> = {
  ENOSPC: { says: "no space left on the device", fix: "free some space and try again" },
  EDQUOT: { says: "disk quota exceeded", fix: "free some space and try again" },
  EROFS: {
    says: "the file system is read-only",
    fix: "make the store writable (or move it with DINV_STORAGE_PATH)",
  },
  EACCES: { says: "permission denied", fix: "check the owner and permissions of the store" },
  EPERM: { says: "operation not permitted", fix: "check the owner and permissions of the store" },
  ENOENT: { says: "no such file or folder", fix: "check that the path and its folder exist" },
  ENOTDIR: { says: "a file stands where a folder should be", fix: "move that file out of the store" },
  EMFILE: { says: "too many open files", fix: "raise the open-file limit (ulimit -n)" },
};

/**
 * Turn a file-system failure in the store into a StoreError naming the path, the cause in words
 * and a fix; `fix` overrides the generic one, `unchanged` says that nothing was modified.
 */
export function storeFsError(
  err: unknown,
  action: string,
  path: string,
  options: { fix?: string; unchanged?: boolean } = {},
): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const known = FS_CAUSES[code];
  const says = known ? `${known.says} (${code})` : code || (err as Error).message;
  const fix = options.fix ?? known?.fix ?? "check the store's folder";
  return new StoreError(`cannot ${action} ${path}: ${says}`, {
    cause: err,
    hint: options.unchanged ? `${fix}; nothing was changed` : fix,
  });
}

/** Create a folder (and parents) readable by the owner only; tighten it if it exists. */
export function ensurePrivateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o700);
  } catch (err) {
    throw storeFsError(err, "create the folder", path);
  }
}

export interface FileToWrite {
  path: string;
  data: string | Buffer;
  mode: number;
}

/** A temporary name beside `path`, hidden (dot) so listings and exports skip it. */
export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString("hex")}`);
}

async function writeTemp(path: string, data: string | Buffer, mode: number): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Write files so that readers see either all the old ones or all the new ones: every file goes
 * to a temporary sibling first (written and fsynced), and only when all are complete are they
 * renamed into place. A failure (a full disk, say) removes the temporary files and leaves the
 * old ones untouched: a certificate never ends up beside a key it does not belong to.
 */
export async function writeFilesAtomically(files: FileToWrite[]): Promise<void> {
  const temps: string[] = [];
  let current = files[0]?.path ?? "";
  try {
    for (const file of files) {
      current = file.path;
      const temp = tempName(file.path);
      temps.push(temp);
      await writeTemp(temp, file.data, file.mode);
    }
    for (const [i, file] of files.entries()) {
      current = file.path;
      await rename(temps[i] as string, file.path);
    }
  } catch (err) {
    await Promise.all(temps.map((temp) => unlink(temp).catch(() => undefined)));
    throw storeFsError(err, "write", current, { unchanged: true });
  }
}

export const writeFileSafely = (path: string, data: string | Buffer, mode: number) =>
  writeFilesAtomically([{ path, data, mode }]);
export const writePrivateFile = (path: string, data: string | Buffer) => writeFileSafely(path, data, 0o600);
export const writePublicFile = (path: string, data: string | Buffer) => writeFileSafely(path, data, 0o644);
export const privateFile = (path: string, data: string | Buffer): FileToWrite => ({
  path,
  data,
  mode: 0o600,
});
export const publicFile = (path: string, data: string | Buffer): FileToWrite => ({ path, data, mode: 0o644 });

const DEFAULT_KEY_FIX = "restore it, or regenerate the certificates (`dinv regenerate-certs`)";

/**
 * Read a secret, refusing it (as ssh does) when others can read it, or when others can get at
 * the folder holding it; `fix` says how to get a missing key back.
 */
export function readPrivateFile(path: string, fix = DEFAULT_KEY_FIX): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new StoreError(`missing key file ${path}`, { cause: err, hint: fix });
    throw storeFsError(err, "read the key file", path, { fix });
  }
  if ((mode & 0o077) !== 0) {
    throw new StoreError(`key file ${path} is accessible by others (mode ${(mode & 0o777).toString(8)})`, {
      hint: `run: chmod 600 ${path}`,
    });
  }
  const folder = dirname(path);
  const folderMode = statSync(folder).mode & 0o777;
  if ((folderMode & 0o077) !== 0) {
    throw new StoreError(
      `folder ${folder} holding key ${basename(path)} is accessible by others (mode ${folderMode.toString(8)})`,
      { hint: `run: chmod 700 ${folder}` },
    );
  }
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw storeFsError(err, "read the key file", path, { fix });
  }
}

export function readPublicFile(path: string, fix = DEFAULT_KEY_FIX): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw storeFsError(err, "read", path, { fix });
  }
}
