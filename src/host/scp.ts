/**
 * `dinv scp`: files between this machine and hosts, or between two hosts, through the Docker
 * archive API of each host's container (no SSH, no scp binary: docker-machine needed both).
 * Semantics follow scp's: a source folder needs `recursive`; an existing folder as the
 * destination receives the source under its own name, otherwise the destination names the
 * copy (its parent folder must exist). Permission bits are kept both ways; files written
 * into a host belong to root, files written here to the current user.
 */
import {
  chmodSync,
  createReadStream,
  createWriteStream,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  type Stats,
} from "node:fs";
import * as localPath from "node:path";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { finished } from "node:stream/promises";
import type { Readable } from "node:stream";
import { extract, pack, type Extract, type Header, type Pack } from "tar-stream";
import { call, describeEngineError } from "../engine/client.js";
import { DinvError } from "../errors.js";
import type { HostStore } from "../store/host-store.js";
import { openHost, type OpenHost } from "./open.js";

/** A path here (no host) or in a host's container. */
export interface Location {
  host?: string;
  path: string;
}

export class ScpError extends DinvError {}

type HeaderArgument = Partial<Header> & Pick<Header, "name">;

type Kind = "directory" | "file";

/** Where relative (and empty) host paths start: the home of root, the user inside a host. */
const HOST_HOME = "/root";

function show(location: Location): string {
  return location.host === undefined ? location.path : `${location.host}:${location.path}`;
}

const missing = (location: Location) => new ScpError(`${show(location)}: No such file or directory`);

/** One end of the copy: a local path, or a path in an opened host. */
interface End {
  location: Location;
  path: string;
  host?: OpenHost;
}

function openEnd(store: HostStore, location: Location): End {
  if (location.host === undefined) return { location, path: location.path };
  const path = localPath.posix.resolve(HOST_HOME, location.path || ".");
  // An idle limit, not a total one: large copies take as long as they take.
  return { location, path, host: openHost(store, location.host, 60_000) };
}

/** Path functions for the end's side: POSIX in a host, this platform's here. */
const pathsOf = (end: End) => (end.host ? localPath.posix : localPath);

function kindOfStats(stats: Stats): Kind | "other" {
  return stats.isDirectory() ? "directory" : stats.isFile() ? "file" : "other";
}

/** Go's os.FileMode type bits in the engine's path stat: dir 31, symlink 27, others irregular. */
const GO_MODE_DIR = 31;
const GO_MODE_SYMLINK = 27;
const GO_MODE_IRREGULAR = [26, 25, 24, 21, 19];
const bit = (mode: number, n: number) => Math.floor(mode / 2 ** n) % 2 === 1;

interface PathKind {
  kind: Kind | "other";
  /** The path itself, or where it leads when it is a symbolic link (followed, as scp does). */
  path: string;
}

async function kindOf(end: End, path = end.path): Promise<PathKind | undefined> {
  if (!end.host) {
    try {
      return { kind: kindOfStats(statSync(path)), path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ScpError(`${path}: ${(err as Error).message}`);
    }
  }
  const container = end.host.client.docker.getContainer(end.host.config.container.name);
  let headers: Record<string, string | string[] | undefined>;
  try {
    const response = (await container.infoArchive({ path })) as IncomingMessage;
    headers = response.headers;
    // dockerode hands over the HEAD response as a stream: left open, it holds its socket
    // (and this process) until the idle timeout.
    response.destroy();
  } catch (err) {
    // A HEAD answer has no body to tell a missing path from a missing container: look.
    const missingPath =
      (err as { statusCode?: number }).statusCode === 404 && (await end.host.driver.inspect()) !== undefined;
    if (missingPath) return undefined;
    throw describeEngineError(err, end.host.client.endpoint);
  }
  const header = headers["x-docker-container-path-stat"];
  if (typeof header !== "string") return { kind: "other", path };
  const stat = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as {
    mode: number;
    linkTarget?: string;
  };
  if (bit(stat.mode, GO_MODE_SYMLINK) && stat.linkTarget && stat.linkTarget !== path)
    return kindOf(end, stat.linkTarget);
  if (bit(stat.mode, GO_MODE_DIR)) return { kind: "directory", path };
  const irregular = bit(stat.mode, GO_MODE_SYMLINK) || GO_MODE_IRREGULAR.some((n) => bit(stat.mode, n));
  return { kind: irregular ? "other" : "file", path };
}

/** Replace an entry's first path segment (the copied item's own name) and refuse escapes. */
function renamed(name: string, to: string): string {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) throw new ScpError(`refusing archive entry "${name}"`);
  parts[0] = to;
  return parts.join("/");
}

type Sink = ReturnType<Pack["entry"]>;

/** Write chunks into a tar entry with back-pressure. */
async function fill(sink: Sink, chunks: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of chunks)
    if (!sink.write(chunk as Uint8Array))
      await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
  sink.end(undefined);
}

/** Add one entry; only files have a body (tar-stream ends the others itself). */
function addEntry(archive: Pack, header: HeaderArgument, body?: AsyncIterable<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = archive.entry(header, (err) => (err ? reject(err) : resolve()));
    if (header.type === "file") fill(sink, body ?? (async function* () {})()).catch(reject);
  });
}

/** tar-stream's streams are streamx streams: Node pipes into them at run time, but the types differ. */
function feed(source: Readable, into: Extract): Extract {
  source.on("error", (err) => into.destroy(err));
  source.pipe(into as unknown as NodeJS.WritableStream);
  return into;
}

