/**
 * Debian packages for `dinv image build --apt`: apt on this machine resolves them against the
 * image's own dpkg status (so only what the image lacks is fetched) and downloads the .debs into a
 * cache kept between builds, as the official offline recipe does (images/lib/offline-build.sh).
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { DinvError } from "../errors.js";

export class AptError extends DinvError {}

/** One dpkg step in apt's order: unpack a .deb, or configure packages already unpacked. */
export type DpkgStep = { unpack: string } | { configure: string };

export interface AptPlan {
  /** .deb files (absolute paths in the cache), by package name. */
  debs: Map<string, string>;
  steps: DpkgStep[];
}

/** `Inst pkg [old] (version release [arch])` and `Conf pkg (…)` lines of apt-get -s. */
const INST = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/;
const CONF = /^Conf (\S+) /;

export async function planPackages(
  packages: string[],
  image: { status: string; codename: string },
  cacheDir: string,
): Promise<AptPlan> {
  const here = /^VERSION_CODENAME=(.*)$/m.exec(readOsRelease())?.[1]?.replace(/"/g, "");
  if (here !== image.codename) {
    throw new AptError(
      `the image is Debian ${image.codename || "(unknown release)"}, this machine ${here ?? "is not Debian"}: --apt resolves packages with this machine's apt`,
      { hint: `run dinv image build on a ${image.codename || "Debian"} machine, or leave --apt out` },
    );
  }
  mkdirSync(join(cacheDir, "partial"), { recursive: true, mode: 0o755 });
  const statusFile = join(cacheDir, "image-status");
  writeFileSync(statusFile, image.status);
  const common = [
    "-o",
    `Dir::State::status=${statusFile}`,
    "-o",
    `Dir::Cache::archives=${cacheDir}`,
    "-o",
    "Debug::NoLocking=1",
    ...(process.getuid?.() === 0 ? ["-o", "APT::Sandbox::User=root"] : []),
    "--no-install-recommends",
    "-y",
  ];
  const simulated = await apt(["install", "-s", ...common, ...packages]);
  const debs = new Map<string, string>();
  const steps: DpkgStep[] = [];
  for (const line of simulated.split("\n")) {
    const inst = INST.exec(line);
    if (inst) {
      const [, name = "", version = "", arch = ""] = inst;
      debs.set(name, join(cacheDir, `${name}_${version.replace(/:/g, "%3a")}_${arch}.deb`));
      steps.push({ unpack: name });
    }
    const conf = CONF.exec(line);
    if (conf?.[1]) steps.push({ configure: conf[1] });
  }
  if (debs.size) await apt(["install", "--download-only", "-q", ...common, ...packages]);
  return { debs, steps };
}

function readOsRelease(): string {
  try {
    return readFileSync("/etc/os-release", "utf8");
  } catch {
    return "";
  }
}

async function apt(args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)("apt-get", args, {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, LC_ALL: "C", DEBIAN_FRONTEND: "noninteractive" },
    });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new AptError("--apt needs apt-get on this machine (Debian of the image's release)", {
        hint: "run dinv image build there, or leave --apt out",
      });
    }
    const said = `${(err as { stderr?: string }).stderr ?? ""}`
      .split("\n")
      .filter((l) => l.startsWith("E: "))
      .map((l) => l.slice(3));
    throw new AptError(`apt could not resolve the packages: ${said.join("; ") || (err as Error).message}`, {
      hint: "check the names (apt-cache policy NAME); run apt-get update if the lists are old",
    });
  }
}
