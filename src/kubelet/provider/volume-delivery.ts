/**
 * Puts a container's configMap, secret, downwardAPI and projected volume files into it through
 * the archive API — before it starts, and again whenever a source changed (refresh). One archive
 * per container and delivery; a volume whose files did not change is left alone.
 */
import type { Container, Pod, Volume } from "../kube/types.js";
import type { PodEngine } from "./engine.js";
import type { ConfigSource, TokenSource } from "./config-scope.js";
import type { EnvContext } from "./env.js";
import type { DeliveredVolume } from "./pod-cache.js";
import { atomicEntries, filesDigest, generationName, subPathEntries, toTar } from "./volume-archive.js";
import { volumeFiles } from "./volume-files.js";
import { fileMounts } from "./volumes.js";

export type Deliveries = Map<string, DeliveredVolume>;

export class VolumeDelivery {
  private counter = 0;

  constructor(
    private readonly engine: PodEngine,
    private readonly source: ConfigSource,
    private readonly tokens?: TokenSource,
  ) {}

  /**
   * Read every file volume's sources once before anything is created, so a missing configMap or
   * secret keeps the pod waiting without containers being made and removed at every retry.
   */
  async verify(pod: Pod, env: EnvContext): Promise<void> {
    const mounted = new Map<string, { volume: Volume; container: Container }>();
    for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers])
      for (const { volume } of fileMounts(pod, container))
        if (!mounted.has(volume.name)) mounted.set(volume.name, { volume, container });
    await Promise.all(
      [...mounted.values()].map(({ volume, container }) =>
        volumeFiles(pod, volume, container, {
          source: this.source,
          env,
          ...(this.tokens ? { tokens: this.tokens } : {}),
        }),
      ),
    );
  }

  /** Whether the container mounts any file volume. */
  needed(pod: Pod, container: Container): boolean {
    return fileMounts(pod, container).length > 0;
  }

  /**
   * Deliver what changed since `previous` (everything when there is none) and return the new
   * record. Throws when a source cannot be read (ContainerConfigError: retried by the caller).
   */
  async deliver(
    pod: Pod,
    container: Container,
    containerId: string,
    env: EnvContext,
    previous?: Deliveries,
  ): Promise<Deliveries> {
    const next: Deliveries = new Map(previous);
    const entries: Parameters<typeof toTar>[0] = [];
    const now = new Date();
    for (const { mount, volume } of fileMounts(pod, container)) {
      const before = previous?.get(mount.mountPath);
      if (before?.subPath) continue;
      const files = await volumeFiles(pod, volume, container, {
        source: this.source,
        env,
        ...(this.tokens ? { tokens: this.tokens } : {}),
      });
      const digest = filesDigest(files);
      if (mount.subPath) {
        entries.push(...subPathEntries(mount.mountPath, files, mount.subPath));
        next.set(mount.mountPath, { digest, generation: "", paths: [], subPath: true });
        continue;
      }
      if (before?.digest === digest) continue;
      const generation = generationName(now, this.counter++);
      entries.push(
        ...atomicEntries(
          mount.mountPath,
          files,
          generation,
          before ? { generation: before.generation, paths: before.paths } : undefined,
        ),
      );
      next.set(mount.mountPath, { digest, generation, paths: files.map((f) => f.path) });
    }
    if (entries.length > 0) await this.engine.putArchive(containerId, "/", await toTar(entries, now));
    return next;
  }
}
