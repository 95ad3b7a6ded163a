import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { hostUrl } from "../engine/host-endpoints.js";
import { DinvError, errorMessage } from "../errors.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  readCertificateFacts,
} from "../pki/certificates.js";
import { madeByDinv } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { readPublicFile } from "../store/secure-fs.js";
import { readShares, shareState, writeShares, type Share, type ShareState } from "../store/shares.js";
import { writePrivateTarGz } from "../store/tar-file.js";
import type { Progress } from "./progress.js";
import { regenerateHostCertificates } from "./regenerate.js";

export class ShareError extends DinvError {}

export const DEFAULT_SHARE_DAYS = 7;
const MAX_SHARE_DAYS = 365;
/** A person's name goes into a certificate's CN and a folder name: a name or an e-mail address. */
const PERSON = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

export function validatePerson(person: string): string {
  if (!PERSON.test(person))
    throw new ShareError(`"${person}" is not a person's name dinv can put in a certificate`, {
      hint: "use letters, digits and . _ @ + - (e.g. alice or alice@example.com), at most 64 characters",
    });
  return person;
}

export function validateShareDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_SHARE_DAYS)
    throw new ShareError(`--days ${days} is out of range`, { hint: `use 1 to ${MAX_SHARE_DAYS} days` });
  return days;
}

export interface ShareResult {
  share: Share;
  url: string;
}

/**
 * Give one person access to a host's engine without the owner's keys: a CA made for this share
 * alone signs one client certificate (CN = the person, valid `days`), and its key is dropped right
 * away, so it can sign nothing else. The host's engine is made to trust that CA beside the store's
 * (the server certificate is issued again and dockerd reloaded with live-restore, as
 * regenerate-certs does: containers keep running). The bundle goes to `file` (0600).
 */
export async function shareHost(
  store: HostStore,
  name: string,
  options: { person: string; days: number; file: string },
  progress: Progress,
): Promise<ShareResult> {
  const person = validatePerson(options.person);
  const days = validateShareDays(options.days);
  if (existsSync(options.file))
    throw new ShareError(`${options.file} already exists`, { hint: "pick another -o file or remove it" });
  const config = store.load(name);
  if (config.personality !== "docker")
    throw new ShareError(
      `${name} is a ${config.personality}, not a Docker host: there is no engine to share`,
    );
  // The engine must come to trust the share's CA: dinv writes that only into hosts it made.
  madeByDinv(config, "share");
  const dir = store.hostDir(name);

  progress.step(`issuing a certificate for ${person} (${days} days)`);
  const id = randomBytes(4).toString("hex");
  const ca = await createCertificateAuthority({ organization: `dinv share ${id}`, validityDays: days });
  const client = await issueClientCertificate(ca, {
    organization: "dinv share",
    commonName: person,
    validityDays: days,
  });
  const notAfter = readCertificateFacts(client.certPem).notAfter.toISOString();
  const share: Share = { id, person, createdAt: new Date().toISOString(), notAfter, caPem: ca.certPem };
  progress.done(`share ${id}, until ${notAfter.slice(0, 10)}`);

  const before = readShares(dir);
  await writeShares(dir, [...before, share]);
  try {
    await regenerateHostCertificates(store, name, progress);
  } catch (err) {
    await writeShares(dir, before);
    throw new ShareError(`sharing ${name} failed: ${errorMessage(err)}; nothing was shared`, { cause: err });
  }
  const url = hostUrl(store.load(name));
  const folder = `${name}-${person}`;
  await writePrivateTarGz(options.file, [
    { name: `${folder}/ca.pem`, body: readPublicFile(join(dir, config.files.ca)), mode: 0o644 },
    { name: `${folder}/cert.pem`, body: client.certPem, mode: 0o644 },
    { name: `${folder}/key.pem`, body: client.keyPem, mode: 0o600 },
    { name: `${folder}/env`, body: shareEnv(name, folder, url, person, notAfter), mode: 0o644 },
  ]);
  return { share, url };
}

/** The lines the person evaluates (or the docker context they create), from where they extracted the bundle. */
export function shareEnv(
  name: string,
  folder: string,
  url: string,
  person: string,
  notAfter: string,
): string {
  return [
    `# Docker host ${name}, shared with ${person} by dinv until ${notAfter}.`,
    `# In the folder you extracted this archive in: eval "$(cat ${folder}/env)"`,
    `export DOCKER_HOST="${url}"`,
    `export DOCKER_TLS_VERIFY="1"`,
    `export DOCKER_CERT_PATH="$PWD/${folder}"`,
    `# Or a docker context:`,
    `# docker context create ${name} --docker "host=${url},ca=$PWD/${folder}/ca.pem,cert=$PWD/${folder}/cert.pem,key=$PWD/${folder}/key.pem"`,
    "",
  ].join("\n");
}

/**
 * End a person's shares of a host: their CAs leave the host's trust bundle and dockerd is reloaded
 * (live-restore), so their certificates are refused while the owner's and other shares keep
 * working. The record says revoked before the host is touched, so no later provisioning brings
 * the CA back even if this reload fails.
 */
export async function revokeShare(
  store: HostStore,
  name: string,
  person: string,
  progress: Progress,
): Promise<Share[]> {
  const dir = store.hostDir(store.load(name).name);
  const shares = readShares(dir);
  const ending = shares.filter((s) => (s.person === person || s.id === person) && shareState(s) === "active");
  if (ending.length === 0) {
    const known = [...new Set(shares.filter((s) => shareState(s) === "active").map((s) => s.person))];
    throw new ShareError(`${name} has no active share for "${person}"`, {
      hint: known.length ? `active shares: ${known.join(", ")}` : "see `dinv share ls " + name + "`",
    });
  }
  const now = new Date().toISOString();
  await writeShares(
    dir,
    shares.map((s) => (ending.includes(s) ? { ...s, revokedAt: now } : s)),
  );
  try {
    await regenerateHostCertificates(store, name, progress);
  } catch (err) {
    throw new ShareError(
      `${person}'s share is revoked in the store, but ${name} could not be reloaded: ${errorMessage(err)}`,
      { cause: err, hint: `the host accepts it until \`dinv regenerate-certs ${name}\` succeeds` },
    );
  }
  return ending;
}

export interface ShareRow {
  id: string;
  person: string;
  expires: string;
  state: ShareState;
}

export function listShares(store: HostStore, name: string): ShareRow[] {
  const dir = store.hostDir(store.load(name).name);
  return readShares(dir).map((s) => ({
    id: s.id,
    person: s.person,
    expires: s.notAfter,
    state: shareState(s),
  }));
}
