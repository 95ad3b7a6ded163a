import { join } from "node:path";
import { dockerConfigDir } from "../store/docker-context.js";
import type { HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { readPrivateFile, readPublicFile } from "../store/secure-fs.js";
import {
  dockerContextOwner,
  removeDockerContext,
  writeDockerContext,
} from "../store/docker-context-writer.js";
import { CLIENT_FILES_FIX, hostUrl } from "../engine/host-endpoints.js";
import type { Progress } from "./progress.js";

/**
 * Register the host as a Docker CLI context named after it (`docker --context NAME ps`).
 * A context of that name that dinv did not write is left alone, with a warning.
 */
export async function registerContext(
  store: HostStore,
  config: HostConfig,
  progress?: Progress,
): Promise<boolean> {
  const configDir = dockerConfigDir();
  if (dockerContextOwner(configDir, config.name) === "other") {
    progress?.warn(`a docker context named "${config.name}" exists and is not dinv's: left as it is`);
    return false;
  }
  const dir = store.hostDir(config.name);
  await writeDockerContext(configDir, {
    name: config.name,
    host: hostUrl(config),
    ca: readPublicFile(join(dir, config.files.ca), CLIENT_FILES_FIX),
    cert: readPublicFile(join(dir, config.files.clientCert), CLIENT_FILES_FIX),
    key: readPrivateFile(join(dir, config.files.clientKey), CLIENT_FILES_FIX),
    description: `dinv host ${config.name}`,
  });
  return true;
}

export async function unregisterContext(name: string): Promise<void> {
  await removeDockerContext(dockerConfigDir(), name, { onlyIfOwned: true });
}
