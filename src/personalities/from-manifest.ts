import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../engine/client.js";
import { hostEngineEndpoint } from "../engine/host-endpoints.js";
import type { HostConfig } from "../store/host-config.js";
import { daemonJson } from "./daemon-json.js";
import { dockerdEnvFile, hostFilesArchive } from "./host-files.js";
import { ManifestError, type Manifest, type ManifestFile } from "./manifest.js";
import type { Personality, ProvisionFiles } from "./personality.js";
import { defaultReadyCheck, waitUntilReady } from "./ready.js";
import { sshAuthorizedKey } from "./ssh-key.js";

/**
 * The personality a manifest describes. `dir` is the personality's folder (for files it
 * delivers from there); built-in manifests deliver none.
 */
export function manifestPersonality(manifest: Manifest, dir?: string): Personality {
  const ready = manifest.ready ?? defaultReadyCheck(manifest.service.protocol);
  return {
    name: manifest.name,
    defaultImage: manifest.image,
    servicePort: manifest.service.port,
    protocol: manifest.service.protocol,
    dataDir: manifest.dataDir,
    nestedEngine: manifest.nestedEngine,
    ...(manifest.entrypoint ? { entrypoint: manifest.entrypoint } : {}),
    ...(manifest.extraPorts.length ? { extraPorts: manifest.extraPorts } : {}),
    command: (config) =>
      manifest.command === "engine-flags" ? config.engineOptions.flags : [...manifest.command],
    archive: (config, files) =>
      hostFilesArchive({
        caPem: files.caPem,
        serverCertPem: files.serverCertPem,
        serverKeyPem: files.serverKeyPem,
        extra: [
          ...manifest.files.map((file) => ({
            path: file.path,
            mode: parseInt(file.mode, 8),
            body: fileBody(file, config, files, manifest.name, dir),
          })),
          ...(files.extra ?? []),
        ],
      }),
    waitReady: (config, hostDir, timeoutMs) => waitUntilReady(ready, config, hostDir, timeoutMs),
    ...(manifest.service.protocol === "docker"
      ? {
          engineClient: (config: HostConfig, hostDir: string, timeoutMs: number) =>
            connect(hostEngineEndpoint(config, hostDir), { timeoutMs }),
        }
      : {}),
  };
}

function fileBody(
  file: ManifestFile,
  config: HostConfig,
  files: ProvisionFiles,
  personality: string,
  dir: string | undefined,
): string {
  switch (file.from) {
    case "daemon-json":
      return `${JSON.stringify(daemonJson(config.engineOptions, registryCacheDaemon(config)), null, 2)}\n`;
    case "engine-env":
      return dockerdEnvFile(config.engineOptions.env);
    case "ca":
      return files.caPem;
    case "ssh-authorized-key":
      if (!files.clientCertPem)
        throw new ManifestError(`${file.path}: no client certificate to make a key from`);
      return sshAuthorizedKey(files.clientCertPem, `dinv-${config.name}`);
    case "text":
      return file.text ?? "";
    case "file": {
      if (!dir || !file.file)
        throw new ManifestError(`personality ${personality}: ${file.path} names no file`);
      const source = join(dir, file.file);
      try {
        return readFileSync(source, "utf8");
      } catch (err) {
        throw new ManifestError(
          `personality ${personality}: cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
          { hint: `add the personality again with \`dinv personality add\`` },
        );
      }
    }
  }
}

/** A host that pulls through a dinv registry cache gets it as its engine's mirror. */
function registryCacheDaemon(config: HostConfig): Record<string, unknown> {
  return config.registryCache ? { "registry-mirrors": [config.registryCache.url] } : {};
}
