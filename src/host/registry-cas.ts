import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DinvError } from "../errors.js";
import type { HostConfig } from "../store/host-config.js";
import { HOST_FILES } from "../store/paths.js";
import { ensurePrivateDir, readPublicFile, writeFilesAtomically } from "../store/secure-fs.js";

/** A registry's CA given with --registry-ca REGISTRY=FILE, read and checked before anything is made. */
export interface RegistryCaSpec {
  registry: string;
  pem: string;
}

const REGISTRY = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d{1,5})?$/;

export function parseRegistryCa(value: string): RegistryCaSpec {
  const at = value.indexOf("=");
  const registry = at > 0 ? value.slice(0, at) : "";
  const file = at > 0 ? value.slice(at + 1) : "";
  if (!REGISTRY.test(registry) || file === "") {
    throw new DinvError(`--registry-ca "${value}" is not REGISTRY=FILE`, {
      hint: "e.g. --registry-ca registry.corp:5000=corp-ca.pem (the registry as images name it)",
    });
  }
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (err) {
    throw new DinvError(`--registry-ca: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new DinvError(`--registry-ca: ${file} holds no PEM certificate`, {
      hint: "give the registry's CA certificate (-----BEGIN CERTIFICATE-----)",
    });
  }
  return { registry, pem };
}

/** Keep the CAs in the host folder (the store stays self-contained); returns config's entries. */
export async function storeRegistryCas(
  hostDir: string,
  specs: RegistryCaSpec[],
): Promise<NonNullable<HostConfig["registryCas"]>> {
  if (specs.length === 0) return [];
  ensurePrivateDir(join(hostDir, HOST_FILES.registryCasDir));
  const entries = specs.map((spec) => ({
    registry: spec.registry,
    file: join(HOST_FILES.registryCasDir, `${spec.registry.replace(":", "_")}.crt`),
  }));
  await writeFilesAtomically(
    entries.map((entry, i) => ({ path: join(hostDir, entry.file), data: specs[i]?.pem ?? "", mode: 0o644 })),
  );
  return entries;
}

/**
 * Where the host's engine looks for a registry's CA (docker's certs.d), so a pull from a company
 * registry verifies; delivered at every provisioning, so upgrade and provision keep them.
 */
export function registryCaArchiveEntries(
  config: HostConfig,
  hostDir: string,
): Array<{ path: string; mode: number; body: string }> {
  return (config.registryCas ?? []).map((entry) => ({
    path: `/etc/docker/certs.d/${entry.registry}/ca.crt`,
    mode: 0o644,
    body: readPublicFile(join(hostDir, entry.file)),
  }));
}
