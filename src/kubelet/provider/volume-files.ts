/**
 * The files of configMap, secret, downwardAPI and projected volumes, as the kubelet writes them:
 * every key (or only `items`, at their paths) with `mode`, else `defaultMode` (0644); a missing
 * source is an error to retry unless `optional`; downward API files hold field values, or
 * `key="value"` lines for metadata.labels / metadata.annotations; projected volumes merge their
 * sources, including service-account tokens from the TokenRequest API.
 */
import type {
  ConfigMap,
  Container,
  DownwardAPIVolumeFile,
  KeyToPath,
  Pod,
  Secret,
  Volume,
  VolumeProjection,
} from "../kube/types.js";
import { NamespaceScope, type ConfigSource, type TokenSource } from "./config-scope.js";
import { ContainerConfigError, fieldValue, resourceValue, type EnvContext } from "./env.js";
import { PodOperationError } from "./errors.js";

export interface VolumeFile {
  /** Relative to the volume's root. */
  path: string;
  data: Buffer;
  mode: number;
}

export const DEFAULT_MODE = 0o644;
/** The lifetime asked for projected tokens without expirationSeconds (the kubelet's default). */
export const DEFAULT_TOKEN_SECONDS = 3600;

function checkPath(volume: string, path: string): string {
  const parts = path.split("/");
  if (
    path === "" ||
    path.startsWith("/") ||
    parts.some((p) => p === ".." || p === "") ||
    parts[0]?.startsWith("..")
  )
    throw new PodOperationError(`volume "${volume}": invalid item path "${path}"`, {
      reason: "FailedMount",
      permanent: true,
    });
  return path;
}

/** key → bytes of a configMap (data and binaryData) or a secret (base64 data). */
function configMapBytes(map: ConfigMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(map.data ?? {})) out.set(k, Buffer.from(v, "utf8"));
  for (const [k, v] of Object.entries(map.binaryData ?? {})) out.set(k, Buffer.from(v, "base64"));
  return out;
}

function secretBytes(secret: Secret): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(secret.data ?? {})) out.set(k, Buffer.from(v, "base64"));
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out.set(k, Buffer.from(v, "utf8"));
  return out;
}

function keyed(
  volume: string,
  what: string,
  data: Map<string, Buffer> | undefined,
  items: KeyToPath[] | undefined,
  optional: boolean,
  mode: number,
): VolumeFile[] {
  if (!data) {
    if (optional) return [];
    throw new ContainerConfigError(`${what} not found`);
  }
  if (!items || items.length === 0)
    return [...data].map(([key, bytes]) => ({ path: checkPath(volume, key), data: bytes, mode }));
  return items.flatMap((item) => {
    const bytes = data.get(item.key);
    if (!bytes) {
      if (optional) return [];
      throw new ContainerConfigError(`${what} has no key "${item.key}"`);
    }
    return [{ path: checkPath(volume, item.path), data: bytes, mode: item.mode ?? mode }];
  });
}

/** metadata.labels / annotations as a downward API file: sorted key="value" lines. */
function mapFile(values: Record<string, string> | undefined): string {
  return Object.keys(values ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(values?.[k] ?? "")}`)
    .join("\n");
}

function downwardFiles(
  volume: string,
  items: DownwardAPIVolumeFile[] | undefined,
  pod: Pod,
  container: Container | undefined,
  context: EnvContext,
  mode: number,
): VolumeFile[] {
  return (items ?? []).map((item) => {
    let text: string;
    if (item.fieldRef) {
      const path = item.fieldRef.fieldPath;
      text =
        path === "metadata.labels"
          ? mapFile(pod.metadata?.labels)
          : path === "metadata.annotations"
            ? mapFile(pod.metadata?.annotations)
            : fieldValue(path, pod, context);
    } else if (item.resourceFieldRef) {
      text = resourceValue(item.resourceFieldRef, pod, container, context);
    } else {
      throw new PodOperationError(
        `volume "${volume}": item "${item.path}" has no fieldRef or resourceFieldRef`,
        {
          reason: "FailedMount",
          permanent: true,
        },
      );
    }
    return { path: checkPath(volume, item.path), data: Buffer.from(text), mode: item.mode ?? mode };
  });
}

export interface FileContext {
  source: ConfigSource;
  env: EnvContext;
  tokens?: TokenSource;
}

/** The files of one volume for one container (resourceFieldRef may refer to it). */
export async function volumeFiles(
  pod: Pod,
  volume: Volume,
  container: Container | undefined,
  ctx: FileContext,
): Promise<VolumeFile[]> {
  const scope = new NamespaceScope(ctx.source, pod.metadata?.namespace ?? "default");
  if (volume.configMap) {
    const { name = "", items, optional = false, defaultMode = DEFAULT_MODE } = volume.configMap;
    const map = await scope.configMap(name);
    return keyed(
      volume.name,
      `configmap "${name}"`,
      map && configMapBytes(map),
      items,
      optional,
      defaultMode,
    );
  }
  if (volume.secret) {
    const { secretName = "", items, optional = false, defaultMode = DEFAULT_MODE } = volume.secret;
    const secret = await scope.secret(secretName);
    return keyed(
      volume.name,
      `secret "${secretName}"`,
      secret && secretBytes(secret),
      items,
      optional,
      defaultMode,
    );
  }
  if (volume.downwardAPI) {
    return downwardFiles(
      volume.name,
      volume.downwardAPI.items,
      pod,
      container,
      ctx.env,
      volume.downwardAPI.defaultMode ?? DEFAULT_MODE,
    );
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? DEFAULT_MODE;
    const parts = await Promise.all(
      (volume.projected.sources ?? []).map((source) =>
        projection(pod, volume.name, source, container, ctx, mode, scope),
      ),
    );
    return parts.flat();
  }
  return [];
}

async function projection(
  pod: Pod,
  volume: string,
  source: VolumeProjection,
  container: Container | undefined,
  ctx: FileContext,
  mode: number,
  scope: NamespaceScope,
): Promise<VolumeFile[]> {
  if (source.configMap) {
    const { name = "", items, optional = false } = source.configMap;
    const map = await scope.configMap(name);
    return keyed(volume, `configmap "${name}"`, map && configMapBytes(map), items, optional, mode);
  }
  if (source.secret) {
    const { name = "", items, optional = false } = source.secret;
    const secret = await scope.secret(name);
    return keyed(volume, `secret "${name}"`, secret && secretBytes(secret), items, optional, mode);
  }
  if (source.downwardAPI)
    return downwardFiles(volume, source.downwardAPI.items, pod, container, ctx.env, mode);
  if (source.serviceAccountToken) {
    const request = source.serviceAccountToken;
    if (!ctx.tokens)
      throw new ContainerConfigError("service-account tokens are not available (no TokenRequest API)");
    const token = await ctx.tokens.serviceAccountToken(
      scope.namespace,
      pod.spec.serviceAccountName || "default",
      {
        ...(request.audience ? { audiences: [request.audience] } : {}),
        expirationSeconds: request.expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
        boundPod: { name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
      },
    );
    return [{ path: checkPath(volume, request.path), data: Buffer.from(token.token), mode }];
  }
  return [];
}
