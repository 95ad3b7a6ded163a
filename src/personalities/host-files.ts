import { pack } from "tar-stream";

/** Where the image contract expects the server's TLS material. */
export const SERVER_CERT_DIR = "certs/server";

export interface HostFiles {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Any other files (absolute paths inside the container). */
  extra?: Array<{ path: string; mode: number; body: string }>;
}

interface Entry {
  name: string;
  mode: number;
  body?: string;
}

/**
 * A tar archive rooted at "/" carrying the host's files. Rooted at "/" because the
 * archive API answers 404 for a target path that does not exist yet (docs/architecture.md, "Measured here").
 */
export function hostFilesArchive(files: HostFiles): Promise<Buffer> {
  const entries: Entry[] = [];
  const addFile = (path: string, mode: number, body: string) => {
    const parts = path.replace(/^\/+/, "").split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join("/")}/`;
      if (!entries.some((e) => e.name === dir))
        entries.push({ name: dir, mode: dir === "certs/" ? 0o700 : 0o755 });
    }
    entries.push({ name: parts.join("/"), mode, body });
  };
  // Configuration first, certificates last: a host started before its files arrive waits
  // for the certificates, so everything else must already be there when they appear.
  for (const file of files.extra ?? []) addFile(file.path, file.mode, file.body);
  entries.push({ name: "certs/", mode: 0o700 }, { name: `${SERVER_CERT_DIR}/`, mode: 0o700 });
  addFile(`${SERVER_CERT_DIR}/ca.pem`, 0o644, files.caPem);
  addFile(`${SERVER_CERT_DIR}/cert.pem`, 0o644, files.serverCertPem);
  // The key last: the entrypoint starts dockerd once all three are present.
  addFile(`${SERVER_CERT_DIR}/key.pem`, 0o600, files.serverKeyPem);
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
