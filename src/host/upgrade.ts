import { call } from "../engine/client.js";
import { detectEngine } from "../engine/flavor.js";
import { DinvError } from "../errors.js";
import { madeByDinv } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { ensureImage } from "./image-pull.js";
import { hostPersonality, openHost } from "./open.js";
import type { Progress } from "./progress.js";
import { recreateHost, RecreateRolledBack } from "./recreate.js";

export interface UpgradeResult {
  name: string;
  from: string;
  to: string;
  upgraded: boolean;
}

/**
 * Move a host to the newest image of its reference (or to a given one): keep its name, volume (the image cache),
 * certificates, engine options and port; recreate the container; leave it running or
 * stopped as it was. The old container is kept (renamed) until the new one answers, and
 * comes back if anything fails.
 */
export async function upgradeHost(
  store: HostStore,
  name: string,
  options: { image?: string; timeoutSeconds: number },
  progress: Progress,
): Promise<UpgradeResult> {
  const host = openHost(store, name);
  madeByDinv(host.config, "upgrade");
  const personality = await hostPersonality(host);
  const { client, driver, config } = host;
  // Without --image: the reference the host runs, read again (a rebuilt or re-pushed tag moves it).
  const image = options.image ?? config.container.image;
  const profile = await detectEngine(client);
  // Where images come only by pull, "the newest image" is what the registry has now.
  const target = await ensureImage(client, image, profile, progress, {
    refresh: profile.capabilities.pullOnly,
  });
  const current = await call(client, () => driver.inspect());
  if (!current)
    throw new DinvError(`the container of ${name} is missing on ${client.endpoint.url}`, {
      hint: `remove the host with \`dinv rm -f ${name}\``,
    });
  const from = config.container.image;
  // A VCH's container inspect gives a bare hex id where its image inspect says "sha256:…".
  if (bareId(current.Image) === bareId(target.Id)) return { name, from, to: image, upgraded: false };

  const upgraded = { ...config, container: { ...config.container, image } };
  try {
    await recreateHost(store, host, current, upgraded, profile, personality, progress, {
      timeoutSeconds: options.timeoutSeconds,
    });
  } catch (err) {
    if (!(err instanceof RecreateRolledBack)) throw err;
    throw new DinvError(`upgrading ${name} failed: ${err.message}; the host is back on ${from}`, {
      cause: err.cause,
    });
  }
  return { name, from, to: image, upgraded: true };
}

function bareId(id: string): string {
  return id.replace(/^sha256:/, "");
}
