import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { DinvError } from "../errors.js";
import { HostConfigSchema, type HostConfig } from "./host-config.js";
import type { HostStore } from "./host-store.js";
import { validateHostName } from "./names.js";
import { HOST_FILES } from "./paths.js";
import {
  ensurePrivateDir,
  privateFile,
  publicFile,
  readPrivateFile,
  writeFilesAtomically,
  writePrivateFile,
  writePublicFile,
} from "./secure-fs.js";
import { writePrivateTarGz, type TarEntry } from "./tar-file.js";
import { registryCaPaths, STORE_CERTS_FIX, storeCertPaths } from "./certificates.js";

export class TransferError extends DinvError {}

const FORMAT = "dinv-host-export";
const FORMAT_VERSION = 1;
/** Files that are secrets: written 0600 on import, whatever the archive says. */
/** Every private key's name ends in key.pem (key, server-key, ca-key, registry-key). */
const SECRET = /(^|\/)([a-z-]+-)?key\.pem$/;
const MAX_ENTRY_BYTES = 1024 * 1024;

interface Manifest {
  format: typeof FORMAT;
  version: number;
  name: string;
  exportedAt: string;
  withCa: boolean;
}

/** Every file of a host folder, relative to it (hidden ones, such as unfinished writes, left out). */
function hostFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Write a host (config + certificates, relative paths) to a gzipped tar, 0600. The CA
 * private key goes in only with `withCa`: without it the importer can use the host but
 * cannot issue certificates.
 */
