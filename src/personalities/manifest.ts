/**
 * The personality manifest (docs/personalities.md): what dinv needs to run a service in a host,
 * as data. Built-in personalities are manifests too (docker/, registry-cache/); added ones live in
 * the store with their folder (`dinv personality add`).
 */
import * as z from "zod/mini";
import { en } from "zod/v4/locales";
import { DinvError } from "../errors.js";
import { PERSONALITY_NAME } from "../store/names.js";

z.config(en());

export const MANIFEST_FILE = "dinv-personality.json";
export const MANIFEST_VERSION = 1;

const AbsolutePath = z
  .string()
  .check(
    z.refine(
      (p: string) => p.startsWith("/") && !p.split("/").includes(".."),
      "must be an absolute path without ..",
    ),
  );
/** A path inside the personality's folder. */
const InsidePath = z.string().check(
  z.minLength(1),
  z.refine(
    (p: string) => !p.startsWith("/") && !p.split(/[\\/]/).includes(".."),
    "must be a path inside the personality's folder",
  ),
);
const Port = z.int().check(z.minimum(1), z.maximum(65535));
const Mode = z.string().check(z.regex(/^0?[0-7]{3}$/, 'must be an octal mode such as "0644"'));

const FileSchema = z.object({
  /** Where the file goes in the container. */
  path: AbsolutePath,
  mode: z._default(Mode, "0644"),
  /**
   * What goes in it: daemon-json (the engine options of --engine-* as daemon.json), engine-env
   * (--engine-env as KEY=VALUE lines), ca (the store's CA certificate), ssh-authorized-key
   * (the host's client key as an OpenSSH public key), text (the `text` field), file (a file of
   * the personality's folder, `file`).
   */
  from: z.enum(["daemon-json", "engine-env", "ca", "ssh-authorized-key", "text", "file"]),
  text: z.optional(z.string()),
  file: z.optional(InsidePath),
});

const ReadySchema = z.discriminatedUnion("check", [
  /** GET /_ping over verified TLS (the Docker API). */
  z.object({ check: z.literal("docker-ping") }),
  /** GET `path` over verified TLS, with the client certificate, until one of `status` answers. */
  z.object({
    check: z.literal("https"),
    path: z._default(z.string().check(z.regex(/^\//, "must start with /")), "/"),
    status: z._default(z.array(z.int()).check(z.minLength(1)), [200]),
  }),
  /** A verified TLS handshake with the client certificate. */
  z.object({ check: z.literal("tls") }),
]);

export const ManifestSchema = z.object({
  dinvPersonality: z.literal(MANIFEST_VERSION),
  name: z
    .string()
    .check(z.regex(PERSONALITY_NAME, "must be lower-case letters, digits, . and - (at most 63)")),
  description: z._default(z.string(), ""),
  /** The image hosts of this personality run unless `create --image` says otherwise. */
  image: z.string().check(z.minLength(1)),
  /** The service clients reach over TLS: its port inside the container and how they speak to it. */
  service: z.object({ port: Port, protocol: z.enum(["docker", "https", "tls"]) }),
  /** Where the host's persistent volume mounts. */
  dataDir: AbsolutePath,
  /** Runs a nested container engine (it gets privilege, or the explicit rights). */
  nestedEngine: z._default(z.boolean(), false),
  /** Replaces the image's entrypoint. */
  entrypoint: z.optional(z.array(z.string()).check(z.minLength(1))),
  /** Arguments to the entrypoint: fixed strings, or engine-flags (the --engine-opt flags). */
  command: z._default(z.union([z.literal("engine-flags"), z.array(z.string())]), []),
  /** More container ports published beside the service (a random port of the endpoint each). */
  extraPorts: z._default(z.array(Port), []),
  /** Delivered before the first start, after each certificate renewal and at upgrade. */
  files: z._default(z.array(FileSchema), []),
  /** When the host is ready (default: by protocol; docker-ping, https GET /, tls). */
  ready: z.optional(ReadySchema),
  /** A module whose default export refines the personality built from this manifest. */
  module: z.optional(InsidePath),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestFile = Manifest["files"][number];
export type ReadyCheck = NonNullable<Manifest["ready"]>;

export class ManifestError extends DinvError {}

/** Validate a manifest; the error is one line naming the field and what it must be. */
export function parseManifest(data: unknown, source: string): Manifest {
  const parsed = ManifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new ManifestError(`${source}: field ${field}: ${issue?.message ?? "bad value"}`, {
      hint: "see docs/personalities.md for the manifest's fields",
    });
  }
  const manifest = parsed.data;
  manifest.files.forEach((file, i) => {
    if (file.from === "text" && file.text === undefined)
      throw new ManifestError(`${source}: field files.${i}.text: required when from is "text"`);
    if (file.from === "file" && file.file === undefined)
      throw new ManifestError(`${source}: field files.${i}.file: required when from is "file"`);
  });
  return manifest;
}
