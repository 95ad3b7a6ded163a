import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { call, type EngineClient } from "../engine/client.js";
import type { EngineProfile } from "../engine/flavor.js";
import { DinvError, errorMessage } from "../errors.js";
import type { Progress } from "./progress.js";

export class ImageError extends DinvError {}

/** The registry a reference names (docker's rule: a first part with a dot, a colon or "localhost"). */
export function registryOf(ref: string): string {
  const first = ref.split("/")[0] ?? "";
  return ref.includes("/") && (/[.:]/.test(first) || first === "localhost") ? first : "docker.io";
}

interface AuthConfig {
  username: string;
  password: string;
  serveraddress: string;
}

/**
 * The credentials `docker login` stored for the image's registry (config.json's base64 "auth"),
 * so that a pull by dinv works where the user's own `docker pull` does. Credential helpers
 * (credsStore/credHelpers) are not run: their secrets stay where they are.
 */
export function dockerCliAuth(ref: string, env: NodeJS.ProcessEnv = process.env): AuthConfig | undefined {
  const dir = env.DOCKER_CONFIG || join(homedir(), ".docker");
  let auths: Record<string, { auth?: string }>;
  try {
    auths =
      (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { auths?: typeof auths }).auths ?? {};
  } catch {
    return undefined;
  }
  const registry = registryOf(ref);
  const keys =
    registry === "docker.io"
      ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io"]
      : [
          registry,
          `https://${registry}`,
          `http://${registry}`,
          `https://${registry}/v1/`,
          `https://${registry}/v2/`,
        ];
  for (const key of keys) {
    const encoded = auths[key]?.auth;
    if (!encoded) continue;
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) continue;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: key };
  }
  return undefined;
}

interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** "[=====>    ] 120/260 MB" from the layers' download progress. */
export function pullBar(layers: Map<string, { current: number; total: number }>, width = 20): string {
  let current = 0;
  let total = 0;
  for (const layer of layers.values()) {
    current += layer.current;
    total += layer.total;
  }
  if (total === 0) return "";
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(width - filled);
  const mb = (n: number) => Math.round(n / 1e6);
  return `[${bar}] ${mb(current)}/${mb(total)} MB`;
}

/** What the endpoint holds as `image`, or undefined when it has none (404). */
async function inspectImage(client: EngineClient, image: string) {
  try {
    return await call(client, () => client.docker.getImage(image).inspect());
  } catch (err) {
    const status = ((err as DinvError).cause as { statusCode?: number } | undefined)?.statusCode;
    if (status === 404) return undefined;
    throw err;
  }
}

/**
 * The image on the endpoint, pulled from its registry when the endpoint lacks it. A VCH can get
 * images no other way (no load, import or build), and a registry is how a fleet gets new images.
 */
export async function ensureImage(
  client: EngineClient,
  image: string,
  profile: EngineProfile,
  progress: Progress,
  options: { refresh?: boolean } = {},
): Promise<Dockerode.ImageInspectInfo> {
  const present = await inspectImage(client, image);
  if (present && !options.refresh) return present;
  if (present) {
    // The tag may have moved in the registry (how a new host image reaches a VCH).
    try {
      return await pull(client, image, profile, progress);
    } catch (err) {
      progress.warn(`${errorMessage(err)}; using the copy ${client.endpoint.url} has`);
      return present;
    }
  }
  return pull(client, image, profile, progress);
}

async function pull(
  client: EngineClient,
  image: string,
  profile: EngineProfile,
  progress: Progress,
): Promise<Dockerode.ImageInspectInfo> {
  progress.step(`pulling ${image}`);
  const auth = dockerCliAuth(image);
  try {
    const layers = new Set<string>();
    const downloads = new Map<string, { current: number; total: number }>();
    let shown = 0;
    const stream = await call(client, () => client.docker.pull(image, auth ? { authconfig: auth } : {}));
    await new Promise<void>((resolve, reject) => {
      client.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (event: PullEvent) => {
          if (event.error || event.errorDetail) reject(new Error(event.errorDetail?.message ?? event.error));
          if (!event.id) return;
          if (event.status === "Pull complete") layers.add(event.id);
          const { current, total } = event.progressDetail ?? {};
          if (event.status === "Downloading" && total)
            downloads.set(event.id, { current: current ?? 0, total });
          if (event.status === "Download complete") {
            const layer = downloads.get(event.id);
            if (layer) layer.current = layer.total;
          }
          // A terminal redraw ten times a second at most.
          if (progress.update && Date.now() - shown > 100) {
            shown = Date.now();
            progress.update(pullBar(downloads));
          }
        },
      );
    });
    const pulled = await inspectImage(client, image);
    if (!pulled) throw new Error("the engine reported the pull done but has no such image");
    progress.done(layers.size ? `${layers.size} layers` : "up to date");
    return pulled;
  } catch (err) {
    const vic = profile.flavor === "vic";
    throw new ImageError(
      `image ${image} is not on ${client.endpoint.url} and pulling it failed: ${errorMessage(err)}`,
      {
        cause: err,
        hint: vic
          ? "a VCH gets images only from a registry: push the host image to one the VCH reaches (docs/vic.md) and pass --image REGISTRY/dinv/host:TAG"
          : `build or load it there (images/*/build-offline.sh), push it to a registry the endpoint reaches, or pick one with --image${auth ? "" : "; for a private registry, docker login first"}`,
      },
    );
  }
}
