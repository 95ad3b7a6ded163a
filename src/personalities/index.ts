/**
 * Finding a personality by name: the built-in ones (docker, registry-cache) and the ones added
 * to the store with `dinv personality add`, all made from a manifest the same way. Only the
 * commands that provision a host call this, so the code of an added personality is loaded
 * by them alone.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DinvError } from "../errors.js";
import { storeLayout, storeRoot } from "../store/paths.js";
import { dockerManifest } from "./docker/personality.js";
import { manifestPersonality } from "./from-manifest.js";
import { PERSONALITY_NAME } from "../store/names.js";
import { MANIFEST_FILE, ManifestError, parseManifest, type Manifest } from "./manifest.js";
import type { Personality } from "./personality.js";
import { registryCacheManifest } from "./registry-cache/personality.js";

export const BUILTIN_MANIFESTS: Readonly<Record<string, unknown>> = {
  docker: dockerManifest,
  "registry-cache": registryCacheManifest,
};

/** What the store keeps for an added personality, in personalities/NAME/personality.json. */
export interface PersonalityRecord {
  name: string;
  /** Where it was added from: a folder's absolute path or an npm package spec. */
  source: string;
  kind: "folder" | "npm";
  /** Its files, relative to personalities/NAME/. */
  dir: string;
  addedAt: string;
}

export const RECORD_FILE = "personality.json";

export interface FoundPersonality {
  manifest: Manifest;
  /** The personality's folder (undefined for a built-in one). */
  dir?: string;
  record?: PersonalityRecord;
}

/** The manifest of a personality, built-in or added, without loading its module. */
export function findPersonality(name: string, root: string = storeRoot()): FoundPersonality {
  const builtin = BUILTIN_MANIFESTS[name];
  if (builtin) return { manifest: parseManifest(builtin, `built-in personality ${name}`) };
  const recordPath = join(storeLayout(root).personalitiesDir, name, RECORD_FILE);
  let text: string | undefined;
  try {
    if (PERSONALITY_NAME.test(name)) text = readFileSync(recordPath, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new DinvError(`cannot read ${recordPath} (${(err as NodeJS.ErrnoException).code ?? ""})`, {
        hint: "check the store's permissions",
      });
    }
  }
  if (text === undefined) {
    throw new DinvError(`unknown personality "${name}"`, {
      hint: "see `dinv personality ls`; add one with `dinv personality add FOLDER|PACKAGE`",
    });
  }
  const record = JSON.parse(text) as PersonalityRecord;
  const dir = join(root, "personalities", name, record.dir);
  return { manifest: readManifest(dir), dir, record };
}

/** Read and validate the manifest in a personality's folder. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ManifestError(
      code === "ENOENT" ? `${path} is missing` : `${path} is not valid JSON (${(err as Error).message})`,
      { hint: `a personality's folder holds its ${MANIFEST_FILE} (docs/personalities.md)` },
    );
  }
  return parseManifest(data, path);
}

/** The personality named, ready to provision hosts (an added one's module loaded now). */
export async function personalityNamed(name: string, root: string = storeRoot()): Promise<Personality> {
  const found = findPersonality(name, root);
  const base = manifestPersonality(found.manifest, found.dir);
  return found.manifest.module && found.dir ? refineWithModule(base, found.dir, found.manifest.module) : base;
}

/**
 * A personality's module: its default export is given the personality its manifest makes and
 * returns the one to use (typically the same with some members replaced).
 */
export async function refineWithModule(base: Personality, dir: string, module: string): Promise<Personality> {
  const path = join(dir, module);
  let exported: unknown;
  try {
    exported = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
  } catch (err) {
    throw new ManifestError(
      `personality ${base.name}: cannot load its module ${path} (${(err as Error).message})`,
    );
  }
  if (typeof exported !== "function") {
    throw new ManifestError(
      `personality ${base.name}: its module ${path} must export a default function (personality) => personality`,
    );
  }
  const refined = (await (exported as (p: Personality) => unknown)(base)) as Partial<Personality> | undefined;
  const missing = (["command", "archive", "waitReady"] as const).find(
    (m) => typeof refined?.[m] !== "function",
  );
  if (!refined || missing || refined.name !== base.name) {
    throw new ManifestError(
      `personality ${base.name}: its module ${path} returned ${missing ? `no ${missing}() function` : "a personality of another name"}`,
      { hint: "return the personality given, with members replaced (docs/personalities.md)" },
    );
  }
  return refined as Personality;
}
