import { waitForPing } from "../engine/wait.js";
import { DinvError } from "../errors.js";
import type { HostStore } from "../store/host-store.js";
import { innerClient, openHost, type OpenHost } from "./open.js";

export class HostNotRunningError extends DinvError {
  constructor(name: string, state?: string) {
    super("Host is not running", {
      hint: `"${name}" is ${state ?? "not running"}; start it with \`dinv start ${name}\``,
    });
  }
}

/** Seconds dockerd gets to shut down its containers before it is killed. */
export const STOP_TIMEOUT_SECONDS = 30;

export async function startHost(
  store: HostStore,
  name: string,
  timeoutSeconds: number,
): Promise<"started" | "already running"> {
  const host = openHost(store, name);
  const before = await host.driver.state();
  if (before.state === "Running") {
    await waitUntilReady(host, timeoutSeconds);
    return "already running";
  }
  await host.driver.start();
  await waitUntilReady(host, timeoutSeconds);
  return "started";
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
  await waitForPing(innerClient(host, 5_000), { timeoutMs: timeoutSeconds * 1000 });
}

/** The host must be running (for url, env, config, version NAME). Checks the container state. */
export async function requireRunning(host: OpenHost): Promise<void> {
  const { state } = await host.driver.state();
  if (state !== "Running") throw new HostNotRunningError(host.config.name, state);
}
