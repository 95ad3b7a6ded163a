import { randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  createCertificateAuthority,
  issueClientCertificate,
  keyTypeOfCertificate,
  type CertificateAuthority,
  type CertifiedKey,
} from "../pki/certificates.js";
import type { KeyType } from "../pki/keys.js";
import {
  ensurePrivateDir,
  privateFile,
  publicFile,
  readPrivateFile,
  readPublicFile,
  storeFsError,
  writeFilesAtomically,
} from "./secure-fs.js";

/** How to get the store's CA or client pair back when a file of it is lost. */
export const STORE_CERTS_FIX =
  "restore it from a backup, or make a new CA with `dinv regenerate-certs --client-certs` (every host gets new certificates)";

/** The store's certificate folder, laid out as docker-machine's `certs/`. */
export function storeCertPaths(certsDir: string) {
  return {
    dir: certsDir,
    caCert: join(certsDir, "ca.pem"),
    caKey: join(certsDir, "ca-key.pem"),
    clientCert: join(certsDir, "cert.pem"),
    clientKey: join(certsDir, "key.pem"),
  };
}

export interface StoreCertificates {
  ca: CertificateAuthority;
  client: CertifiedKey;
  paths: ReturnType<typeof storeCertPaths>;
}

/** Create a CA and client pair in a new staging folder beside `certsDir`; returns its path. */
async function stageNewPair(certsDir: string, keyType: KeyType | undefined): Promise<string> {
  const parent = dirname(certsDir);
  ensurePrivateDir(parent);
  const staging = join(parent, `.certs-${randomBytes(6).toString("hex")}`);
  ensurePrivateDir(staging);
  try {
    const ca = await createCertificateAuthority(keyType ? { keyType } : {});
    const client = await issueClientCertificate(ca);
    const staged = storeCertPaths(staging);
    await writeFilesAtomically([
      publicFile(staged.caCert, ca.certPem),
      privateFile(staged.caKey, ca.keyPem),
      publicFile(staged.clientCert, client.certPem),
      privateFile(staged.clientKey, client.keyPem),
    ]);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return staging;
}

/**
 * The store's CA and client pair, created once. Creation happens in a temporary sibling
 * folder renamed into place, so two commands bootstrapping at once cannot mix two CAs:
 * the loser of the rename uses the winner's.
 */
export async function ensureStoreCertificates(
  certsDir: string,
  keyType?: KeyType,
): Promise<StoreCertificates> {
  if (!existsSync(storeCertPaths(certsDir).caCert)) {
    const staging = await stageNewPair(certsDir, keyType);
    try {
      renameSync(staging, certsDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw storeFsError(err, "create", certsDir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return loadStoreCertificates(certsDir);
}

/**
 * Replace the CA and client pair with new ones (same key type unless given). The new pair
 * is written in full beside the old one and swapped in by two renames, so a crash leaves
 * either the old or the new set.
 */
export async function renewStoreCertificates(
  certsDir: string,
  keyType?: KeyType,
): Promise<StoreCertificates> {
  // Only the CA certificate is read: renewing is also the way out when a key was lost.
  const caCert = storeCertPaths(certsDir).caCert;
  const current = existsSync(caCert) ? keyTypeOfCertificate(readPublicFile(caCert)) : undefined;
  const staging = await stageNewPair(certsDir, keyType ?? current);
  const retired = `${staging}-old`;
  try {
    if (existsSync(certsDir)) renameSync(certsDir, retired);
    renameSync(staging, certsDir);
  } catch (err) {
    if (!existsSync(certsDir) && existsSync(retired)) renameSync(retired, certsDir);
    throw storeFsError(err, "replace", certsDir, { unchanged: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(retired, { recursive: true, force: true });
  }
  return loadStoreCertificates(certsDir);
}

export function loadStoreCertificates(certsDir: string): StoreCertificates {
  const paths = storeCertPaths(certsDir);
  const caCertPem = readPublicFile(paths.caCert, STORE_CERTS_FIX);
  const ca: CertificateAuthority = {
    certPem: caCertPem,
    keyPem: readPrivateFile(paths.caKey, STORE_CERTS_FIX),
    keyType: keyTypeOfCertificate(caCertPem),
  };
  const client: CertifiedKey = {
    certPem: readPublicFile(paths.clientCert, STORE_CERTS_FIX),
    keyPem: readPrivateFile(paths.clientKey, STORE_CERTS_FIX),
  };
  return { ca, client, paths };
}

/** Where the registry-client CA lives: beside `certs/`, not in it (renewing swaps `certs/` whole). */
export function registryCaPaths(dir: string) {
  return { dir, caCert: join(dir, "ca.pem"), caKey: join(dir, "ca-key.pem") };
}

/**
 * The CA of the client certificates hosts present to their registry cache, created once
 * (staged and renamed into place, like the store's CA). It is not the store's CA on
 * purpose: a host keeps its registry client key in its own filesystem, readable by anyone
 * using that host, and a client certificate from the store's CA would open every host.
 */
export async function ensureRegistryClientCa(dir: string, keyType?: KeyType): Promise<CertificateAuthority> {
  const paths = registryCaPaths(dir);
  if (!existsSync(paths.caCert)) {
    ensurePrivateDir(dirname(dir));
    const staging = `${dir}.${randomBytes(6).toString("hex")}`;
    ensurePrivateDir(staging);
    try {
      const ca = await createCertificateAuthority({
        organization: "dinv registry clients",
        ...(keyType ? { keyType } : {}),
      });
      const staged = registryCaPaths(staging);
      await writeFilesAtomically([
        publicFile(staged.caCert, ca.certPem),
        privateFile(staged.caKey, ca.keyPem),
      ]);
      renameSync(staging, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST")
        throw storeFsError(err, "write", dir, { unchanged: true });
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const certPem = readPublicFile(paths.caCert);
  return { certPem, keyPem: readPrivateFile(paths.caKey), keyType: keyTypeOfCertificate(certPem) };
}
