import { readFileSync } from "node:fs";
// zod/mini: the same checks as zod's classic API at a twentieth of its size in the bundle
// (every command that reads a host loads this); English messages are opted into.
import * as z from "zod/mini";
import { UlimitsSchema } from "./endpoint-facts.js";
import { PERSONALITY_NAME } from "./names.js";
import { en } from "zod/v4/locales";
import { StoreError, writePrivateFile } from "./secure-fs.js";

export const HOST_CONFIG_VERSION = 1;

z.config(en());

/** A file name relative to the host folder (TLS material, certificates). */
const RelativePath = z.string().check(
  z.minLength(1),
  z.refine(
    (p: string) => !p.startsWith("/") && !p.split(/[\\/]/).includes(".."),
    "must be a path inside the host folder",
  ),
);

const NonEmpty = () => z.string().check(z.minLength(1));

export const HostConfigSchema = z.object({
  version: z.literal(HOST_CONFIG_VERSION),
  name: NonEmpty(),
  driver: z.literal("docker"),
  /** A built-in personality or one added to the store (src/personalities/index.ts). */
  personality: z.string().check(z.regex(PERSONALITY_NAME)),
  /** How clients speak to its service (absent in older files: by personality, see speaksDockerApi). */
  protocol: z.optional(z.enum(["docker", "https", "tls"])),
  createdAt: z.string(),
  /** A disposable host's end (create --ttl): `dinv prune` removes it after this time. */
  expiresAt: z.optional(z.string()),
  /** The Docker API endpoint the host lives on. */
  endpoint: z.object({
    url: NonEmpty(),
    tls: z.optional(
      z.object({
        verify: z.boolean(),
        ca: z.optional(RelativePath),
        cert: z.optional(RelativePath),
        key: z.optional(RelativePath),
      }),
    ),
  }),
  engine: z.object({
    flavor: z.enum(["docker", "podman", "vic"]),
    version: z.string(),
  }),
  container: z.object({
    name: NonEmpty(),
    /** The volume holding its engine's data; absent only for an adopted host without one. */
    volume: z.optional(NonEmpty()),
    image: NonEmpty(),
    privilege: z.enum(["privileged", "explicit", "none"]),
    /** Per-container limits where the engine's defaults do not fit its host (Podman here). */
    ulimits: z.optional(UlimitsSchema),
  }),
  /**
   * How clients reach the host: tcp://address:port, certificate SANs follow it. "publish":
   * a port published on the endpoint's address; "network": the container's own address
   * on a routable container network (the VIC container-network case).
   */
  network: z.object({
    mode: z._default(z.enum(["publish", "network"]), "publish"),
    address: NonEmpty(),
    /** Where the port is published ("publish" mode only; empty on a network). */
    publishAddress: z.string(),
    port: z.int().check(z.minimum(1), z.maximum(65535)),
    name: z.optional(z.string()),
    ip: z.optional(z.string()),
  }),
  /** The nested engine's configuration, kept so upgrade and regenerate-certs reproduce it. */
  engineOptions: z._default(
    z.object({
      daemon: z.record(z.string(), z.unknown()),
      flags: z.array(z.string()),
      env: z.record(z.string(), z.string()),
    }),
    { daemon: {}, flags: [], env: {} },
  ),
  resources: z._default(
    z.object({
      cpus: z.optional(z.number().check(z.positive())),
      memoryBytes: z.optional(z.int().check(z.positive())),
      cacheBytes: z.optional(z.int().check(z.positive())),
      volumeStore: z.optional(z.string()),
    }),
    {},
  ),
  /** The registry cache this host pulls through (its mirror and trust are written at provisioning). */
  registryCache: z.optional(
    z.object({
      host: z.string(),
      url: z.string(),
      registry: z.string(),
      /** The client pair presented to the cache (absent: the cache asks for none). */
      clientCert: z.optional(RelativePath),
      clientKey: z.optional(RelativePath),
    }),
  ),
  /**
   * A registry cache's client authentication: clients must present a certificate from the
   * store's CA or from this file's CA (the registry-client CA). Absent: an open registry.
   */
  registryAuth: z.optional(z.object({ clientCa: RelativePath })),
  /** Private registries' CAs installed in the host engine's certs.d (--registry-ca). */
  registryCas: z.optional(z.array(z.object({ registry: z.string(), file: RelativePath }))),
  tls: z.object({
    keyType: z.enum(["ecdsa-p256", "rsa-2048"]),
    /** Every SAN in the server certificate. */
    sans: z.array(z.string()),
    /** The --tls-san values given at create, kept for regeneration. */
    extraSans: z.array(z.string()),
  }),
  files: z.object({
    ca: RelativePath,
    clientCert: RelativePath,
    clientKey: RelativePath,
    /** Absent for an adopted host: its server certificate and key stay where its maker put them. */
    serverCert: z.optional(RelativePath),
    serverKey: z.optional(RelativePath),
  }),
  /**
   * A host made by hand and taken over with `dinv adopt` (src/host/adopt.ts): dinv did not make
   * its container, so it never recreates it nor delivers files into it. Its CA is the user's,
   * kept in the host folder (the key 0600), not the store's.
   */
  adopted: z.optional(
    z.object({
      at: z.string(),
      /** The user's CA key: dinv issues this host's client certificates from it. */
      caKey: RelativePath,
      /** What holds its engine's data: a volume (container.volume), a host folder, or nothing. */
      data: z.enum(["volume", "bind", "none"]),
    }),
  ),
});

