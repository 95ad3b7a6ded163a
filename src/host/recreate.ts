import type Dockerode from "dockerode";
import { call } from "../engine/client.js";
import type { EngineProfile } from "../engine/flavor.js";
import { DinvError, errorMessage } from "../errors.js";
import type { Personality } from "../personalities/personality.js";
import type { HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { STOP_TIMEOUT_SECONDS } from "./lifecycle.js";
import type { OpenHost } from "./open.js";
import type { Progress } from "./progress.js";
import { createMachineContainer, provisionArchive, startAndWait } from "./provision.js";

/**
 * A step failed after the old container was parked; it is back as it was. Errors before that (a lost
 * or too-open key while the files are read) are thrown as they are: the host was never touched.
 */
export class RecreateRolledBack extends DinvError {
  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
  }
}

export interface RecreateOptions {
  timeoutSeconds: number;
  /** Runs once the old container is stopped and parked, before the new one is created (e.g. a cache copy). */
  beforeCreate?: () => Promise<void>;
  /** Runs when anything failed, before the old container is put back (e.g. remove a new volume). */
  onRollback?: () => Promise<void>;
}

/**
 * Replace a host's container with one made from `next` (another image, other resources, another
 * cache volume), shared by `upgrade` and `set`: the files the new container gets are read first (a
 * lost key stops here), the old container is stopped and kept (renamed) until the new one answers,
 * and comes back as it was if anything fails; the host stays running or stopped as it was. A failure
 * after that point is a RecreateRolledBack for the caller to name.
 */
export async function recreateHost(
  store: HostStore,
  host: OpenHost,
  current: Dockerode.ContainerInspectInfo,
  next: HostConfig,
  profile: EngineProfile,
  personality: Personality,
  progress: Progress,
  options: RecreateOptions,
): Promise<void> {
  const { client, driver, config, dir } = host;
  await provisionArchive(next, dir, personality);
  const wasRunning = current.State.Running;
  if (wasRunning) {
    progress.step(`stopping ${config.name}`);
    await driver.stop(STOP_TIMEOUT_SECONDS);
    progress.done();
  }
  const parked = `${config.container.name}-recreating-${Date.now()}`;
  await call(client, () => client.docker.getContainer(current.Id).rename({ name: parked }));
  const input = { config: next, hostDir: dir, driver, personality, flavor: profile.flavor };
  let newId: string | undefined;
  try {
    await options.beforeCreate?.();
    progress.step(`creating ${config.name} from ${next.container.image}`);
    newId = await createMachineContainer(input);
    progress.done();
    if (wasRunning) await startAndWait(input, options.timeoutSeconds, progress);
  } catch (err) {
    if (newId) await driver.removeContainer(newId).catch(() => undefined);
    await options.onRollback?.().catch(() => undefined);
    await call(client, () => client.docker.getContainer(current.Id).rename({ name: config.container.name }));
    if (wasRunning) await driver.start().catch(() => undefined);
    throw new RecreateRolledBack(err);
  }
  await driver.removeContainer(current.Id);
  await store.save(next);
}
