import { coversAddress, readServerCertificate } from "./certificates.js";
import { silentProgress, type Progress } from "./progress.js";
import { refreshNetworkAddress, regenerateHostCertificates } from "./regenerate.js";
import type { HostStore } from "../store/host-store.js";
import { hostPersonality, openHost, type OpenHost } from "./open.js";
import { DinvError } from "../errors.js";
import { speaksDockerApi } from "../store/host-config.js";
import { registerContext } from "./context.js";
import { dockerConfigDir } from "../store/docker-context.js";
import { dockerContextOwner } from "../store/docker-context-writer.js";
import type { HostState } from "../drivers/driver.js";

/**
 * Starting a running host, or stopping or killing a stopped one: libmachine's
 * ErrHostAlreadyInState, with its text, so scripts that test for it (and its exit 1) carry over.
 */
export class HostAlreadyInStateError extends DinvError {
  constructor(name: string, state: HostState) {
    super(`Machine "${name}" is already ${state.toLowerCase()}.`);
  }
}

async function refuseIfAlready(host: OpenHost, state: HostState): Promise<void> {
  if ((await host.driver.state()).state === state) throw new HostAlreadyInStateError(host.config.name, state);
}

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
): Promise<void> {
  let host = openHost(store, name);
  await refuseIfAlready(host, "Running");
  await hostPersonality(host); // before anything changes: its personality may have been removed
  if (!certificateCoversAddress(host)) {
    progress.warn(`${host.config.network.address} is not in ${name}'s server certificate: regenerating it`);
    await regenerateHostCertificates(store, name, progress);
    host = openHost(store, name);
  }
  await host.driver.start();
  await followNewAddress(store, name, progress);
  await waitUntilReady(openHost(store, name), timeoutSeconds);
}

/** After a start: record an address or port the host came up at, and re-issue its certificate if needed. */
async function followNewAddress(store: HostStore, name: string, progress: Progress): Promise<void> {
  const after = openHost(store, name);
  if (!(await refreshNetworkAddress(after))) return;
  await store.save(after.config);
  if (!certificateCoversAddress(after)) {
    progress.warn(
      `${name} came up at ${after.config.network.address}, not in its certificate: regenerating it`,
    );
    // Just (re)started: its containers are starting too, a reload restarting them loses nothing.
    await regenerateHostCertificates(store, name, progress, { restartsContainers: true });
  } else if (speaksDockerApi(after.config) && dockerContextOwner(dockerConfigDir(), name) === "dinv") {
    // Only the context create (or adopt) registered follows the new URL: --no-context stays so.
    await registerContext(store, after.config);
  }
}

/** An adopted host's certificate is its maker's: a mismatch shows as the TLS error of the wait. */
function certificateCoversAddress(host: OpenHost): boolean {
  const cert = readServerCertificate(host.dir, host.config);
  return cert === undefined || coversAddress(cert, host.config.network.address);
}

export async function stopHost(store: HostStore, name: string): Promise<void> {
  const host = openHost(store, name);
  await refuseIfAlready(host, "Stopped");
  await host.driver.stop(STOP_TIMEOUT_SECONDS);
}

export async function killHost(store: HostStore, name: string): Promise<void> {
  const host = openHost(store, name);
  await refuseIfAlready(host, "Stopped");
  await host.driver.kill();
}

export async function restartHost(store: HostStore, name: string, timeoutSeconds: number): Promise<void> {
  const host = openHost(store, name);
  await hostPersonality(host);
  await host.driver.restart(STOP_TIMEOUT_SECONDS);
  await followNewAddress(store, name, silentProgress);
  await waitUntilReady(openHost(store, name), timeoutSeconds);
}

export async function waitUntilReady(host: OpenHost, timeoutSeconds: number): Promise<void> {
  await (await hostPersonality(host)).waitReady(host.config, host.dir, timeoutSeconds * 1000);
}
