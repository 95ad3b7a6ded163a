import { personalityNamed } from "../personalities/index.js";
import { coversAddress, readServerCertificate } from "./certificates.js";
import { silentProgress, type Progress } from "./progress.js";
import { refreshNetworkAddress, regenerateHostCertificates } from "./regenerate.js";
import type { HostStore } from "../store/host-store.js";
import { openHost, type OpenHost } from "./open.js";

/** Seconds dockerd gets to shut down its containers before it is killed. */
export const STOP_TIMEOUT_SECONDS = 30;

/**
 * Start a host and wait until it answers. If the address clients use is no longer in its
 * server certificate (an endpoint or container address changed), regenerate it and say so.
 */
export async function startHost(
  store: HostStore,
  name: string,
  timeoutSeconds: number,
  progress: Progress = silentProgress,
): Promise<"started" | "already running"> {
  let host = openHost(store, name);
  const before = await host.driver.state();
  const running = before.state === "Running";
  if (!running && !certificateCoversAddress(host)) {
    progress.warn(`${host.config.network.address} is not in ${name}'s server certificate: regenerating it`);
    await regenerateHostCertificates(store, name, progress);
    host = openHost(store, name);
  }
  if (!running) await host.driver.start();
  const after = openHost(store, name);
  if ((await refreshNetworkAddress(after)) && !certificateCoversAddress(after)) {
    progress.warn(
      `${name} came up at ${after.config.network.address}, not in its certificate: regenerating it`,
    );
    await store.save(after.config);
    await regenerateHostCertificates(store, name, progress);
  }
  await waitUntilReady(openHost(store, name), timeoutSeconds);
  return running ? "already running" : "started";
}

function certificateCoversAddress(host: OpenHost): boolean {
  return coversAddress(readServerCertificate(host.dir, host.config), host.config.network.address);
}

export async function stopHost(store: HostStore, name: string): Promise<void> {
  await openHost(store, name).driver.stop(STOP_TIMEOUT_SECONDS);
}

export async function killHost(store: HostStore, name: string): Promise<void> {
  await openHost(store, name).driver.kill();
}

export async function restartHost(store: HostStore, name: string, timeoutSeconds: number): Promise<void> {
  const host = openHost(store, name);
  await host.driver.restart(STOP_TIMEOUT_SECONDS);
  await waitUntilReady(host, timeoutSeconds);
}

export async function waitUntilReady(host: OpenHost, timeoutSeconds: number): Promise<void> {
  await personalityNamed(host.config.personality).waitReady(host.config, host.dir, timeoutSeconds * 1000);
}
