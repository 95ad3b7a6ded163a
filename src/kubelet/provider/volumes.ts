/**
 * A pod's volumes as an engine can carry them. An endpoint such as a VCH has no host filesystem
 * shared with the kubelet, so: emptyDir is an engine volume created and removed with the pod
 * (medium Memory: a tmpfs volume); configMap, secret, downwardAPI and projected volumes are
 * files delivered into each container through the archive API (volume-files.ts, volume-archive.ts).
 * Anything needing a host or a storage backend (hostPath, persistentVolumeClaim, nfs…) is
 * refused with a clear reason instead of being silently ignored.
 */
import type { Capabilities } from "../../engine/flavor.js";
import type { Container, Pod, Volume, VolumeMount } from "../kube/types.js";
import type { PodIdentity } from "./labels.js";
import { PodOperationError } from "./errors.js";
import { parseQuantity } from "./resources.js";

export type FileVolumeKind = "configMap" | "secret" | "downwardAPI" | "projected";
export type VolumeKind = "emptyDir" | FileVolumeKind;

const SUPPORTED: readonly VolumeKind[] = ["emptyDir", "configMap", "secret", "downwardAPI", "projected"];

const WHY_NOT: Record<string, string> = {
  hostPath: "the endpoint shares no host filesystem with the kubelet",
  persistentVolumeClaim: "dinv has no storage provisioner; use an emptyDir, or a volume on the endpoint",
};

/** The source a volume uses: a supported kind, or the name of the unsupported one. */
export function volumeKind(volume: Volume): VolumeKind | { unsupported: string } {
  const sources = Object.keys(volume).filter(
    (k) => k !== "name" && volume[k] !== undefined && volume[k] !== null,
  );
  const supported = SUPPORTED.find((k) => sources.includes(k));
  if (supported && sources.length === 1) return supported;
  return {
    unsupported: sources.find((k) => !SUPPORTED.includes(k as VolumeKind)) ?? (sources.join("+") || "none"),
  };
}

function refuse(message: string): PodOperationError {
  return new PodOperationError(message, { reason: "FailedMount", permanent: true });
}

function cleanPath(path: string): boolean {
  return !path.split("/").some((part) => part === "..");
}

/** What the endpoint's volumes can be (a VCH: disks only, each attached to one running VM). */
export type VolumeCapabilities = Pick<Capabilities, "tmpfsVolumes" | "sharedVolumes">;

const ANY_VOLUME: VolumeCapabilities = { tmpfsVolumes: true, sharedVolumes: true };

/** Every mount of every container, checked against the pod's volumes and the endpoint; throws FailedMount. */
export function checkVolumes(pod: Pod, capabilities: VolumeCapabilities = ANY_VOLUME): void {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  for (const volume of volumes.values()) {
    const kind = volumeKind(volume);
    if (typeof kind !== "string") {
      const why =
        WHY_NOT[kind.unsupported] ??
        "dinv delivers emptyDir, configMap, secret, downwardAPI and projected volumes only";
      throw refuse(`volume "${volume.name}": ${kind.unsupported} volumes are not supported (${why})`);
    }
    // Refused, never ignored: the pod would run with a disk where it asked for memory.
    if (!capabilities.tmpfsVolumes && volume.emptyDir?.medium === "Memory")
      throw refuse(
        `volume "${volume.name}": emptyDir.medium "Memory" is not supported on this endpoint (its volumes are disks; no tmpfs)`,
      );
  }
  if (!capabilities.sharedVolumes) {
    // App containers and sidecars run side by side, each its own VM, and a VMDK disk attaches to
    // one running VM only. Other init containers run one at a time before them: they may share.
    const sideBySide = [
      ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always"),
      ...pod.spec.containers,
    ];
    for (const volume of volumes.values()) {
      if (!volume.emptyDir) continue;
      const users = sideBySide.filter((c) => c.volumeMounts?.some((m) => m.name === volume.name));
      if (users.length > 1)
        throw refuse(
          `volume "${volume.name}": an emptyDir cannot be shared by containers ${users.map((c) => `"${c.name}"`).join(", ")} on this endpoint (each container is its own VM and the volume a disk only one running VM can use)`,
        );
    }
  }
  for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const seen = new Set<string>();
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.get(mount.name);
      const where = `container "${container.name}": volumeMount "${mount.name}"`;
      if (!volume) throw refuse(`${where} names no volume of the pod`);
      if (!mount.mountPath.startsWith("/") || !cleanPath(mount.mountPath) || mount.mountPath === "/")
        throw refuse(`${where}: mountPath "${mount.mountPath}" must be an absolute path below /`);
      if (seen.has(mount.mountPath)) throw refuse(`${where}: mountPath "${mount.mountPath}" is used twice`);
      seen.add(mount.mountPath);
      if (mount.subPath !== undefined && mount.subPath !== "") {
        if (mount.subPath.startsWith("/") || !cleanPath(mount.subPath))
          throw refuse(`${where}: subPath "${mount.subPath}" must be a relative path without ".."`);
        if (volumeKind(volume) === "emptyDir")
          throw refuse(
            `${where}: subPath is not supported on emptyDir volumes (the engine mounts whole volumes)`,
          );
      }
    }
  }
}

