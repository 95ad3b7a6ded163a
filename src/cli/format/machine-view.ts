/**
 * docker-machine's data shapes (libmachine's Host, HostOptions, engine/swarm/auth Options and
 * ls's HostListItem), filled from a dinv host, so that `inspect -f` and `ls --format` templates
 * written for docker-machine keep working. Pure functions, no I/O.
 */
import { join } from "node:path";
import type { HostConfig } from "../../store/host-config.js";

/** libmachine's current host config version: tools that check it see a current host. */
export const MACHINE_CONFIG_VERSION = 3;

/** Where a host's files are: the store root, its certs/ folder and the host's folder. */
export interface StorePaths {
  root: string;
  certsDir: string;
  hostDir: string;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];

/** "KEY=VALUE" as [KEY, VALUE] ("KEY" alone: an empty value). */
export function keyValue(pair: string): [string, string] {
  const eq = pair.indexOf("=");
  return eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
}

/** The engine labels a host was created with (--engine-label, daemon.json's labels). */
export const engineLabels = (config: HostConfig): string[] => strings(config.engineOptions.daemon.labels);

/** engine.Options: what the nested dockerd was given (daemon.json keys, flags, environment). */
export function engineOptionsView(config: HostConfig): Record<string, unknown> {
  const daemon = config.engineOptions.daemon;
  const text = (key: string) => (typeof daemon[key] === "string" ? daemon[key] : "");
  const mirrors = strings(daemon["registry-mirrors"]);
  if (config.registryCache && !mirrors.includes(config.registryCache.url))
    mirrors.push(config.registryCache.url);
  return {
    // docker-machine keeps --engine-opt values without their dashes.
    ArbitraryFlags: config.engineOptions.flags.map((f) => f.replace(/^--/, "")),
    Dns: strings(daemon.dns),
    GraphDir: text("data-root") || "/var/lib/docker",
    Env: Object.entries(config.engineOptions.env).map(([k, v]) => `${k}=${v}`),
    Ipv6: daemon.ipv6 === true,
    InsecureRegistry: strings(daemon["insecure-registries"]),
    Labels: engineLabels(config),
    LogLevel: text("log-level"),
    StorageDriver: text("storage-driver"),
    SelinuxEnabled: daemon["selinux-enabled"] === true,
    TlsVerify: true,
    RegistryMirror: mirrors,
    InstallURL: "",
  };
}

/** swarm.Options of a host that is no Swarm member (dinv creates none). */
export function swarmOptionsView(): Record<string, unknown> {
  return {
    IsSwarm: false,
    Address: "",
    Discovery: "",
    Agent: false,
    Master: false,
    Host: "",
    Image: "",
    Strategy: "",
    Heartbeat: 0,
    Overcommit: 0,
    ArbitraryFlags: [],
    ArbitraryJoinFlags: [],
    Env: [],
    IsExperimental: false,
  };
}

/**
 * auth.Options. The CA and client pair point into the host's folder (the copies that open this
 * host, also for an imported one); the remote paths are where the host image reads its server files.
 */
export function authOptionsView(config: HostConfig, paths: StorePaths): Record<string, unknown> {
  const host = (file: string) => join(paths.hostDir, file);
  return {
    CertDir: paths.certsDir,
    CaCertPath: host(config.files.ca),
    CaPrivateKeyPath: config.adopted ? host(config.adopted.caKey) : join(paths.certsDir, "ca-key.pem"),
    CaCertRemotePath: "/certs/server/ca.pem",
    // An adopted host's server files stay where its maker put them (src/host/adopt.ts).
    ServerCertPath: config.files.serverCert ? host(config.files.serverCert) : "",
    ServerKeyPath: config.files.serverKey ? host(config.files.serverKey) : "",
    ClientKeyPath: host(config.files.clientKey),
    ServerCertRemotePath: "/certs/server/cert.pem",
    ServerKeyRemotePath: "/certs/server/key.pem",
    ClientCertPath: host(config.files.clientCert),
    // As in docker-machine: the --tls-san values (.Tls.Sans lists every SAN).
    ServerCertSANs: config.tls.extraSans,
    StorePath: paths.hostDir,
  };
}

/** dinv's own config with Go-style capitalised field names. */
function capitalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(capitalise);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k.charAt(0).toUpperCase() + k.slice(1),
        capitalise(v),
      ]),
    );
  }
  return value;
}

/**
 * inspect's document: docker-machine's Host fields first (ConfigVersion, Driver, DriverName,
 * HostOptions, Name), then dinv's own config, capitalised. `.Driver` is docker-machine's driver
 * object (dinv's driver name is `.DriverName`, as there).
 */
export function inspectView(
  config: HostConfig,
  paths: StorePaths,
  health?: Record<string, unknown>,
): Record<string, unknown> {
  const own = capitalise(config) as Record<string, unknown>;
  delete own.Driver;
  const mib = (bytes: number | undefined) => (bytes === undefined ? 0 : Math.round(bytes / 2 ** 20));
  return {
    ConfigVersion: MACHINE_CONFIG_VERSION,
    Driver: {
      IPAddress: config.network.address,
      MachineName: config.name,
      // No SSH into a dinv host (exec goes through the Docker API): the SSH fields stay empty.
      SSHUser: "",
      SSHPort: 0,
      SSHKeyPath: "",
      StorePath: paths.root,
      SwarmMaster: false,
      SwarmHost: "",
      SwarmDiscovery: "",
      EnginePort: config.network.port,
      Endpoint: config.endpoint.url,
      ContainerName: config.container.name,
    },
    DriverName: config.driver,
    HostOptions: {
      Driver: "",
      Memory: mib(config.resources.memoryBytes),
      Disk: mib(config.resources.cacheBytes),
      EngineOptions: engineOptionsView(config),
      SwarmOptions: swarmOptionsView(),
      AuthOptions: authOptionsView(config, paths),
    },
    ...own,
    // Read from the running engine (healthView): absent when the host does not answer.
    ...(health ? { Health: health } : {}),
  };
}

/** A duration as Go's time.Duration prints it (ls's .ResponseTime): 1.5s, 12.345ms, 800µs. */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return "0s";
  const trim = (n: number, digits: number) => n.toFixed(digits).replace(/\.?0+$/, "");
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3, 3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6, 6)}ms`;
  const totalSeconds = ns / 1e9;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = trim(totalSeconds % 60, 9);
  return `${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${seconds}s`;
}
