import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The store root: $DINV_STORAGE_PATH, else $MACHINE_STORAGE_PATH (docker-machine's name, so
 * its users' environments carry over), else ~/.dinv. The CLI's -s/--storage-path sets
 * DINV_STORAGE_PATH before any command runs.
 */
export function storeRoot(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.DINV_STORAGE_PATH || env.MACHINE_STORAGE_PATH;
  return configured ? resolve(configured) : join(homedir(), ".dinv");
}

/** Files of one host, relative to its folder (config.json keeps these relative names). */
export const HOST_FILES = {
  config: "config.json",
  ca: "ca.pem",
  clientCert: "cert.pem",
  clientKey: "key.pem",
  serverCert: "server.pem",
  serverKey: "server-key.pem",
  /** A host's client pair for its registry cache (from the registry-client CA, not the store's). */
  registryClientCert: "registry-cert.pem",
  registryClientKey: "registry-key.pem",
  /** A registry cache's trusted client CAs besides the store's (the registry-client CA). */
  registryClientsCa: "registry-clients-ca.pem",
  /** TLS material of the endpoint itself, copied in so the store stays self-contained. */
  endpointDir: "endpoint",
  /** CAs of private registries the host's engine trusts (--registry-ca). */
  registryCasDir: "registry-cas",
} as const;

export function storeLayout(root: string) {
  return {
    root,
    certsDir: join(root, "certs"),
    /** The registry-client CA (beside certs/, see ensureRegistryClientCa). */
    registryCaDir: join(root, "registry-ca"),
    hostsDir: join(root, "hosts"),
    hostDir: (name: string) => join(root, "hosts", name),
    /** Personalities added with `dinv personality add`, one folder each (src/personalities/index.ts). */
    personalitiesDir: join(root, "personalities"),
  };
}