/** The engine volume behind an emptyDir, named like the pod's containers. */
export function emptyDirName(pod: PodIdentity, volume: string): string {
  return `k8s_${volume}_${pod.name}_${pod.namespace}_${pod.uid}`;
}

export interface EmptyDirPlan {
  name: string;
  engineName: string;
  tmpfs?: { sizeBytes?: number };
  /** The volume's size in MB, where volumes are sized (VIC's `Capacity`). */
  capacityMB?: number;
}

/**
 * The engine volumes behind the pod's emptyDirs. sizeLimit sizes a tmpfs; where volumes take a
 * `Capacity` (VIC: a bare number of MB, which its port layer makes Capacity x 1024 KB, i.e. MiB;
 * none gives 1024) it sizes the disk, rounded up so the volume holds at least the limit. Elsewhere a disk emptyDir is unsized,
 * as before (a kubelet enforces sizeLimit by eviction, which dinv does not do).
 */
export function emptyDirs(
  pod: Pod,
  id: PodIdentity,
  capabilities: Pick<Capabilities, "volumeCapacityOption"> = { volumeCapacityOption: false },
): EmptyDirPlan[] {
  return (pod.spec.volumes ?? []).flatMap((v) => {
    if (!v.emptyDir) return [];
    const memory = v.emptyDir.medium === "Memory";
    const size =
      v.emptyDir.sizeLimit !== undefined ? Math.floor(parseQuantity(v.emptyDir.sizeLimit)) : undefined;
    const sized = !memory && size && capabilities.volumeCapacityOption;
    return [
      {
        name: v.name,
        engineName: emptyDirName(id, v.name),
        ...(memory ? { tmpfs: size ? { sizeBytes: size } : {} } : {}),
        ...(sized ? { capacityMB: Math.max(1, Math.ceil(size / 1024 ** 2)) } : {}),
      },
    ];
  });
}

/**
 * The `HostConfig.Binds` entries (`volume:/path[:ro]`) of a container's emptyDir volumes, on
 * every flavor. VIC reads volumes only from Binds and Config.Volumes (it silently ignores
 * `HostConfig.Mounts`); Docker Engine and Podman treat a named-volume bind exactly as a
 * `Type: volume` mount (created when missing, the image's content copied into a new one), and
 * the memory-backed emptyDir is itself a named local tmpfs volume, so nothing here needs Mounts:
 * one path for all three.
 */
export function engineBinds(pod: Pod, id: PodIdentity, container: Container): string[] {
  const dirs = new Set((pod.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
  return (container.volumeMounts ?? [])
    .filter((m) => dirs.has(m.name))
    .map((m) => `${emptyDirName(id, m.name)}:${m.mountPath}${m.readOnly === true ? ":ro" : ""}`);
}

/** A container's mounts of file volumes (configMap, secret, downwardAPI, projected), with their volume. */
export function fileMounts(pod: Pod, container: Container): Array<{ mount: VolumeMount; volume: Volume }> {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  return (container.volumeMounts ?? []).flatMap((mount) => {
    const volume = volumes.get(mount.name);
    if (!volume) return [];
    const kind = volumeKind(volume);
    return kind === "emptyDir" || typeof kind !== "string" ? [] : [{ mount, volume }];
  });
}
