import { readFileSync } from "node:fs";
import { DinvError } from "../errors.js";

/** How the nested dockerd is configured: daemon.json, extra command-line flags, environment. */
export interface EngineOptions {
  /** Written to /etc/docker/daemon.json (merged over dinv's defaults). */
  daemon: Record<string, unknown>;
  /** Extra dockerd flags, `--KEY=VALUE` (from --engine-opt). */
  flags: string[];
  /** dockerd's environment (from --engine-env), e.g. HTTP_PROXY. */
  env: Record<string, string>;
}

export const NO_ENGINE_OPTIONS: EngineOptions = { daemon: {}, flags: [], env: {} };

/** The create flags that shape the nested engine, as given. */
export interface EngineOptionFlags {
  engineOpt?: string[];
  engineLabel?: string[];
  engineInsecureRegistry?: string[];
  engineRegistryMirror?: string[];
  engineStorageDriver?: string;
  engineEnv?: string[];
  engineConfig?: string;
}

export class EngineOptionError extends DinvError {}

/** Settings dinv owns: the image's entrypoint sets them, a duplicate makes dockerd refuse to start. */
const RESERVED = new Set([
  "hosts",
  "host",
  "H",
  "tls",
  "tlsverify",
  "tlscacert",
  "tlscert",
  "tlskey",
  "pidfile",
  "data-root",
]);

function splitPair(value: string, flag: string, keyPattern: RegExp, rule: string): [string, string] {
  const eq = value.indexOf("=");
  const key = eq > 0 ? value.slice(0, eq) : "";
  if (!keyPattern.test(key))
    throw new EngineOptionError(`${flag} "${value}" is not KEY=VALUE`, { hint: rule });
  const val = value.slice(eq + 1);
  if (/[\r\n\0]/.test(val)) throw new EngineOptionError(`${flag} ${key} contains a line break`);
  return [key, val];
}

function checkReserved(key: string, flag: string): void {
  if (RESERVED.has(key)) {
    throw new EngineOptionError(`${flag} cannot set "${key}"`, {
      hint: "dinv manages the engine's listen addresses, TLS and data root",
    });
  }
}

function registryUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EngineOptionError(`${flag} "${value}" is not a URL`, {
      hint: "e.g. https://mirror.example.com:5000",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new EngineOptionError(`${flag} "${value}" must be http:// or https://`);
  }
  return value.replace(/\/+$/, "");
}

const REGISTRY = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d{1,5})?$|^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

/** Validate the flags and turn them into daemon.json keys, dockerd flags and environment. */
export function buildEngineOptions(flags: EngineOptionFlags): EngineOptions {
  const daemon: Record<string, unknown> = {};
  if (flags.engineConfig) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(flags.engineConfig, "utf8"));
    } catch (err) {
      throw new EngineOptionError(`--engine-config ${flags.engineConfig}: ${(err as Error).message}`, {
        hint: "give a daemon.json file (a JSON object)",
      });
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new EngineOptionError(`--engine-config ${flags.engineConfig} is not a JSON object`);
    }
    for (const key of Object.keys(parsed)) checkReserved(key, "--engine-config");
    Object.assign(daemon, parsed);
  }
  const labels = (flags.engineLabel ?? []).map((v) =>
    splitPair(v, "--engine-label", /^[a-zA-Z0-9][a-zA-Z0-9._/-]*$/, "labels are KEY=VALUE").join("="),
  );
  if (labels.length) daemon.labels = [...((daemon.labels as string[] | undefined) ?? []), ...labels];
  const insecure = (flags.engineInsecureRegistry ?? []).map((r) => {
    if (!REGISTRY.test(r))
      throw new EngineOptionError(`--engine-insecure-registry "${r}" is not HOST[:PORT] or a CIDR`);
    return r;
  });
  if (insecure.length)
    daemon["insecure-registries"] = [
      ...((daemon["insecure-registries"] as string[] | undefined) ?? []),
      ...insecure,
    ];
  const mirrors = (flags.engineRegistryMirror ?? []).map((m) => registryUrl(m, "--engine-registry-mirror"));
  if (mirrors.length)
    daemon["registry-mirrors"] = [
      ...((daemon["registry-mirrors"] as string[] | undefined) ?? []),
      ...mirrors,
    ];
  if (flags.engineStorageDriver !== undefined) {
    if (!/^[a-z0-9-]+$/.test(flags.engineStorageDriver)) {
      throw new EngineOptionError(
        `--engine-storage-driver "${flags.engineStorageDriver}" is not a storage driver name`,
      );
    }
    daemon["storage-driver"] = flags.engineStorageDriver;
  }
  const optFlags = (flags.engineOpt ?? []).map((v) => {
    const [key, value] = splitPair(
      v,
      "--engine-opt",
      /^[a-z][a-z0-9-]*$/,
      "give a dockerd flag without dashes, e.g. log-driver=none",
    );
    checkReserved(key, "--engine-opt");
    return `--${key}=${value}`;
  });
  const env = Object.fromEntries(
    (flags.engineEnv ?? []).map((v) =>
      splitPair(v, "--engine-env", /^[A-Za-z_][A-Za-z0-9_]*$/, "variables are NAME=VALUE"),
    ),
  );
  return { daemon, flags: optFlags, env };
}
