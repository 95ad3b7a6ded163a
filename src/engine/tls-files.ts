import { readFileSync, statSync } from "node:fs";
import { EndpointError } from "../errors.js";
import type { TlsFiles } from "./endpoint.js";

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Read an endpoint's TLS files; a private key others can read is refused, as ssh does, with the fix. */
export function readTlsFiles(tls: TlsFiles, url: string): TlsMaterial {
  const out: TlsMaterial = {};
  for (const kind of ["ca", "cert", "key"] as const) {
    const path = tls[kind];
    if (path === undefined) continue;
    try {
      out[kind] = readFileSync(path);
      const mode = kind === "key" ? statSync(path).mode & 0o077 : 0;
      if (mode !== 0) {
        throw new EndpointError(`the TLS key for ${url} (${path}) is readable by others`, {
          hint: `run: chmod 600 ${path}`,
        });
      }
    } catch (err) {
      if (err instanceof EndpointError) throw err;
      throw new EndpointError(
        `cannot read the TLS ${kind} file for ${url} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          hint: "check DOCKER_CERT_PATH or the --tls* flags",
        },
      );
    }
  }
  return out;
}
