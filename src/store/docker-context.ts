import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { EndpointError } from "../errors.js";

/** The docker CLI's configuration folder: $DOCKER_CONFIG or ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG && env.DOCKER_CONFIG !== "" ? env.DOCKER_CONFIG : join(homedir(), ".docker");
}

/** Where the docker CLI keeps a context: meta.json and its TLS files, keyed by sha256(name). */
export function contextPaths(configDir: string, name: string): { metaDir: string; tlsDir: string } {
  const id = createHash("sha256").update(name).digest("hex");
  return {
    metaDir: join(configDir, "contexts", "meta", id),
    tlsDir: join(configDir, "contexts", "tls", id),
  };
}

export interface DockerContext {
  name: string;
  host: string;
  skipTlsVerify: boolean;
  /** TLS files of the context's docker endpoint, where present. */
  tls: { ca?: string; cert?: string; key?: string };
}

/** The context the docker CLI would use: $DOCKER_CONTEXT, else config.json's currentContext. */
export function currentContextName(
  configDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (env.DOCKER_CONTEXT && env.DOCKER_CONTEXT !== "") return env.DOCKER_CONTEXT;
  const configFile = join(configDir, "config.json");
  if (!existsSync(configFile)) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configFile, "utf8"));
  } catch (err) {
    throw new EndpointError(`cannot read ${configFile}: ${(err as Error).message}`, {
      hint: "fix or remove the file",
    });
  }
  const current = (config as { currentContext?: unknown }).currentContext;
  return typeof current === "string" && current !== "" ? current : undefined;
}

export function readDockerContext(configDir: string, name: string): DockerContext {
  const { metaDir, tlsDir } = contextPaths(configDir, name);
  const metaFile = join(metaDir, "meta.json");
  if (!existsSync(metaFile)) {
    throw new EndpointError(`docker context "${name}" does not exist (no ${metaFile})`, {
      hint: "pick another with `docker context use`, or pass --endpoint",
    });
  }
  let meta: { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
  try {
    meta = JSON.parse(readFileSync(metaFile, "utf8")) as typeof meta;
  } catch (err) {
    throw new EndpointError(`cannot read docker context "${name}" (${metaFile}): ${(err as Error).message}`);
  }
  const docker = meta.Endpoints?.docker;
  if (typeof docker?.Host !== "string" || docker.Host === "") {
    throw new EndpointError(`docker context "${name}" has no docker endpoint host (${metaFile})`);
  }
  const tls: DockerContext["tls"] = {};
  for (const file of ["ca", "cert", "key"] as const) {
    const path = join(tlsDir, "docker", `${file}.pem`);
    if (existsSync(path)) tls[file] = path;
  }
  return { name, host: docker.Host, skipTlsVerify: docker.SkipTLSVerify === true, tls };
}
