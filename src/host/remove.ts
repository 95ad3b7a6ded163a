import { connect, call } from "../engine/client.js";
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { LABEL_HOST } from "../drivers/docker.js";
import { DinvError } from "../errors.js";
import type { HostStore } from "../store/host-store.js";
import { HostNotFoundError } from "../store/host-store.js";
import { unregisterContext } from "./context.js";
import { openConfig } from "./open.js";
import { removeCacheNetworkIfUnused } from "./registry-cache.js";

export interface RemoveOptions {
  /** Remove the local files even when the endpoint cannot be cleaned (and use labels for broken hosts). */
  force: boolean;
  keepCache: boolean;
  /** An adopted host's volume is kept unless this says otherwise (it was the user's before dinv's). */
  removeAdoptedCache?: boolean;
  /** Where to look for a broken host's resources (its config cannot say). */
  fallbackEndpoint: EndpointFlags;
}

/**
 * Remove a host: container, cache volume (unless keepCache), docker context and files.
 * A host whose config cannot be read is removed with --force by its io.dinv.host label.
 */
export async function removeHost(store: HostStore, name: string, options: RemoveOptions): Promise<string[]> {
  if (!store.exists(name)) throw new HostNotFoundError(name);
  const notes: string[] = [];
  let config;
  try {
    config = store.load(name);
  } catch (err) {
    if (!options.force) {
      throw new DinvError(`${(err as DinvError).message ?? String(err)}`, {
        cause: err,
        hint: `use \`dinv rm -f ${name}\` to remove it anyway`,
      });
    }
  }
  try {
    if (config) {
      const host = openConfig(store, config);
      const keepAdopted = config.adopted !== undefined && options.removeAdoptedCache !== true;
      await host.driver.remove({ keepCache: options.keepCache || keepAdopted });
      if (keepAdopted && config.container.volume)
        notes.push(
          `kept volume ${config.container.volume} (the adopted host's data; rm --remove-cache removes it too)`,
        );
      await removeCacheNetworkIfUnused(config, host.client);
    } else {
      await removeByLabel(name, options.fallbackEndpoint, options.keepCache);
    }
  } catch (err) {
    if (!options.force) throw err;
    notes.push(`could not clean the endpoint (${(err as Error).message}); removed the local files anyway`);
  }
  await unregisterContext(name);
  store.remove(name);
  return notes;
}

async function removeByLabel(name: string, endpointFlags: EndpointFlags, keepCache: boolean): Promise<void> {
  const client = connect(resolveEndpoint(endpointFlags), { timeoutMs: 10_000 });
  const filters = JSON.stringify({ label: [`${LABEL_HOST}=${name}`] });
  const containers = await call(client, () => client.docker.listContainers({ all: true, filters }));
  for (const c of containers)
    // v removes anonymous volumes only: a kept cache is a named one.
    await call(client, () => client.docker.getContainer(c.Id).remove({ force: true, v: true }));
  if (keepCache) return;
  const { Volumes } = await call(client, () => client.docker.listVolumes({ filters }));
  for (const v of Volumes ?? []) await call(client, () => client.docker.getVolume(v.Name).remove());
}
