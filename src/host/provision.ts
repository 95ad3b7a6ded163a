import { join } from "node:path";
import type { Flavor } from "../engine/flavor.js";
import { LABEL_HOST, LABEL_ROLE, type DockerDriver } from "../drivers/docker.js";
import { FrameDecoder } from "../engine/stdcopy.js";
import { DinvError } from "../errors.js";
import { hostContainerOptions } from "../personalities/docker/container-spec.js";
import type { Personality } from "../personalities/personality.js";
import { madeByDinv, type HostConfig } from "../store/host-config.js";
import { readPrivateFile, readPublicFile } from "../store/secure-fs.js";
import { activeShareCas } from "../store/shares.js";
import type { Progress } from "./progress.js";
import { joinCacheNetwork } from "./registry-cache.js";
import { registryCaArchiveEntries } from "./registry-cas.js";
import { applyResources } from "./resources.js";

/** Labels of a host's container (and, with role "cache", its volume). */
export function hostLabels(config: HostConfig, role: "host" | "cache"): Record<string, string> {
  return { [LABEL_HOST]: config.name, [LABEL_ROLE]: role, "io.dinv.personality": config.personality };
}

/** The files a host gets before it starts: its server certificate, the CA, the personality's configuration. */
export async function provisionArchive(
  config: HostConfig,
  hostDir: string,
  personality: Personality,
): Promise<Buffer> {
  const extra: Array<{ path: string; mode: number; body: string }> = [];
  if (config.registryCache) {
    // Trust the cache's certificate (issued by the store's CA) for its registry name.
    extra.push({
      path: `/etc/docker/certs.d/${config.registryCache.registry}/ca.crt`,
      mode: 0o644,
      body: readPublicFile(join(hostDir, config.files.ca)),
    });
    const { clientCert, clientKey } = config.registryCache;
    if (clientCert && clientKey) {
      // The pair its engine presents to the cache (docker's certs.d naming: client.cert + client.key).
      const dir = `/etc/docker/certs.d/${config.registryCache.registry}`;
      extra.push(
        { path: `${dir}/client.cert`, mode: 0o644, body: readPublicFile(join(hostDir, clientCert)) },
        { path: `${dir}/client.key`, mode: 0o600, body: readPrivateFile(join(hostDir, clientKey)) },
      );
    }
  }
  if (config.registryAuth) {
    // A registry cache's trusted client CAs: the registry-client CA's hosts and the store's own client.
    extra.push({
      path: "/certs/server/clients-ca.pem",
      mode: 0o644,
      body: [config.registryAuth.clientCa, config.files.ca]
        .map((file) => `${readPublicFile(join(hostDir, file)).trim()}\n`)
        .join(""),
    });
  }
  extra.push(...registryCaArchiveEntries(config, hostDir));
  const made = madeByDinv(config, "write files into");
  return personality.archive(config, {
    caPem: clientTrustBundle(config, hostDir),
    clientCertPem: readPublicFile(join(hostDir, config.files.clientCert)),
    serverCertPem: readPublicFile(join(hostDir, made.serverCert)),
    serverKeyPem: readPrivateFile(
      join(hostDir, made.serverKey),
      `run \`dinv regenerate-certs ${config.name}\` to issue a new server certificate and key`,
    ),
    extra,
  });
}

/**
 * The CAs whose clients the host's engine accepts: the store's (the owner), plus, for an engine
 * host, the CA of each share still active (src/store/shares.ts: a revoke drops one CA).
 */
function clientTrustBundle(config: HostConfig, hostDir: string): string {
  const owner = readPublicFile(join(hostDir, config.files.ca));
  const shares = config.personality === "docker" ? activeShareCas(hostDir) : [];
  return [owner, ...shares].map((pem) => `${pem.trim()}\n`).join("");
}

export interface BuildContainerInput {
  config: HostConfig;
  hostDir: string;
  driver: DockerDriver;
  personality: Personality;
  flavor: Flavor;
}

