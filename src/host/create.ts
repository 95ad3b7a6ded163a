import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { connect, call, type EngineClient } from "../engine/client.js";
import type { Endpoint } from "../engine/endpoint.js";
import { detectEngine, type EngineProfile } from "../engine/flavor.js";
import { choosePrivilegeMode, chooseUlimits } from "../engine/privilege.js";
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { DinvError } from "../errors.js";
import { DockerDriver, LABEL_HOST } from "../drivers/docker.js";
import { personalityNamed } from "../personalities/index.js";
import type { CertificateAuthority } from "../pki/certificates.js";
import { classifySan } from "../pki/sans.js";
import { knownRuntime, rememberRuntime, type RuntimeFact } from "../store/endpoint-facts.js";
import { HOST_CONFIG_VERSION, type HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { validateHostName } from "../store/names.js";
import { HOST_FILES } from "../store/paths.js";
import { ensurePrivateDir, storeFsError, writeFilesAtomically } from "../store/secure-fs.js";
import { clientFiles, reissueServerCertificate } from "./certificates.js";
import { registerContext, unregisterContext } from "./context.js";
import { buildEngineOptions, type EngineOptionFlags } from "./engine-options.js";
import { localPortFree, pickPort, usedPorts } from "./port.js";
import type { Progress } from "./progress.js";
import {
  createMachineContainer,
  hostLabels,
  isPortTaken,
  provisionArchive,
  waitReadyOrExplain,
} from "./provision.js";
import { registryCacheLink, type RegistryAuth } from "./registry-cache.js";
import { ensureImage } from "./image-pull.js";
import { parseRegistryCa, storeRegistryCas } from "./registry-cas.js";
import { applyResources, type Resources } from "./resources.js";

export interface CreateOptions {
  name: string;
  endpoint: EndpointFlags;
  personality?: string;
  image?: string;
  tlsSans?: string[];
  publishAddress?: string;
  /** Put the host on this container network (reached at its own address) instead of publishing a port. */
  network?: { name: string; ip?: string };
  engine?: EngineOptionFlags;
  resources?: Resources;
  /** Bound for the whole wait until the host answers, in seconds. */
  timeoutSeconds: number;
  keepOnFailure: boolean;
  dockerContext: boolean;
  /** Personality registry-cache: the registry it pulls through (none: a plain registry). */
  upstream?: string;
  /** For a registry-cache: whether clients must present a certificate (default client-cert). */
  registryAuth?: RegistryAuth;
  /** Use this dinv registry cache (a host of personality registry-cache) as the engine's mirror. */
  registryCache?: string;
  /** A disposable host's lifetime in ms (--ttl): `dinv prune` removes it after that. */
  ttlMs?: number;
  /** Private registries' CAs for the host's engine (REGISTRY=FILE). */
  registryCas?: string[];
  /** daemon.json keys the caller needs whatever the --engine-* flags say (a swarm node: live-restore off). */
  daemonRequired?: Record<string, unknown>;
}

export class CreateError extends DinvError {}

const PORT_ATTEMPTS = 5;

/** Names of a host's resources on its endpoint. */
export function machineNames(name: string): { container: string; volume: string } {
  return { container: `dinv-${name}`, volume: `dinv-${name}-cache` };
}

type Undo = { what: string; run: () => Promise<void> | void };

/**
 * Create a host: endpoint check, cache volume, container, server certificate, files copied in
 * before start, start, TLS-verified readiness, config saved, docker context registered.
 * On failure everything this call created is removed again (unless keepOnFailure) and the step is named.
 */
export async function createHost(
  store: HostStore,
  options: CreateOptions,
  progress: Progress,
): Promise<HostConfig> {
  const name = validateHostName(options.name);
  const personality = await personalityNamed(options.personality ?? "docker", store.layout.root);
  const extraSans = (options.tlsSans ?? []).map((san) => (classifySan(san), san));
  const built = buildEngineOptions(options.engine ?? {});
  const engineOptions = { ...built, daemon: { ...built.daemon, ...options.daemonRequired } };
  if (options.network?.ip !== undefined) classifySan(options.network.ip);
  const registryCas = (options.registryCas ?? []).map(parseRegistryCa);
  const endpoint = resolveEndpoint(options.endpoint);
  const cacheLink = registryCacheLink(store, { ...options, personality: personality.name });
  const hostDir = store.claim(name);
  const undo: Undo[] = [{ what: "host folder", run: () => store.remove(name) }];
  let current = "starting";
  const step = (label: string) => {
    current = label;
    progress.step(label);
  };
  try {
    step(`checking endpoint ${endpoint.url}`);
    const client = connect(endpoint, { timeoutMs: Math.max(5_000, options.timeoutSeconds * 1000) });
    const profile = await detectEngine(client);
    const image = options.image ?? personality.defaultImage;
    progress.done(`${profile.flavor} ${profile.version}`);
    checkVolumeStore(profile, options.resources?.volumeStore);
    await ensureImage(client, image, profile, progress);
    if (!profile.capabilities.restartPolicies) {
      progress.warn(
        `${profile.flavor === "vic" ? "a VCH" : "this endpoint"} has no restart policies: after the endpoint or the host's container restarts, bring the host back with \`dinv start ${name}\``,
      );
    }
    for (const note of applyResources(options.resources ?? {}, profile.flavor).notes) progress.warn(note);

    step("preparing certificates");
    const certs = await store.certificates();
    await writeFilesAtomically(clientFiles(hostDir, certs));
    const endpointTls = copyEndpointTls(endpoint, hostDir);
    const storedRegistryCas = await storeRegistryCas(hostDir, registryCas);
    progress.done();

    step("choosing how to run the host");
    const runtime = await runtimeFor(store, client, profile, image);
    const privilege = personality.nestedEngine ? runtime.privilege : "none";
    const { ulimits } = runtime;
    progress.done(ulimits ? `${privilege}, nofile ${ulimits.nofile}, nproc ${ulimits.nproc}` : privilege);

    const names = machineNames(name);
    const driver = new DockerDriver(client, names);
    let config: HostConfig = {
      version: HOST_CONFIG_VERSION,
      name,
      driver: "docker",
      personality: personality.name,
      protocol: personality.protocol,
      createdAt: new Date().toISOString(),
      ...(options.ttlMs ? { expiresAt: new Date(Date.now() + options.ttlMs).toISOString() } : {}),
      endpoint: { url: endpoint.url, ...(endpointTls ? { tls: endpointTls } : {}) },
      engine: { flavor: profile.flavor, version: profile.version },
      container: {
        name: names.container,
        volume: names.volume,
        image,
        privilege,
        ...(ulimits ? { ulimits } : {}),
      },
      network: options.network
        ? {
            mode: "network",
            address: options.network.ip ?? "",
            publishAddress: "",
            port: personality.servicePort,
            name: options.network.name,
            ...(options.network.ip ? { ip: options.network.ip } : {}),
          }
        : {
            mode: "publish",
            address: clientAddress(endpoint),
            publishAddress:
              options.publishAddress ?? (endpoint.protocol === "unix" ? "127.0.0.1" : "0.0.0.0"),
            port: 0,
          },
      engineOptions,
      ...(storedRegistryCas.length ? { registryCas: storedRegistryCas } : {}),
      resources: options.resources ?? {},
      tls: { keyType: certs.ca.keyType, sans: [], extraSans },
      files: {
        ca: HOST_FILES.ca,
        clientCert: HOST_FILES.clientCert,
        clientKey: HOST_FILES.clientKey,
        serverCert: HOST_FILES.serverCert,
        serverKey: HOST_FILES.serverKey,
      },
    };
    if (cacheLink) {
      current = "linking the registry cache";
      config = await cacheLink.prepare(config, client, progress);
    }

    current = `checking that ${names.container} is free on ${endpoint.url}`;
    await ensureNamesFree(driver, name, endpoint, progress, undo, config, profile);

    // The address is known before start except on a network without --ip: then the
    // certificate follows right after start (the image waits for it).
    const addressKnown = config.network.address !== "";
    if (addressKnown) await issueServer(config, certs.ca, hostDir, progress);

    const known = store
      .list()
      .filter((h) => h.config?.endpoint.url === endpoint.url)
      .map((h) => h.config?.network.port ?? 0);
    const isLocal = endpoint.protocol === "unix" || ["127.0.0.1", "localhost", "::1"].includes(endpoint.host);
    const input = { config, hostDir, driver, personality, flavor: profile.flavor };
    for (let attempt = 1; ; attempt++) {
      if (config.network.mode === "publish") {
        const used = await usedPorts(client, known);
        const port = await pickPort(used, (p) =>
          isLocal ? localPortFree(p, config.network.publishAddress) : Promise.resolve(true),
        );
        if (port === undefined) throw new CreateError(`no free port left on ${endpoint.url} for the host`);
        config.network.port = port;
      }
      step("creating the host container");
      const id = await createMachineContainer(input, { withFiles: addressKnown });
      const containerUndo: Undo = {
        what: `container ${names.container}`,
        run: () => driver.removeContainer(id),
      };
      undo.push(containerUndo);
      progress.done(`${names.container}, certificates copied in`);
      try {
        step("starting the host");
        await driver.start();
        progress.done(config.network.mode === "publish" ? `port ${config.network.port}` : undefined);
        break;
      } catch (err) {
        if (attempt >= PORT_ATTEMPTS || !isPortTaken(err)) throw err;
        progress.warn(`port ${config.network.port} was taken meanwhile; trying another`);
        await driver.removeContainer(id);
        undo.splice(undo.indexOf(containerUndo), 1);
      }
    }
    if (!addressKnown) {
      step("reading the host's address on its network");
      const info = await call(client, () => driver.inspect());
      const ip = info?.NetworkSettings.Networks?.[config.network.name ?? ""]?.IPAddress;
      if (!ip) throw new CreateError(`the host got no address on network ${config.network.name}`);
      config.network.address = ip;
      progress.done(ip);
      await issueServer(config, certs.ca, hostDir, progress);
      await driver.copyIn(await provisionArchive(config, hostDir, personality));
    }

    step("waiting for the host's service (TLS)");
    await waitReadyOrExplain(input, options.timeoutSeconds);
    progress.done();

    current = "saving the host";
    await store.save(config);
    if (options.dockerContext && personality.engineClient) {
      current = "registering the docker context";
      if (await registerContext(store, config, progress))
        undo.push({ what: "docker context", run: () => unregisterContext(name) });
    }
    return config;
  } catch (err) {
    const reason = err instanceof DinvError ? err.userMessage : (err as Error).message;
    if (options.keepOnFailure) {
      throw new CreateError(`creating host "${name}" failed while ${current}: ${reason}`, {
        cause: err,
        hint: `kept what was created (--keep-on-failure); remove it with \`dinv rm -f ${name}\``,
      });
    }
    const leftovers: string[] = [];
    for (const undoStep of undo.reverse()) {
      try {
        await undoStep.run();
      } catch {
        leftovers.push(undoStep.what);
      }
    }
    const tail = leftovers.length ? ` (could not remove: ${leftovers.join(", ")})` : "";
    throw new CreateError(`creating host "${name}" failed while ${current}: ${reason}${tail}`, {
      cause: err,
    });
  }
}

async function ensureNamesFree(
  driver: DockerDriver,
  name: string,
  endpoint: Endpoint,
  progress: Progress,
  undo: Undo[],
  config: HostConfig,
  profile: EngineProfile,
): Promise<void> {
  const names = driver.names;
  if (await call(driver.client, () => driver.inspect())) {
    throw new CreateError(`a container named ${names.container} already exists on ${endpoint.url}`, {
      hint: `it belongs to another dinv store or was left behind: remove it (docker rm -f ${names.container}) or pick another name`,
    });
  }
  const existingVolume = await driver.inspectVolume();
  if (existingVolume) {
    // A cache kept by `rm --keep-cache` is reused; anything else with that name is not ours to touch.
    if (existingVolume.Labels?.[LABEL_HOST] !== name) {
      throw new CreateError(
        `a volume named ${names.volume} already exists on ${endpoint.url} and is not this host's cache`,
        {
          hint: "remove it or pick another name",
        },
      );
    }
    progress.warn(`reusing the data kept in volume ${names.volume}`);
    if (profile.capabilities.volumeCapacityOption && config.resources.cacheBytes !== undefined) {
      progress.warn(`--cache-size applies to a new volume only: volume ${names.volume} keeps its size`);
    }
    return;
  }
  progress.step(`creating volume ${names.volume}`);
  const { volumeOptions } = applyResources(config.resources, profile.flavor);
  await driver.createVolume(hostLabels(config, "cache"), volumeOptions);
  undo.push({ what: `volume ${names.volume}`, run: () => driver.removeVolume() });
  progress.done(
    volumeOptions.Capacity
      ? `${volumeOptions.Capacity.replace(/MB$/, "")} MiB${volumeOptions.VolumeStore ? ` in store ${volumeOptions.VolumeStore}` : ""}`
      : undefined,
  );
}

/**
 * Where the cache volume's disk comes from: on a VCH a volume store must exist (a VCH deployed
 * without one fails every volume create late, with "No volume store named (default) exists").
 */
export function checkVolumeStore(profile: EngineProfile, wanted: string | undefined): void {
  if (!profile.capabilities.volumeStores) {
    if (wanted !== undefined) {
      throw new CreateError(`--volume-store applies to VIC only; ${profile.flavor} has no volume stores`, {
        hint: "leave it out on this endpoint",
      });
    }
    return;
  }
  const stores = profile.volumeStores ?? [];
  const store = wanted ?? "default";
  if (stores.includes(store)) return;
  throw new CreateError(
    stores.length
      ? `the VCH has no volume store named "${store}"; it has: ${stores.join(", ")}`
      : `the VCH has no volume store, and the image cache needs one`,
    {
      hint: stores.length
        ? `pass --volume-store ${stores[0]}`
        : "add one with vic-machine configure --volume-store DATASTORE/PATH:default",
    },
  );
}

/** Issue and store the host's server certificate for its current address. */
async function issueServer(
  config: HostConfig,
  ca: CertificateAuthority,
  hostDir: string,
  progress: Progress,
): Promise<void> {
  progress.step("issuing the server certificate");
  progress.done((await reissueServerCertificate(config, hostDir, ca)).join(", "));
}

/**
 * How containers run on this endpoint (limits) and how a nested engine gets its rights:
 * remembered per endpoint and engine version (the probes start containers).
 */
async function runtimeFor(
  store: HostStore,
  client: EngineClient,
  profile: EngineProfile,
  image: string,
): Promise<RuntimeFact> {
  const url = client.endpoint.url;
  const known = knownRuntime(store.layout.root, url, profile.version);
  if (known) return known;
  const ulimits = await chooseUlimits(client, profile, image);
  const privilege = await choosePrivilegeMode(client, profile, image, ulimits);
  const runtime = { privilege, ...(ulimits ? { ulimits } : {}) };
  await rememberRuntime(store.layout.root, url, profile.version, runtime);
  return runtime;
}

/** The address clients use to reach hosts on this endpoint. */
export function clientAddress(endpoint: Endpoint): string {
  return endpoint.protocol === "unix" ? "127.0.0.1" : endpoint.host;
}

/** Copy the endpoint's TLS files into the host folder, so the store holds relative paths only. */
export function copyEndpointTls(endpoint: Endpoint, hostDir: string): HostConfig["endpoint"]["tls"] {
  if (endpoint.protocol !== "tcp" || !endpoint.tls) return undefined;
  const dir = join(hostDir, HOST_FILES.endpointDir);
  ensurePrivateDir(dir);
  const out: NonNullable<HostConfig["endpoint"]["tls"]> = { verify: endpoint.tls.verify };
  for (const kind of ["ca", "cert", "key"] as const) {
    const source = endpoint.tls[kind];
    if (!source) continue;
    const relative = join(HOST_FILES.endpointDir, `${kind}.pem`);
    try {
      copyFileSync(source, join(hostDir, relative));
    } catch (err) {
      throw storeFsError(err, `copy the endpoint's TLS ${kind} file ${source} to`, join(hostDir, relative));
    }
    out[kind] = relative;
  }
  return out;
}
