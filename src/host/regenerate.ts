import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { call } from "../engine/client.js";
import { machineStateOf } from "../drivers/docker.js";
import { DinvError } from "../errors.js";
import { madeByDinv, speaksDockerApi, type HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { readPublicFile, writeFilesAtomically } from "../store/secure-fs.js";
import { reissueAdoptedClient } from "./adopt.js";
import { clientFiles, reissueServerCertificate, servedFingerprint } from "./certificates.js";
import { registerContext } from "./context.js";
import { hostPersonality, openHost, type OpenHost } from "./open.js";
import type { Progress } from "./progress.js";
import { provisionArchive } from "./provision.js";

/** How long a running host gets to serve the new certificate. */
const RELOAD_TIMEOUT_MS = 60_000;

/**
 * New server certificate for a host (every SAN kept, the current address picked up),
 * delivered into the container and, when it runs, taken into use by a reload: SIGHUP makes
 * the image restart its service with live-restore, so the host's containers keep running.
 */
export async function regenerateHostCertificates(
  store: HostStore,
  name: string,
  progress: Progress,
  options: ReloadOptions = {},
): Promise<string[]> {
  const host = openHost(store, name);
  madeByDinv(host.config, "regenerate the server certificate of");
  await refuseReloadWithoutLiveRestore(host, options);
  await refreshNetworkAddress(host);
  progress.step(`issuing a new server certificate for ${name}`);
  const certs = await store.certificates();
  if (readPublicFile(join(host.dir, host.config.files.ca)).trim() !== certs.ca.certPem.trim()) {
    throw new DinvError(
      `this store's CA did not issue the certificates of "${name}" (imported without --with-ca?)`,
      {
        hint: "regenerate them on the workstation that holds its CA, then export and import again",
      },
    );
  }
  const sans = await reissueServerCertificate(host.config, host.dir, certs.ca);
  await store.save(host.config);
  progress.done(sans.join(", "));
  await deliverAndReload(host, progress);
  return sans;
}

export interface ReloadOptions {
  /** The caller knows a reload restarts the host's containers (live-restore off) and has made that safe. */
  restartsContainers?: boolean;
}

/**
 * A reload keeps containers running only with live-restore; a swarm node runs without it
 * (swarm mode refuses it), so reloading one stops its tasks. Say so instead of doing it
 * silently: `dinv swarm regenerate-certs` drains the node first, then reloads it knowingly.
 */
async function refuseReloadWithoutLiveRestore(host: OpenHost, options: ReloadOptions): Promise<void> {
  if (options.restartsContainers || host.config.engineOptions.daemon["live-restore"] !== false) return;
  const { state } = await host.driver.state();
  if (state !== "Running") return;
  const name = host.config.name;
  throw new DinvError(
    `${name} runs its engine without live-restore (a swarm node): reloading it would stop its containers and swarm tasks`,
    {
      hint: `renew a swarm node's certificates with \`dinv swarm regenerate-certs SWARM ${name}\`, which drains it first`,
    },
  );
}

/**
 * On a container network without a fixed address (no --ip) the host may get another
 * address at each start, and an adopted host published on any free port (`-p 2376`) another
 * port: follow them. Returns whether they changed.
 */
export async function refreshNetworkAddress(host: OpenHost): Promise<boolean> {
  const network = host.config.network;
  const followsPort =
    host.config.adopted !== undefined && network.mode === "publish" && network.publishAddress;
  const followsAddress = network.mode === "network" && network.name && !network.ip;
  if (!followsPort && !followsAddress) return false;
  const info = await call(host.client, () => host.driver.inspect());
  if (followsPort) {
    const { port } = machineStateOf(info?.State.Status, false, info?.NetworkSettings.Ports);
    if (!port || port === network.port) return false;
    network.port = port;
    return true;
  }
  const ip = info?.NetworkSettings.Networks?.[network.name ?? ""]?.IPAddress;
  if (!ip || ip === network.address) return false;
  network.address = ip;
  return true;
}

/** Copy the host's files in again and, if it runs, make its service use them. */
export async function deliverAndReload(host: OpenHost, progress: Progress): Promise<void> {
  const personality = await hostPersonality(host);
  progress.step("copying the certificates into the host");
  await host.driver.copyIn(await provisionArchive(host.config, host.dir, personality));
  progress.done();
  const { state } = await host.driver.state();
  if (state !== "Running") return;
  progress.step("reloading the host's service (its containers keep running)");
  const { serverCert } = madeByDinv(host.config, "reload");
  const expected = new X509Certificate(readPublicFile(join(host.dir, serverCert))).fingerprint256;
  await call(host.client, () =>
    host.client.docker.getContainer(host.config.container.name).kill({ signal: "SIGHUP" }),
  );
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  for (;;) {
    const served = await servedFingerprint(host.config.network.address, host.config.network.port);
    if (served === expected) break;
    if (Date.now() > deadline) {
      throw new DinvError(
        `${host.config.name} still serves its old certificate after ${RELOAD_TIMEOUT_MS / 1000}s`,
        {
          hint: `restart it with \`dinv restart ${host.config.name}\``,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await personality.waitReady(host.config, host.dir, RELOAD_TIMEOUT_MS);
  progress.done();
}

/**
 * Renew the store's CA and client pair, then re-issue and deliver every host's certificates
 * (and re-register their docker contexts). Clients holding the old CA stop working.
 */
export async function renewStoreCertificates(
  store: HostStore,
  progress: Progress,
): Promise<{ renewed: string[]; failed: string[] }> {
  progress.step("creating a new CA and client certificate");
  const certs = await store.renewCertificates();
  progress.done();
  const renewed: string[] = [];
  const failed: string[] = [];
  for (const stored of store.list()) {
    if (!stored.config) {
      failed.push(`${stored.name} (${stored.error.message})`);
      continue;
    }
    try {
      const dir = store.hostDir(stored.name);
      if (stored.config.adopted) {
        // Its engine trusts its maker's CA, not the store's: its client pair comes from that CA.
        await reissueAdoptedClient(stored.config, dir);
        await registerContextIfDocker(store, stored.config);
        renewed.push(stored.name);
        continue;
      }
      await writeFilesAtomically(clientFiles(dir, certs));
      await regenerateHostCertificates(store, stored.name, progress);
      await registerContextIfDocker(store, store.load(stored.name));
      renewed.push(stored.name);
    } catch (err) {
      failed.push(`${stored.name} (${err instanceof DinvError ? err.userMessage : (err as Error).message})`);
    }
  }
  return { renewed, failed };
}

/**
 * docker-machine's `provision` for a dinv host: issue its server certificate again and deliver
 * it with the engine options (daemon.json, environment), reload a running host's service (its
 * containers and image cache stay), and register its docker context again.
 */
export async function reprovisionHost(store: HostStore, name: string, progress: Progress): Promise<void> {
  await regenerateHostCertificates(store, name, progress);
  await registerContextIfDocker(store, store.load(name));
}

async function registerContextIfDocker(store: HostStore, config: HostConfig): Promise<void> {
  if (speaksDockerApi(config)) await registerContext(store, config);
}
