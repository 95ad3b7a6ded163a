import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DinvError } from "../errors.js";
import type { KeyType } from "../pki/keys.js";
import type { CertificateAuthority } from "../pki/certificates.js";
import type { StoreCertificates } from "./certificates.js";
import { readHostConfig, writeHostConfig, type HostConfig } from "./host-config.js";
import { validateHostName } from "./names.js";
import { HOST_FILES, storeLayout, storeRoot } from "./paths.js";
import { ensurePrivateDir, storeFsError } from "./secure-fs.js";

export class HostNotFoundError extends DinvError {
  constructor(name: string) {
    super(`Host "${name}" does not exist`, { hint: "see `dinv ls`" });
  }
}

export class HostExistsError extends DinvError {
  constructor(name: string) {
    super(`Host "${name}" already exists`, { hint: "pick another name, or remove it with `dinv rm`" });
  }
}

/** A host folder as found on disk: with its config, or with the reason it cannot be read. */
export type StoredHost = { name: string; dir: string } & (
  { config: HostConfig; error?: undefined } | { config?: undefined; error: DinvError }
);

/** The on-disk store: `certs/` (CA + client pair) and `hosts/NAME/` (config.json + certificates). */
export class HostStore {
  readonly layout: ReturnType<typeof storeLayout>;

  constructor(root: string = storeRoot()) {
    this.layout = storeLayout(root);
  }

  hostDir(name: string): string {
    return this.layout.hostDir(validateHostName(name));
  }

  hostFile(name: string, relative: string): string {
    return join(this.hostDir(name), relative);
  }

  exists(name: string): boolean {
    return existsSync(this.hostDir(name));
  }

  /**
   * Reserve a name: the host folder is created with a non-recursive mkdir, which exactly
   * one of several concurrent creates wins.
   */
  claim(name: string): string {
    const dir = this.hostDir(name);
    ensurePrivateDir(this.layout.hostsDir);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new HostExistsError(name);
      throw storeFsError(err, "create the host folder", dir, { unchanged: true });
    }
    return dir;
  }

  load(name: string): HostConfig {
    const dir = this.hostDir(name);
    if (!existsSync(dir)) throw new HostNotFoundError(name);
    return readHostConfig(join(dir, HOST_FILES.config));
  }

  async save(config: HostConfig): Promise<void> {
    await writeHostConfig(this.hostFile(config.name, HOST_FILES.config), config);
  }

  /** Every host folder, sorted by name; unreadable ones carry their error instead of failing the list. */
  list(): StoredHost[] {
    if (!existsSync(this.layout.hostsDir)) return [];
    let entries;
    try {
      entries = readdirSync(this.layout.hostsDir, { withFileTypes: true });
    } catch (err) {
      throw storeFsError(err, "list", this.layout.hostsDir);
    }
    const names = entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort();
    return names.map((name) => {
      const dir = this.layout.hostDir(name);
      try {
        return { name, dir, config: this.load(name) };
      } catch (err) {
        const error = err instanceof DinvError ? err : new DinvError((err as Error).message, { cause: err });
        return { name, dir, error };
      }
    });
  }

  remove(name: string): void {
    const dir = this.hostDir(name);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw storeFsError(err, "remove", dir);
    }
  }

  /** New CA and client pair (hosts must then get new server certificates). */
  async renewCertificates(keyType?: KeyType): Promise<StoreCertificates> {
    const { renewStoreCertificates } = await import("./certificates.js");
    return renewStoreCertificates(this.layout.certsDir, keyType);
  }

  /** The store's CA and client pair, created on first use (the PKI is loaded only then). */
  async certificates(keyType?: KeyType): Promise<StoreCertificates> {
    const { ensureStoreCertificates } = await import("./certificates.js");
    return ensureStoreCertificates(this.layout.certsDir, keyType);
  }

  /** The CA of registry-cache client certificates (see ensureRegistryClientCa), created on first use. */
  async registryClientCa(): Promise<CertificateAuthority> {
    const { ensureRegistryClientCa } = await import("./certificates.js");
    return ensureRegistryClientCa(this.layout.registryCaDir);
  }
}
