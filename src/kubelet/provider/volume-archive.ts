/**
 * Volume files as a tar archive for the engine's archive API (PUT at "/", since a path that
 * does not exist yet is refused), laid out as the kubelet's atomic writer does:
 *   <mount>/..<generation>/<files>   one directory per delivery
 *   <mount>/..data -> ..<generation>  switched to the newest one
 *   <mount>/<name> -> ..data/<name>   one link per top-level entry
 * so readers see either the old or the new set, and a key removed from the source disappears
 * (its link dangles). The engine cannot delete files, so a superseded generation's files are
 * overwritten with nothing: old secret values do not linger. A subPath mount gets the plain
 * file (or directory) instead, written once, as the kubelet does not update subPath mounts.
 */
import { createHash } from "node:crypto";
import { pack } from "tar-stream";
import type { VolumeFile } from "./volume-files.js";

interface Entry {
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  body?: Buffer;
  linkname?: string;
}

function relative(mountPath: string): string {
  return mountPath.replace(/^\/+/, "").replace(/\/+$/, "");
}

function directories(root: string, paths: string[]): Entry[] {
  const dirs = new Set<string>();
  for (const path of paths) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(`${root}/${parts.slice(0, i).join("/")}`);
  }
  return [...dirs].sort().map((name) => ({ name: `${name}/`, type: "directory" as const, mode: 0o755 }));
}

/** A digest of the files' paths, modes and contents, to tell whether a volume changed. */
export function filesDigest(files: VolumeFile[]): string {
  const hash = createHash("sha256");
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    hash.update(`${f.path}\0${f.mode}\0${f.data.length}\0`);
    hash.update(f.data);
  }
  return hash.digest("hex");
}

/** A generation name as the atomic writer makes them: ..2026_01_01_00_00_00.123456789 */
export function generationName(now: Date = new Date(), counter = 0): string {
  const iso = now.toISOString();
  return `..${iso.slice(0, 19).replace(/[-T:]/g, "_")}.${iso.slice(20, 23)}${String(counter).padStart(6, "0")}`;
}

export interface Superseded {
  generation: string;
  paths: string[];
}

export function atomicEntries(
  mountPath: string,
  files: VolumeFile[],
  generation: string,
  superseded?: Superseded,
): Entry[] {
  const root = relative(mountPath);
  const gen = `${root}/${generation}`;
  const entries: Entry[] = [
    { name: `${root}/`, type: "directory", mode: 0o755 },
    { name: `${gen}/`, type: "directory", mode: 0o755 },
  ];
  entries.push(
    ...directories(
      gen,
      files.map((f) => f.path),
    ),
  );
  for (const f of files) entries.push({ name: `${gen}/${f.path}`, type: "file", mode: f.mode, body: f.data });
  entries.push({ name: `${root}/..data`, type: "symlink", mode: 0o777, linkname: generation });
  const tops = new Set(files.map((f) => f.path.split("/")[0] as string));
  for (const top of [...tops].sort())
    entries.push({ name: `${root}/${top}`, type: "symlink", mode: 0o777, linkname: `..data/${top}` });
  if (superseded && superseded.generation !== generation) {
    for (const path of superseded.paths)
      entries.push({
        name: `${root}/${superseded.generation}/${path}`,
        type: "file",
        mode: 0o600,
        body: Buffer.alloc(0),
      });
  }
  return entries;
}

/** A subPath mount: the file at subPath (or the files below it) placed at the mount path. */
export function subPathEntries(mountPath: string, files: VolumeFile[], subPath: string): Entry[] {
  const root = relative(mountPath);
  const exact = files.find((f) => f.path === subPath);
  if (exact) return [{ name: root, type: "file", mode: exact.mode, body: exact.data }];
  const below = files
    .filter((f) => f.path.startsWith(`${subPath}/`))
    .map((f) => ({ ...f, path: f.path.slice(subPath.length + 1) }));
  return [
    { name: `${root}/`, type: "directory", mode: 0o755 },
    ...directories(
      root,
      below.map((f) => f.path),
    ),
    ...below.map((f) => ({ name: `${root}/${f.path}`, type: "file" as const, mode: f.mode, body: f.data })),
  ];
}

export async function toTar(entries: Entry[], mtime: Date = new Date()): Promise<Buffer> {
  const archive = pack();
  for (const e of entries) {
    const header = { name: e.name, mode: e.mode, uid: 0, gid: 0, mtime };
    if (e.type === "file") archive.entry({ ...header, type: "file" }, e.body ?? Buffer.alloc(0));
    else if (e.type === "symlink") archive.entry({ ...header, type: "symlink", linkname: e.linkname ?? "" });
    else archive.entry({ ...header, type: "directory" });
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
