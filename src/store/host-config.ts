import { readFileSync } from "node:fs";
import { z } from "zod";
import { StoreError, writePrivateFile } from "./secure-fs.js";

export const HOST_CONFIG_VERSION = 1;

/** TLS material of the endpoint, as file names relative to the host folder. */
const EndpointTlsSchema = z.object({
  verify: z.boolean(),
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
});

const RelativePath = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith("/") && !p.split(/[\\/]/).includes(".."),
    "must be a path inside the host folder",
  );

export const HostConfigSchema = z.object({
  version: z.literal(HOST_CONFIG_VERSION),
  name: z.string().min(1),
  driver: z.literal("docker"),
  personality: z.enum(["docker", "registry-cache"]),
  createdAt: z.string(),
  /** The Docker API endpoint the host lives on. */
  endpoint: z.object({
    url: z.string().min(1),
    tls: EndpointTlsSchema.extend({
      ca: RelativePath.optional(),
      cert: RelativePath.optional(),
      key: RelativePath.optional(),
    }).optional(),
  }),
  engine: z.object({
    flavor: z.enum(["docker", "podman", "vic"]),
    version: z.string(),
  }),
  container: z.object({
    name: z.string().min(1),
    volume: z.string().min(1),
    image: z.string().min(1),
    privilege: z.enum(["privileged", "explicit", "none"]),
    /** Per-container limits where the engine's defaults do not fit its host (Podman here). */
    ulimits: z.object({ nofile: z.number().int().positive(), nproc: z.number().int().positive() }).optional(),
  }),
  /**
   * How clients reach the host: tcp://address:port, certificate SANs follow it. "publish":
   * a port published on the endpoint's address; "network": the container's own address
   * on a routable container network (the VIC container-network case).
   */
  network: z.object({
    mode: z.enum(["publish", "network"]).default("publish"),
    address: z.string().min(1),
    /** Where the port is published ("publish" mode only; empty on a network). */
    publishAddress: z.string(),
    port: z.number().int().min(1).max(65535),
    name: z.string().optional(),
    ip: z.string().optional(),
  }),
  /** The nested engine's configuration, kept so upgrade and regenerate-certs reproduce it. */
  engineOptions: z
    .object({
      daemon: z.record(z.string(), z.unknown()),
      flags: z.array(z.string()),
      env: z.record(z.string(), z.string()),
    })
    .default({ daemon: {}, flags: [], env: {} }),
  resources: z
    .object({
      cpus: z.number().positive().optional(),
      memoryBytes: z.number().int().positive().optional(),
      cacheBytes: z.number().int().positive().optional(),
    })
    .default({}),
  /** The registry cache this host pulls through (its mirror and trust are written at provisioning). */
  registryCache: z
    .object({
      host: z.string(),
      url: z.string(),
      registry: z.string(),
      /** The client pair presented to the cache (absent: the cache asks for none). */
      clientCert: RelativePath.optional(),
      clientKey: RelativePath.optional(),
    })
    .optional(),
  /**
   * A registry cache's client authentication: clients must present a certificate from the
   * store's CA or from this file's CA (the registry-client CA). Absent: an open registry.
   */
  registryAuth: z.object({ clientCa: RelativePath }).optional(),
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
    serverCert: RelativePath,
    serverKey: RelativePath,
  }),
});

export type HostConfig = z.infer<typeof HostConfigSchema>;

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
