/**
 * `dinv image build`: a host image of your own from a base (dinv/host by default), offline:
 * Debian packages resolved and fetched by this machine's apt (apt-plan.ts), installed by dpkg
 * inside a throw-away container of the base on the endpoint, local files copied in, then
 * committed with the base's entrypoint and command. The image contract is docs/host-image.md;
 * `dinv image check` checks the result.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, join, posix, resolve } from "node:path";
import { extract, pack } from "tar-stream";
import { call, connect, type EngineClient } from "../engine/client.js";
import { ulimitsHostConfig } from "../engine/container-rights.js";
import { detectEngine } from "../engine/flavor.js";
import { chooseUlimits } from "../engine/privilege.js";
import { FrameDecoder } from "../engine/stdcopy.js";
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { DinvError } from "../errors.js";
import { planPackages, type AptPlan } from "./apt-plan.js";
import type { Progress } from "./progress.js";

export class ImageBuildError extends DinvError {}

export interface ImageBuildOptions {
  base: string;
  tag: string;
  /** Debian packages to install. */
  apt: string[];
  /** SRC:DEST pairs: a local file or folder, and where it goes in the image. */
  copies: string[];
  endpoint: EndpointFlags;
  /** Where fetched .debs are kept between builds. */
  debCache: string;
}

const WORK = "tmp/dinv-build";

interface Copy {
  source: string;
  dest: string;
}

export function parseCopy(value: string): Copy {
  const at = value.indexOf(":/");
  if (at <= 0) {
    throw new ImageBuildError(`--copy ${value}: expected SRC:DEST with an absolute DEST`, {
      hint: "e.g. --copy ./sshd.conf:/etc/ssh/sshd_config.d/dinv.conf",
    });
  }
  const source = resolve(value.slice(0, at));
  let dest = value.slice(at + 1);
  try {
    const isDir = lstatSync(source).isDirectory();
    if (dest.endsWith("/") && !isDir) dest += basename(source);
  } catch {
    throw new ImageBuildError(`--copy ${value}: ${source} does not exist`);
  }
  if (dest.split("/").includes("..")) throw new ImageBuildError(`--copy ${value}: DEST may not contain ..`);
  return { source, dest: posix.normalize(dest).replace(/\/$/, "") };
}

export async function buildImage(
  options: ImageBuildOptions,
  progress: Progress,
): Promise<{ packages: number }> {
  const copies = options.copies.map(parseCopy);
  const client = connect(resolveEndpoint(options.endpoint), { timeoutMs: 120_000 });
  progress.step(`reading ${options.base}`);
  const base = await call(client, () => client.docker.getImage(options.base).inspect()).catch(
    (err: unknown) => {
      throw new ImageBuildError(`cannot read the base image: ${(err as Error).message}`, {
        hint: "build or load the base there first (images/dinv/build-offline.sh makes dinv/host)",
      });
    },
  );
  progress.done();
  // Podman here cannot start a container with its default limits (above the host's): the
  // build container gets the limits dinv's hosts get (src/engine/privilege.ts).
  const ulimits = await chooseUlimits(client, await detectEngine(client), options.base);
  const container = await client.docker.createContainer({
    Image: options.base,
    Entrypoint: ["/bin/sh", "-c", `cd /${WORK} && . ./build.sh`],
    Cmd: [],
    User: "0",
    // No label: the image would keep it. The name says what it is if a crash leaves it behind.
    name: `dinv-image-build-${randomBytes(4).toString("hex")}`,
    HostConfig: { NetworkMode: "none", ...ulimitsHostConfig(ulimits) },
  });
  try {
    let plan: AptPlan = { debs: new Map(), steps: [] };
    if (options.apt.length) {
      progress.step(`resolving ${options.apt.join(" ")} with apt`);
      const files = await readFiles(client, container.id, ["/var/lib/dpkg/status", "/usr/lib/os-release"]);
      const codename = /^VERSION_CODENAME=(.*)$/m.exec(files.get("os-release") ?? "")?.[1] ?? "";
      plan = await planPackages(
        options.apt,
        { status: files.get("status") ?? "", codename },
        options.debCache,
      );
      progress.done(`${plan.debs.size} packages to install`);
    }
    progress.step("copying packages and files into the build container");
    await container.putArchive(await buildArchive(plan, copies), { path: "/" });
    progress.done();
    progress.step("installing (dpkg in the base image)");
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      // No TTY: the log comes as stdout/stderr frames.
      const raw = await container.logs({ stdout: true, stderr: true, tail: 8 });
      const log = new FrameDecoder()
        .push(Buffer.from(raw))
        .map((f) => f.payload.toString("utf8"))
        .join("");
      throw new ImageBuildError(
        `installing in ${options.base} failed (exit ${StatusCode}): ${log.trim().split("\n").slice(-3).join(" | ")}`,
      );
    }
    progress.done();
    progress.step(`committing ${options.tag}`);
    const { repo, tag } = splitTag(options.tag);
    await container.commit({
      repo,
      tag,
      changes: [
        `ENTRYPOINT ${JSON.stringify(base.Config.Entrypoint ?? [])}`,
        `CMD ${JSON.stringify(base.Config.Cmd ?? [])}`,
        `LABEL io.dinv.image.base=${JSON.stringify(options.base)}`,
      ],
    });
    progress.done();
    return { packages: plan.debs.size };
  } finally {
    // v: the base image declares /var/lib/docker a volume, which this container gets anonymous.
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/** repo and tag of a reference (a registry's :port is not a tag). */
function splitTag(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/")
    ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { repo: ref, tag: "latest" };
}

/** Files of a created (never started) container, by base name. */
async function readFiles(client: EngineClient, id: string, paths: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const path of paths) {
    const stream = await client.docker.getContainer(id).getArchive({ path });
    const tar = extract();
    const done = (async () => {
      for await (const entry of tar) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        found.set(basename(entry.header.name), Buffer.concat(chunks).toString("utf8"));
      }
    })();
    stream.pipe(tar);
    await done;
  }
  return found;
}

