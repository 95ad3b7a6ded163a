/**
 * `dinv personality add|ls|rm`: the personalities of the store (personalities/NAME/), beside the
 * built-in ones. An added personality's files are copied into the store, so it keeps working
 * when its source folder moves, and the module it may carry is checked when it is added.
 */
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DinvError } from "../errors.js";
import { storeLayout } from "../store/paths.js";
import { ensurePrivateDir, storeFsError, writePrivateFile } from "../store/secure-fs.js";
import { manifestPersonality } from "./from-manifest.js";
import {
  BUILTIN_MANIFESTS,
  findPersonality,
  readManifest,
  RECORD_FILE,
  refineWithModule,
  type FoundPersonality,
  type PersonalityRecord,
} from "./index.js";

export class PersonalityError extends DinvError {}

export interface ListedPersonality extends Partial<FoundPersonality> {
  name: string;
  /** "built-in", or where it was added from. */
  source: string;
  /** Why it cannot be used (its files broken), when it cannot. */
  error?: string;
}

/** Every personality: the built-in ones, then the store's by name. */
export function listPersonalities(root: string): ListedPersonality[] {
  const builtins = Object.keys(BUILTIN_MANIFESTS).map((name) => ({
    name,
    source: "built-in",
    ...findPersonality(name, root),
  }));
  const dir = storeLayout(root).personalitiesDir;
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith("."))
        .map((e) => e.name)
        .sort()
    : [];
  const added = names.map((name): ListedPersonality => {
    try {
      const found = findPersonality(name, root);
      return { name, source: found.record?.source ?? "", ...found };
    } catch (err) {
      return { name, source: "?", error: err instanceof DinvError ? err.message : String(err) };
    }
  });
  return [...builtins, ...added];
}

/**
 * Add the personality in a folder, or in an npm package (a name, a tarball, anything
 * `npm install` takes), to the store; returns its name.
 */
export async function addPersonality(root: string, source: string): Promise<PersonalityRecord> {
  const personalitiesDir = storeLayout(root).personalitiesDir;
  ensurePrivateDir(personalitiesDir);
  const staging = mkdtempSync(join(personalitiesDir, ".adding-"));
  try {
    const folder = existsSync(source) && statSync(source).isDirectory();
    // A local tarball by its absolute path: npm would take a relative one from --prefix.
    const spec = existsSync(source) ? resolve(source) : source;
    // A folder's manifest is checked where the user wrote it, so errors name that file.
    if (folder) readManifest(spec);
    const dir = folder ? copyFolder(spec, staging) : await installPackage(spec, staging);
    const manifest = readManifest(join(staging, dir));
    if (BUILTIN_MANIFESTS[manifest.name]) {
      throw new PersonalityError(`"${manifest.name}" is a built-in personality`, {
        hint: "give yours another name in its manifest",
      });
    }
    const target = join(personalitiesDir, manifest.name);
    if (existsSync(target)) {
      throw new PersonalityError(`a personality named "${manifest.name}" is already added`, {
        hint: `remove it first with \`dinv personality rm ${manifest.name}\``,
      });
    }
    // A module that does not load or does not give a personality back is refused now, not at create.
    if (manifest.module)
      await refineWithModule(
        manifestPersonality(manifest, join(staging, dir)),
        join(staging, dir),
        manifest.module,
      );
    const record: PersonalityRecord = {
      name: manifest.name,
      source: spec,
      kind: folder ? "folder" : "npm",
      dir,
      addedAt: new Date().toISOString(),
    };
    await writePrivateFile(join(staging, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    try {
      renameSync(staging, target);
    } catch (err) {
      throw storeFsError(err, "move the personality into", target);
    }
    return record;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Remove an added personality. Hosts of it keep working for `rm`; anything else asks for it back. */
export function removePersonality(root: string, name: string): void {
  if (BUILTIN_MANIFESTS[name]) throw new PersonalityError(`"${name}" is a built-in personality and stays`);
  findPersonality(name, root); // unknown names fail here, with the hint
  const dir = join(storeLayout(root).personalitiesDir, name);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    throw storeFsError(err, "remove", dir);
  }
}

function copyFolder(source: string, staging: string): string {
  const target = join(staging, "files");
  try {
    cpSync(source, target, {
      recursive: true,
      filter: (path) => !/[\\/](\.git|node_modules[\\/]\.cache)$/.test(path),
    });
  } catch (err) {
    throw storeFsError(err, `copy ${source} to`, target);
  }
  return "files";
}

/** npm install into the staging folder (its dependencies with it, none of its scripts run). */
async function installPackage(spec: string, staging: string): Promise<string> {
  try {
    await promisify(execFile)(
      "npm",
      [
        "install",
        "--prefix",
        staging,
        "--no-audit",
        "--no-fund",
        "--omit=dev",
        "--ignore-scripts",
        "--install-links",
        "--no-package-lock",
        spec,
      ],
      { timeout: 300_000 },
    );
  } catch (err) {
    // npm 10 says "npm error …", older ones "npm ERR! …": the first such line is the cause.
    const said = `${(err as { stderr?: string }).stderr ?? ""}`
      .split("\n")
      .find((l) => /^npm (ERR!|error) /.test(l) && !/^npm (ERR!|error) code /.test(l))
      ?.replace(/^npm (ERR!|error) /, "");
    throw new PersonalityError(
      `"${spec}" is not a folder, and npm could not install it as a package (${said ?? (err as Error).message.split("\n")[0]})`,
      { hint: "give a folder holding dinv-personality.json, or an npm package that has one" },
    );
  }
  // npm recorded the package asked for as the staging folder's one dependency.
  const wanted = JSON.parse(readFileSync(join(staging, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const name = Object.keys(wanted.dependencies ?? {})[0];
  if (!name || !existsSync(join(staging, "node_modules", name))) {
    throw new PersonalityError(`npm installed "${spec}" but dinv cannot tell which package it is`);
  }
  return join("node_modules", name);
}
