import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "./secure-fs.js";

/**
 * The version a host's engine last answered, kept with the id of the container that answered.
 * The engine is part of the container's image and dinv changes it only by replacing the
 * container (upgrade, set), so the version holds as long as the container id does: `ls` shows
 * it without a TLS call per host. Hidden, as a cache and not host data: exports leave it out.
 */
export const ENGINE_VERSION_FILE = ".engine-version.json";

interface CachedVersion {
  container: string;
  version: string;
}

export function cachedEngineVersion(hostDir: string, containerId: string): string | undefined {
  try {
    const cached = JSON.parse(
      readFileSync(join(hostDir, ENGINE_VERSION_FILE), "utf8"),
    ) as Partial<CachedVersion>;
    return cached.container === containerId && typeof cached.version === "string"
      ? cached.version
      : undefined;
  } catch {
    return undefined; // missing or unreadable: asked again
  }
}

/** Best effort: a host removed while ls looked, or a read-only store, only costs the next ls a call. */
export async function rememberEngineVersion(
  hostDir: string,
  containerId: string,
  version: string,
): Promise<void> {
  const cached: CachedVersion = { container: containerId, version };
  try {
    await writePrivateFile(join(hostDir, ENGINE_VERSION_FILE), `${JSON.stringify(cached)}\n`);
  } catch {
    // a cache
  }
}
