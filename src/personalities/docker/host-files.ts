import { pack } from "tar-stream";

/** Where the image contract expects the server's TLS material. */
export const SERVER_CERT_DIR = "certs/server";

export interface HostFiles {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Written to /etc/docker/daemon.json when given. */
  daemonJson?: Record<string, unknown>;
  /** Written to /etc/docker/dockerd.env (KEY=VALUE lines, taken literally by the entrypoint). */
  dockerdEnv?: Record<string, string>;
}

interface Entry {
  name: string;
  mode: number;
  body?: string;
}

/**
 * A tar archive rooted at "/" carrying the host's files. Rooted at "/" because the
 * archive API answers 404 for a target path that does not exist yet (design.md).
 */
export function hostFilesArchive(files: HostFiles): Promise<Buffer> {
  const entries: Entry[] = [
    { name: "certs/", mode: 0o700 },
    { name: `${SERVER_CERT_DIR}/`, mode: 0o700 },
    { name: `${SERVER_CERT_DIR}/ca.pem`, mode: 0o644, body: files.caPem },
    { name: `${SERVER_CERT_DIR}/cert.pem`, mode: 0o644, body: files.serverCertPem },
    { name: `${SERVER_CERT_DIR}/key.pem`, mode: 0o600, body: files.serverKeyPem },
  ];
  if (files.daemonJson !== undefined || files.dockerdEnv !== undefined) {
    entries.push({ name: "etc/", mode: 0o755 }, { name: "etc/docker/", mode: 0o755 });
  }
  if (files.daemonJson !== undefined) {
    entries.push({
      name: "etc/docker/daemon.json",
      mode: 0o644,
      body: `${JSON.stringify(files.daemonJson, null, 2)}\n`,
    });
  }
  if (files.dockerdEnv !== undefined) {
    entries.push({ name: "etc/docker/dockerd.env", mode: 0o600, body: dockerdEnvFile(files.dockerdEnv) });
  }
  return toTar(entries);
}

/** KEY=VALUE lines; values may not contain newlines (the entrypoint reads one line per variable). */
export function dockerdEnvFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
        throw new Error(`invalid environment variable name "${key}"`);
      if (/[\r\n\0]/.test(value)) throw new Error(`environment variable ${key} contains a line break`);
      return `${key}=${value}\n`;
    })
    .join("");
}

async function toTar(entries: Entry[]): Promise<Buffer> {
  const archive = pack();
  const mtime = new Date();
  for (const entry of entries) {
    const header = { name: entry.name, mode: entry.mode, uid: 0, gid: 0, mtime };
    if (entry.body === undefined) archive.entry({ ...header, type: "directory" });
    else archive.entry({ ...header, type: "file" }, entry.body);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