/** A local file or folder as a tar whose top entry is named `as`; symlinks inside stay links. */
function packLocal(path: string, as: string): Pack {
  const archive = pack();
  const walk = async (abs: string, name: string, stats: Stats): Promise<void> => {
    const common = { name, mode: stats.mode & 0o7777, mtime: stats.mtime, uid: 0, gid: 0 };
    if (stats.isDirectory()) {
      await addEntry(archive, { ...common, type: "directory" });
      for (const child of readdirSync(abs).sort()) {
        const childPath = localPath.join(abs, child);
        await walk(childPath, `${name}/${child}`, lstatSync(childPath));
      }
    } else if (stats.isSymbolicLink()) {
      await addEntry(archive, { ...common, type: "symlink", linkname: readlinkSync(abs) });
    } else if (stats.isFile()) {
      await addEntry(archive, { ...common, type: "file", size: stats.size }, createReadStream(abs));
    }
    // Sockets, fifos and devices are skipped, as scp skips them.
  };
  // The source itself is followed if it is a link (as scp does); links inside are kept.
  walk(path, as, statSync(path)).then(
    () => archive.finalize(),
    (err: Error) => archive.destroy(err),
  );
  return archive;
}

/** The archive with its top entry renamed to `as` (and every name checked). */
function renameArchive(source: Readable, as: string): Pack {
  const output = pack();
  const copy = async () => {
    for await (const entry of feed(source, extract())) {
      const header: HeaderArgument = { ...entry.header, name: renamed(entry.header.name, as) };
      if (header.type === "link") header.linkname = renamed(entry.header.linkname, as);
      await addEntry(output, header, entry);
      entry.resume();
    }
    output.finalize();
  };
  copy().catch((err: Error) => output.destroy(err));
  return output;
}

/** Unpack an archive into `dir`, its top entry named `as`; folder modes are applied last. */
async function extractLocal(source: Readable | Pack, dir: string, as: string): Promise<void> {
  const folders: Array<[string, number]> = [];
  const links: string[] = [];
  const input = extract();
  if (isNodeReadable(source)) feed(source, input);
  else source.pipe(input);
  for await (const entry of input) {
    const { header } = entry;
    const target = localPath.join(dir, renamed(header.name, as));
    // An entry below a link this archive made would be written wherever the link points.
    if (links.some((link) => target.startsWith(`${link}/`)))
      throw new ScpError(`refusing archive entry "${header.name}": it goes through a symbolic link`);
    const mode = header.mode & 0o7777;
    switch (header.type) {
      case "directory":
        mkdirSync(target, { recursive: true, mode: 0o700 });
        folders.push([target, mode]);
        break;
      case "file": {
        const out = createWriteStream(target, { mode: 0o600 });
        for await (const chunk of entry) if (!out.write(chunk as Uint8Array)) await once(out, "drain");
        out.end();
        await finished(out);
        chmodSync(target, mode);
        break;
      }
      case "symlink":
        rmSync(target, { force: true });
        symlinkSync(header.linkname, target);
        links.push(target);
        break;
      case "link":
        rmSync(target, { force: true });
        linkSync(localPath.join(dir, renamed(header.linkname, as)), target);
        break;
      default:
        break; // devices and fifos: skipped, as scp does
    }
    entry.resume();
  }
  // Last, and deepest first: a read-only folder must not stop its own contents being written.
  for (const [folder, mode] of folders.reverse()) chmodSync(folder, mode);
}

function isNodeReadable(stream: Readable | Pack): stream is Readable {
  return "readableFlowing" in stream;
}

async function readArchive(host: OpenHost, path: string): Promise<Readable> {
  const container = host.client.docker.getContainer(host.config.container.name);
  return (await call(host.client, () => container.getArchive({ path }))) as Readable;
}

/**
 * Copy `from` to `to` (either may be in a host; both may be, in two hosts or one).
 * A missing source, a folder without `recursive`, or a destination whose folder does not
 * exist fails with one line naming the path, before anything is written.
 */
export async function scp(
  store: HostStore,
  from: Location,
  to: Location,
  options: { recursive: boolean },
): Promise<void> {
  const source = openEnd(store, from);
  const destination = openEnd(store, to);
  const found = await kindOf(source);
  if (found === undefined) throw missing(from);
  if (found.kind === "directory" && !options.recursive)
    throw new ScpError(`${show(from)}: not a regular file`, { hint: "copy a folder with -r" });
  if (found.kind === "other") throw new ScpError(`${show(from)}: not a regular file or folder`);
  const sourceName = pathsOf(source).basename(source.path);
  if (sourceName === "") throw new ScpError(`${show(from)}: name a file or folder, not the root`);

  // scp's rule: into an existing folder under the source's name, else as the named path.
  const paths = pathsOf(destination);
  const existing = await kindOf(destination);
  let targetDir: string;
  let targetName: string;
  if (existing?.kind === "directory") {
    targetDir = existing.path;
    targetName = sourceName;
  } else {
    if (existing !== undefined && found.kind === "directory")
      throw new ScpError(`${show(to)}: Not a directory`);
    targetName = paths.basename(destination.path);
    const parent = await kindOf(destination, paths.dirname(destination.path));
    if (parent?.kind !== "directory" || targetName === "") throw missing(to);
    targetDir = parent.path;
  }

  if (!destination.host) {
    const archive = source.host
      ? await readArchive(source.host, found.path)
      : packLocal(found.path, targetName);
    await extractLocal(archive, targetDir, targetName);
    return;
  }
  const archive = source.host
    ? renameArchive(await readArchive(source.host, found.path), targetName)
    : packLocal(found.path, targetName);
  const host = destination.host;
  const container = host.client.docker.getContainer(host.config.container.name);
  await call(host.client, () =>
    container.putArchive(archive as unknown as NodeJS.ReadableStream, { path: targetDir }),
  );
}