export async function exportHost(
  store: HostStore,
  name: string,
  file: string,
  withCa: boolean,
): Promise<string[]> {
  const config = store.load(name);
  const dir = store.hostDir(name);
  const manifest: Manifest = {
    format: FORMAT,
    version: FORMAT_VERSION,
    name: config.name,
    exportedAt: new Date().toISOString(),
    withCa,
  };
  const files: TarEntry[] = [];
  const add = (path: string, body: Buffer | string, mode: number) => files.push({ name: path, body, mode });
  add("manifest.json", `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  // An adopted host's CA key sits in its folder; like the store's, it goes only with --with-ca.
  const caKey = config.adopted?.caKey;
  for (const rel of hostFiles(dir).filter((f) => withCa || f !== caKey))
    add(`host/${rel}`, readFileSync(join(dir, rel)), SECRET.test(rel) ? 0o600 : 0o644);
  if (withCa) {
    const certs = storeCertPaths(store.layout.certsDir);
    add("ca/ca.pem", readFileSync(certs.caCert), 0o644);
    add("ca/ca-key.pem", readPrivateFile(certs.caKey, STORE_CERTS_FIX), 0o600);
    const registryCa = registryCaPaths(store.layout.registryCaDir);
    if (existsSync(registryCa.caCert)) {
      add("registry-ca/ca.pem", readFileSync(registryCa.caCert), 0o644);
      add("registry-ca/ca-key.pem", readPrivateFile(registryCa.caKey, STORE_CERTS_FIX), 0o600);
    }
  }
  await writePrivateTarGz(file, files);
  const entries = files.map((f) => f.name);
  return entries;
}

/**
 * Import an exported host into this store under its name (or `newName`). Only the
 * expected entries are accepted (no paths outside the host folder); the config is
 * validated; keys are written 0600. With a CA in the archive and none in this store,
 * the CA is installed too.
 */
export async function importHost(
  store: HostStore,
  file: string,
  newName?: string,
): Promise<{ config: HostConfig; installedCa: boolean }> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new TransferError(`${file} is not a file`);
  const files = new Map<string, Buffer>();
  try {
    await pipeline(
      createReadStream(file),
      createGunzip(),
      (() => {
        const tar = extract();
        tar.on("entry", (header, stream, next) => {
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on("data", (data: unknown) => {
            const chunk = data as Buffer;
            size += chunk.length;
            if (size > MAX_ENTRY_BYTES)
              stream.destroy(new TransferError(`entry ${header.name} is too large`));
            else chunks.push(chunk);
          });
          stream.on("end", () => {
            if (header.type === "file") files.set(header.name, Buffer.concat(chunks));
            next();
          });
          stream.on("error", next);
        });
        return tar;
      })(),
    );
  } catch (err) {
    throw new TransferError(`${file} is not a dinv export (${(err as Error).message})`, { cause: err });
  }
  const manifest = parseJson<Manifest>(files.get("manifest.json"), "manifest.json", file);
  if (manifest.format !== FORMAT || manifest.version > FORMAT_VERSION) {
    throw new TransferError(
      `${file} is not a dinv host export this version reads (format ${manifest.format} v${manifest.version})`,
    );
  }
  const raw = parseJson<Record<string, unknown>>(files.get(`host/${HOST_FILES.config}`), "config.json", file);
  const name = validateHostName(newName ?? manifest.name);
  const parsed = HostConfigSchema.safeParse({ ...raw, name });
  if (!parsed.success)
    throw new TransferError(
      `${file}: the host's config.json is invalid (${parsed.error.issues[0]?.message ?? ""})`,
    );
  const config = parsed.data;

  const hostEntries = [...files.keys()].filter(
    (n) => n.startsWith("host/") && n !== `host/${HOST_FILES.config}`,
  );
  for (const entry of hostEntries) {
    const rel = entry.slice("host/".length);
    if (!/^(endpoint\/)?[a-z-]+\.pem$/.test(rel))
      throw new TransferError(`${file} holds an unexpected file ${entry}`);
  }
  for (const required of [
    config.files.ca,
    config.files.clientCert,
    config.files.clientKey,
    config.files.serverCert,
    config.files.serverKey,
  ]) {
    if (required && !files.has(`host/${required}`)) throw new TransferError(`${file} lacks ${required}`);
  }

  const dir = store.claim(name);
  try {
    for (const entry of hostEntries) {
      const rel = entry.slice("host/".length);
      if (rel.includes("/")) ensurePrivateDir(join(dir, rel.split("/")[0] as string));
      const body = files.get(entry) as Buffer;
      await (SECRET.test(rel) ? writePrivateFile : writePublicFile)(join(dir, rel), body);
    }
    await store.save(config);
  } catch (err) {
    store.remove(name);
    throw err;
  }
  let installedCa = false;
  const caCert = files.get("ca/ca.pem");
  const caKey = files.get("ca/ca-key.pem");
  const certs = storeCertPaths(store.layout.certsDir);
  if (caCert && caKey && !existsSync(certs.caCert)) {
    ensurePrivateDir(certs.dir);
    await writeFilesAtomically([
      publicFile(certs.caCert, caCert),
      privateFile(certs.caKey, caKey),
      publicFile(certs.clientCert, files.get(`host/${config.files.clientCert}`) as Buffer),
      privateFile(certs.clientKey, files.get(`host/${config.files.clientKey}`) as Buffer),
    ]);
    installedCa = true;
  }
  const registryCaCert = files.get("registry-ca/ca.pem");
  const registryCaKey = files.get("registry-ca/ca-key.pem");
  const registryCa = registryCaPaths(store.layout.registryCaDir);
  if (registryCaCert && registryCaKey && !existsSync(registryCa.caCert)) {
    ensurePrivateDir(registryCa.dir);
    await writeFilesAtomically([
      publicFile(registryCa.caCert, registryCaCert),
      privateFile(registryCa.caKey, registryCaKey),
    ]);
  }
  return { config, installedCa };
}

function parseJson<T>(body: Buffer | undefined, what: string, file: string): T {
  if (!body) throw new TransferError(`${file} is not a dinv export (no ${what})`);
  try {
    return JSON.parse(body.toString("utf8")) as T;
  } catch {
    throw new TransferError(`${file}: ${what} is not valid JSON`);
  }
}
