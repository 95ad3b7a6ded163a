/**
 * Register and remove a Docker CLI context without the docker CLI: the CLI reads
 * `contexts/meta/<sha256(name)>/meta.json` and `contexts/tls/<sha256(name)>/docker/*.pem` under its
 * configuration folder directly (checked with docker CLI 28.2, which keeps unknown Metadata keys).
 * A context dinv writes carries `"dinv": true` in its Metadata, so dinv only ever removes its own.
 */
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { contextPaths } from "./docker-context.js";
import { DinvError } from "../errors.js";
import { ensurePrivateDir, writeFileSafely, writePrivateFile } from "./secure-fs.js";

export interface DockerContextSpec {
  name: string;
  /** The docker endpoint, e.g. tcp://127.0.0.1:32768. */
  host: string;
  /** PEM texts: the CA, and the client certificate and key. */
  ca: string;
  cert: string;
  key: string;
  description: string;
}

export type DockerContextOwner = "dinv" | "other" | "none";

/** The Metadata key marking a context as written by dinv. */
export const DINV_METADATA_KEY = "dinv";

function metaFile(configDir: string, name: string): string {
  return join(contextPaths(configDir, name).metaDir, "meta.json");
}

/** Whose context NAME is: dinv's, someone else's (including an unreadable one), or nobody's. */
export function dockerContextOwner(configDir: string, name: string): DockerContextOwner {
  const file = metaFile(configDir, name);
  if (!existsSync(file)) return "none";
  try {
    const meta = JSON.parse(readFileSync(file, "utf8")) as { Name?: unknown; Metadata?: unknown };
    const metadata = meta.Metadata;
    const mine =
      meta.Name === name &&
      metadata !== null &&
      typeof metadata === "object" &&
      (metadata as Record<string, unknown>)[DINV_METADATA_KEY] === true;
    return mine ? "dinv" : "other";
  } catch {
    return "other";
  }
}

/**
 * Write (or rewrite) dinv's context NAME: TLS files first, meta.json last, so the CLI never sees a
 * context without its certificates. Folders 0700, files 0600. A context of that name that dinv did
 * not write is refused.
 */
export async function writeDockerContext(configDir: string, spec: DockerContextSpec): Promise<void> {
  if (dockerContextOwner(configDir, spec.name) === "other") {
    throw new DinvError(`docker context "${spec.name}" already exists and was not created by dinv`, {
      hint: `remove it with \`docker context rm ${spec.name}\`, or skip the context with --no-context`,
    });
  }
  const { metaDir, tlsDir } = contextPaths(configDir, spec.name);
  const dockerTlsDir = join(tlsDir, "docker");
  ensurePrivateDir(tlsDir);
  ensurePrivateDir(dockerTlsDir);
  await writePrivateFile(join(dockerTlsDir, "ca.pem"), spec.ca);
  await writePrivateFile(join(dockerTlsDir, "cert.pem"), spec.cert);
  await writePrivateFile(join(dockerTlsDir, "key.pem"), spec.key);
  const meta = {
    Name: spec.name,
    Metadata: { Description: spec.description, [DINV_METADATA_KEY]: true },
    Endpoints: { docker: { Host: spec.host, SkipTLSVerify: false } },
  };
  ensurePrivateDir(metaDir);
  await writePrivateFile(join(metaDir, "meta.json"), JSON.stringify(meta));
}

export interface RemoveContextResult {
  /** Whose the context was before the call. */
  owner: DockerContextOwner;
  removed: boolean;
  /** config.json's currentContext pointed at it and was cleared. */
  clearedCurrent: boolean;
}

/**
 * Remove context NAME (both folders). With onlyIfOwned, a context dinv did not write is left alone.
 * `docker context rm` refuses to remove the current context unless forced, and when forced drops
 * currentContext from config.json; dinv removes its own contexts as if forced and does the same,
 * rewriting config.json atomically with every other key kept.
 */
export async function removeDockerContext(
  configDir: string,
  name: string,
  opts: { onlyIfOwned: boolean },
): Promise<RemoveContextResult> {
  const owner = dockerContextOwner(configDir, name);
  if (owner === "none" || (owner === "other" && opts.onlyIfOwned)) {
    return { owner, removed: false, clearedCurrent: false };
  }
  const { metaDir, tlsDir } = contextPaths(configDir, name);
  // meta.json goes first: without it the CLI no longer lists the context.
  rmSync(metaDir, { recursive: true, force: true });
  rmSync(tlsDir, { recursive: true, force: true });
  const clearedCurrent = await clearCurrentContext(configDir, name);
  return { owner, removed: true, clearedCurrent };
}

/** Drop config.json's currentContext when it is NAME, as `docker context rm -f` does. */
async function clearCurrentContext(configDir: string, name: string): Promise<boolean> {
  const file = join(configDir, "config.json");
  if (!existsSync(file)) return false;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return false; // not ours to repair; the docker CLI reports it
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) return false;
  const record = config as Record<string, unknown>;
  if (record.currentContext !== name) return false;
  delete record.currentContext;
  const mode = statSync(file).mode & 0o777;
  // The docker CLI writes config.json indented with tabs.
  await writeFileSafely(file, JSON.stringify(record, null, "\t"), mode);
  return true;
}
