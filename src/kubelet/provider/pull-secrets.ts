/**
 * imagePullSecrets → the engine's registry credentials for one image, as the kubelet matches
 * them: secrets of type kubernetes.io/dockerconfigjson ({"auths": {…}}) or kubernetes.io/dockercfg
 * (the map itself), keys matched by registry host (scheme and path ignored, "*." wildcards,
 * Docker Hub's aliases), the first secret that has a match wins. A secret that cannot be read is
 * reported and skipped: the pull is still tried, as the kubelet does.
 */
import type { Pod, Secret } from "../kube/types.js";
import type { NamespaceScope } from "./config-scope.js";
import type { RegistryAuth } from "./engine.js";

const DOCKER_HUB = ["docker.io", "index.docker.io", "registry-1.docker.io"];
const DOCKER_HUB_ADDRESS = "https://index.docker.io/v1/";

/** The registry host of an image reference (docker.io when it names none). */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  if (image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost"))
    return first;
  return "docker.io";
}

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
}

export function keyMatches(key: string, registry: string): boolean {
  const host = hostOfKey(key).toLowerCase();
  const wanted = registry.toLowerCase();
  if (DOCKER_HUB.includes(wanted) && DOCKER_HUB.includes(host)) return true;
  if (host.startsWith("*.")) {
    const suffix = host.slice(1);
    return wanted.endsWith(suffix) && !wanted.slice(0, -suffix.length).includes(".");
  }
  return host === wanted;
}

interface DockerAuthEntry {
  username?: string;
  password?: string;
  auth?: string;
}

function entries(secret: Secret): Record<string, DockerAuthEntry> | undefined {
  const read = (key: string) => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
  };
  try {
    if (secret.type === "kubernetes.io/dockerconfigjson") {
      const text = read(".dockerconfigjson");
      return text
        ? ((JSON.parse(text) as { auths?: Record<string, DockerAuthEntry> }).auths ?? {})
        : undefined;
    }
    if (secret.type === "kubernetes.io/dockercfg") {
      const text = read(".dockercfg");
      return text ? (JSON.parse(text) as Record<string, DockerAuthEntry>) : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function authFor(registry: string, secrets: Secret[]): RegistryAuth | undefined {
  for (const secret of secrets) {
    const table = entries(secret);
    const match = Object.entries(table ?? {}).find(([key]) => keyMatches(key, registry));
    if (!match) continue;
    const entry = match[1];
    let { username, password } = entry;
    if ((!username || !password) && entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
    }
    return {
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      serveraddress: DOCKER_HUB.includes(registry) ? DOCKER_HUB_ADDRESS : registry,
    };
  }
  return undefined;
}

/** The pod's pull secrets, read from its own namespace; unreadable ones are reported and skipped. */
export async function pullSecrets(
  pod: Pod,
  scope: NamespaceScope,
  warn: (message: string) => void,
): Promise<Secret[]> {
  const names = (pod.spec.imagePullSecrets ?? []).map((s) => s.name ?? "").filter((n) => n !== "");
  const found = await Promise.all(
    names.map(async (name) => {
      try {
        const secret = await scope.secret(name);
        if (!secret)
          warn(
            `Unable to retrieve some image pull secrets (${name}); attempting to pull the image may not succeed.`,
          );
        return secret;
      } catch (err) {
        warn(`image pull secret "${name}": ${(err as Error).message}`);
        return undefined;
      }
    }),
  );
  return found.filter((s): s is Secret => s !== undefined);
}