/** The build script and its inputs, rooted at "/": packages in apt's order, then the copies. */
async function buildArchive(plan: AptPlan, copies: Copy[]): Promise<Buffer> {
  const archive = pack();
  const add = (name: string, body: Buffer | string, mode = 0o644) =>
    archive.entry({ name, mode, uid: 0, gid: 0, type: "file" }, body);
  const dir = (name: string) => archive.entry({ name, mode: 0o755, uid: 0, gid: 0, type: "directory" });
  for (const d of ["tmp/", `${WORK}/`, `${WORK}/debs/`, `${WORK}/copy/`]) dir(d);
  for (const [name, file] of plan.debs) add(`${WORK}/debs/${name}.deb`, readFileSync(file));
  for (const copy of copies) addTree(archive, copy.source, `${WORK}/copy${copy.dest}`);
  add(`${WORK}/build.sh`, buildScript(plan), 0o755);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** dpkg as apt would run it (unpack and configure in its order), with services kept from starting. */
function buildScript(plan: AptPlan): string {
  const lines = ["set -e", "export DEBIAN_FRONTEND=noninteractive"];
  if (plan.steps.length) {
    lines.push(
      "policy=0",
      '[ -e /usr/sbin/policy-rc.d ] || { printf "#!/bin/sh\\nexit 101\\n" >/usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; policy=1; }',
    );
    // Runs of the same step go to one dpkg call.
    let run: { kind: "unpack" | "configure"; names: string[] } | undefined;
    const flush = () => {
      if (!run) return;
      const args = run.kind === "unpack" ? run.names.map((n) => `debs/${n}.deb`) : run.names;
      lines.push(`dpkg --force-unsafe-io --${run.kind} ${args.map((a) => `'${a}'`).join(" ")}`);
    };
    for (const step of plan.steps) {
      const kind = "unpack" in step ? "unpack" : "configure";
      const name = "unpack" in step ? step.unpack : step.configure;
      if (run?.kind !== kind) {
        flush();
        run = { kind, names: [] };
      }
      run.names.push(name);
    }
    flush();
    lines.push('[ "$policy" = 0 ] || rm -f /usr/sbin/policy-rc.d', "rm -rf /var/cache/apt/archives/*.deb");
  }
  // Existing folders keep their owner and mode (/root stays 0700).
  lines.push("tar -C copy -cf - . | tar -C / -xf - --no-overwrite-dir", `cd / && rm -rf /${WORK}`);
  return `${lines.join("\n")}\n`;
}

/** A local file or folder (recursively, symlinks kept) as tar entries under `name`. */
function addTree(archive: ReturnType<typeof pack>, path: string, name: string): void {
  const stat = lstatSync(path);
  const header = { name, mode: stat.mode & 0o7777, uid: 0, gid: 0, mtime: stat.mtime };
  if (stat.isSymbolicLink()) archive.entry({ ...header, type: "symlink", linkname: readlinkSync(path) });
  else if (stat.isDirectory()) {
    archive.entry({ ...header, type: "directory" });
    for (const child of readdirSync(path)) addTree(archive, join(path, child), `${name}/${child}`);
  } else archive.entry({ ...header, type: "file" }, readFileSync(path));
}