export type HostConfig = z.infer<typeof HostConfigSchema>;

/**
 * Whether the host's service is the Docker API (env, config, contexts, ls's DOCKER column), told
 * from its config alone so that short commands load no personality. Files written before
 * personalities could be added name no protocol: only the registry cache spoke another.
 */
export function speaksDockerApi(config: Pick<HostConfig, "personality" | "protocol">): boolean {
  return (config.protocol ?? (config.personality === "registry-cache" ? "https" : "docker")) === "docker";
}

/** Read and validate a host's config.json; every failure names the file. */
export function readHostConfig(path: string): HostConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StoreError(code === "ENOENT" ? `${path} is missing` : `cannot read ${path} (${code})`, {
      cause: err,
      hint: "the host is incomplete; remove it with `dinv rm -f`",
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StoreError(`${path} is not valid JSON (${(err as Error).message})`, {
      cause: err,
      hint: "restore the file, or remove the host with `dinv rm -f`",
    });
  }
  const version = (data as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version > HOST_CONFIG_VERSION) {
    throw new StoreError(`${path} was written by a newer dinv (config version ${version})`, {
      hint: "upgrade dinv",
    });
  }
  const parsed = HostConfigSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new StoreError(`${path} is invalid: ${where}: ${issue?.message ?? "bad value"}`, {
      hint: "restore the file, or remove the host with `dinv rm -f`",
    });
  }
  return parsed.data;
}

export async function writeHostConfig(path: string, config: HostConfig): Promise<void> {
  const parsed = HostConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StoreError(
      `refusing to write an invalid ${path} (${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""})`,
      { hint: "this is a bug in dinv: please report it with the command you ran" },
    );
  }
  const checked = parsed.data;
  await writePrivateFile(path, `${JSON.stringify(checked, null, 2)}\n`);
}

/** What only a host dinv made has: its cache volume and its server certificate and key. */
export interface MadeByDinv {
  volume: string;
  serverCert: string;
  serverKey: string;
}

/**
 * The parts of a host that dinv made, for the commands that recreate its container or write
 * into it (upgrade, set, regenerate-certs, provision, share, revoke). An adopted host has none
 * of its own making: such a command is refused with the reason, before anything changes.
 */
export function madeByDinv(config: HostConfig, action: string): MadeByDinv {
  const { volume } = config.container;
  const { serverCert, serverKey } = config.files;
  if (config.adopted || !volume || !serverCert || !serverKey)
    throw new StoreError(
      `dinv cannot ${action} "${config.name}": the host was adopted, and its container, image and server certificate are as its maker set them up (dinv neither recreates that container nor writes into it)`,
      {
        hint: "do it the way the host was made; env, config, ls, status, inspect, stop/start and rm work on it as on any host",
      },
    );
  return { volume, serverCert, serverKey };
}