/** Create the host's container from its config and copy its files in (not started). Returns the id. */
export async function createMachineContainer(
  input: BuildContainerInput,
  options = { withFiles: true },
): Promise<string> {
  const { config, personality } = input;
  const { hostConfig: resources } = applyResources(config.resources, input.flavor);
  const network = config.network;
  const id = await input.driver.createContainer(
    hostContainerOptions({
      containerName: config.container.name,
      image: config.container.image,
      volumeName: madeByDinv(config, "create the container of").volume,
      privilege: config.container.privilege,
      ...(config.container.ulimits ? { ulimits: config.container.ulimits } : {}),
      labels: hostLabels(config, "host"),
      restartPolicy: "unless-stopped",
      servicePort: personality.servicePort,
      dataDir: personality.dataDir,
      cmd: personality.command(config),
      ...(personality.entrypoint ? { entrypoint: personality.entrypoint } : {}),
      ...(personality.extraPorts ? { extraPorts: personality.extraPorts } : {}),
      resources,
      hostname: config.name.replace(/\./g, "-").slice(0, 63),
      ...(network.mode === "publish"
        ? { publish: { hostIp: network.publishAddress, hostPort: network.port } }
        : { network: { name: network.name ?? "", ...(network.ip ? { ip: network.ip } : {}) } }),
    }),
  );
  try {
    // Hosts using a registry cache (and caches) reach each other on the cache network.
    await joinCacheNetwork(config, input.driver.client, id);
  } catch (err) {
    await input.driver.removeContainer(id).catch(() => undefined);
    throw err;
  }
  if (!options.withFiles) return id;
  try {
    await input.driver.copyIn(await provisionArchive(config, input.hostDir, personality));
  } catch (err) {
    await input.driver.removeContainer(id).catch(() => undefined);
    throw err;
  }
  return id;
}

/** Docker Engine, Podman, and a VCH ("error mapping ports: port N is not available", portmap.go). */
const PORT_TAKEN =
  /port is already allocated|address already in use|bind for .* failed|port \d+ is not available/i;

export function isPortTaken(err: unknown): boolean {
  return PORT_TAKEN.test((err as Error)?.message ?? "");
}

/** Start the container and wait until the service answers over TLS; name the cause when it does not. */
export async function startAndWait(
  input: BuildContainerInput,
  timeoutSeconds: number,
  progress: Progress,
): Promise<void> {
  progress.step("starting the host");
  await input.driver.start();
  progress.done();
  progress.step("waiting for the host's service (TLS)");
  await waitReadyOrExplain(input, timeoutSeconds);
  progress.done();
}

/** Wait for the service; if it never answers, the error carries the host's last log lines. */
export async function waitReadyOrExplain(input: BuildContainerInput, timeoutSeconds: number): Promise<void> {
  try {
    await input.personality.waitReady(input.config, input.hostDir, timeoutSeconds * 1000);
  } catch (err) {
    throw new DinvError(`${(err as Error).message}${await logTail(input.driver)}`, { cause: err });
  }
}

async function logTail(driver: DockerDriver): Promise<string> {
  try {
    const text = (await logTailLines(driver, 5)).join("\n").trim();
    return text ? `; the host's last log lines: ${text.split("\n").slice(-3).join(" | ")}` : "";
  } catch {
    return "";
  }
}

/** The host container's last `tail` log lines (stdout and stderr: host containers have no TTY). */
export async function logTailLines(driver: DockerDriver, tail: number): Promise<string[]> {
  const logs = await driver.logs({ tail });
  const decoder = new FrameDecoder();
  const chunks: string[] = [];
  for await (const chunk of logs) {
    for (const frame of decoder.push(Buffer.from(chunk as Buffer)))
      chunks.push(frame.payload.toString("utf8"));
  }
  return chunks.join("").split("\n").filter(Boolean);
}
