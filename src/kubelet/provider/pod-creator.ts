/**
 * PodCreator: pulls a pod's images (all at once, honouring imagePullPolicy, with the pod's
 * imagePullSecrets), makes its emptyDir volumes and creates its containers — the infra container
 * first where the pod has one, then init and app containers as the provider asks. It creates and
 * never starts; PodStarter starts. Failures become PodOperationError with the reason a real
 * kubelet would give; Pulling/Pulled/Failed events tell the story.
 */
import { errorMessage } from "../../errors.js";
import type { Container, Pod } from "../kube/types.js";
import { NamespaceScope } from "./config-scope.js";
import {
  appContainerSpec,
  infraContainerSpec,
  needsInfraContainer,
  podIdentity,
  pullPolicy,
  type InfraImage,
  type SpecContext,
} from "./container-spec.js";
import { engineRefused, type PodEngine, type RegistryAuth } from "./engine.js";
import type { EnvSource } from "./config-scope.js";
import { podDns } from "./dns.js";
import { resolveEnv, type EnvContext } from "./env.js";
import { PodOperationError } from "./errors.js";
import { ImageBackOff } from "./image-backoff.js";
import { containerField, type PodEventSink } from "./events.js";
import { podLabels } from "./labels.js";
import type { CachedContainer } from "./pod-cache.js";
import { authFor, pullSecrets, registryOf } from "./pull-secrets.js";
import { QuantityError } from "./resources.js";
import { verifyNonRoot } from "./security-context.js";
import { emptyDirs, engineBinds } from "./volumes.js";

export interface CreatorOptions extends Omit<SpecContext, "infraId"> {
  /** undefined where the engine has no `container:` network mode (VIC) or no pause image. */
  infraImage: InfraImage | undefined;
  /** Every pod gets an infra container, even one that could do without (the network relay needs it). */
  infraForEveryPod?: boolean;
  events?: PodEventSink;
  /** The clock of the image pull back-off (tests move it). */
  now?: () => number;
}

/** How long a pod shows ErrImagePull before it shows ImagePullBackOff (the kubelet's next sync). */
export const ERR_IMAGE_PULL_SHOWN_MS = 1000;

export class PodCreator {
  /** Pulls in flight, shared between pods that need the same image at the same time. */
  private readonly pulls = new Map<string, Promise<void>>();
  /** Presence checks in flight: pods created together ask the engine once per image. */
  private readonly checks = new Map<string, Promise<boolean>>();
  private readonly backOff: ImageBackOff;

  constructor(
    private readonly engine: PodEngine,
    readonly config: EnvSource,
    private readonly options: CreatorOptions,
  ) {
    this.backOff = new ImageBackOff(options.now);
  }

  /** Make every image of the pod (init and app containers) present, concurrently. */
  async pullImages(pod: Pod): Promise<void> {
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    const wanted = new Map<string, "Always" | "IfNotPresent" | "Never">();
    for (const c of containers) {
      const image = c.image ?? "";
      if (!validImageRef(image)) {
        throw new PodOperationError(`container "${c.name}": invalid image name "${image}"`, {
          reason: "InvalidImageName",
          permanent: true,
          hint: "fix spec.containers[].image",
        });
      }
      const policy = pullPolicy(c);
      // Always wins over IfNotPresent when two containers share an image.
      if (wanted.get(image) !== "Always") wanted.set(image, policy);
    }
    const infra = this.infraImageFor(pod);
    if (infra && !wanted.has(infra.ref)) wanted.set(infra.ref, "IfNotPresent");
    const scope = new NamespaceScope(this.config, pod.metadata?.namespace ?? "default");
    const secrets = pod.spec.imagePullSecrets?.length
      ? await pullSecrets(pod, scope, (message) =>
          this.options.events?.(pod, { type: "Warning", reason: "FailedToRetrieveImagePullSecret", message }),
        )
      : [];
    const report = (image: string, event: (name: string, init: boolean) => void) => {
      for (const c of pod.spec.initContainers ?? []) if (c.image === image) event(c.name, true);
      for (const c of pod.spec.containers) if (c.image === image) event(c.name, false);
    };
    const uid = pod.metadata?.uid ?? "";
    await Promise.all(
      [...wanted].map(async ([image, policy]) => {
        const waitMs = this.backOff.remainingMs(uid, image);
        if (waitMs > 0) {
          // Syncs right after the failure (the status write itself brings one) still show it.
          const recent = this.backOff.recentFailure(uid, image, ERR_IMAGE_PULL_SHOWN_MS);
          if (recent)
            throw new PodOperationError(recent.message, {
              reason: "ErrImagePull",
              permanent: false,
              retryAfterMs: recent.leftMs,
            });
          throw this.pullBackOff(pod, image, waitMs, report);
        }
        const auth = authFor(registryOf(image), secrets);
        try {
          const outcome = await this.ensureImage(image, policy, auth, () =>
            report(image, (name, init) =>
              this.options.events?.(pod, {
                type: "Normal",
                reason: "Pulling",
                message: `Pulling image "${image}"`,
                fieldPath: containerField(name, init),
              }),
            ),
          );
          this.backOff.succeeded(uid, image);
          report(image, (name, init) =>
            this.options.events?.(pod, {
              type: "Normal",
              reason: "Pulled",
              message:
                outcome.pulledInMs === undefined
                  ? `Container image "${image}" already present on machine`
                  : `Successfully pulled image "${image}" in ${(outcome.pulledInMs / 1000).toFixed(3)}s`,
              fieldPath: containerField(name, init),
            }),
          );
        } catch (err) {
          const failure = err instanceof PodOperationError ? err : pullFailure(image, err);
          for (const message of [errorMessage(err), `Error: ${failure.reason}`]) {
            report(image, (name, init) =>
              this.options.events?.(pod, {
                type: "Warning",
                reason: "Failed",
                message,
                fieldPath: containerField(name, init),
              }),
            );
          }
          if (failure.reason !== "ErrImagePull") throw failure;
          // As the kubelet: ErrImagePull now, ImagePullBackOff until the back-off ends, then a new pull.
          this.backOff.failed(uid, image, failure.userMessage);
          throw new PodOperationError(failure.message, {
            reason: "ErrImagePull",
            permanent: false,
            cause: err,
            retryAfterMs: ERR_IMAGE_PULL_SHOWN_MS,
            ...(failure.hint ? { hint: failure.hint } : {}),
          });
        }
      }),
    );
  }

  /** The pod is gone: its pull back-offs too. */
  forget(uid: string): void {
    this.backOff.forget(uid);
  }

  private pullBackOff(
    pod: Pod,
    image: string,
    waitMs: number,
    report: (image: string, event: (name: string, init: boolean) => void) => void,
  ): PodOperationError {
    for (const [type, reason, message] of [
      ["Normal", "BackOff", `Back-off pulling image "${image}"`],
      ["Warning", "Failed", "Error: ImagePullBackOff"],
    ] as const) {
      report(image, (name, init) =>
        this.options.events?.(pod, { type, reason, message, fieldPath: containerField(name, init) }),
      );
    }
    return new PodOperationError(`Back-off pulling image "${image}"`, {
      reason: "ImagePullBackOff",
      permanent: false,
      retryAfterMs: waitMs,
    });
  }

  private async ensureImage(
    image: string,
    policy: "Always" | "IfNotPresent" | "Never",
    auth: RegistryAuth | undefined,
    onPull: () => void,
  ): Promise<{ pulledInMs?: number }> {
    if (policy !== "Always") {
      let check = this.checks.get(image);
      if (!check) {
        check = this.engine.hasImage(image).finally(() => this.checks.delete(image));
        this.checks.set(image, check);
      }
      const present = await check.catch((err: unknown) => {
        throw pullFailure(image, err);
      });
      if (present) return {};
      if (policy === "Never") {
        throw new PodOperationError(`image "${image}" is not present and imagePullPolicy is Never`, {
          reason: "ErrImageNeverPull",
          permanent: true,
          hint: "load the image on the endpoint, or change imagePullPolicy",
        });
      }
    }
    onPull();
    const started = Date.now();
    let pull = this.pulls.get(image);
    if (!pull) {
      pull = this.engine.pullImage(image, auth).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pull);
    }
    await pull.catch((err: unknown) => {
      throw pullFailure(image, err);
    });
    return { pulledInMs: Date.now() - started };
  }

  /** The pod's emptyDir volumes (an existing one of the same name is reused). */
  async createVolumes(pod: Pod): Promise<void> {
    const id = podIdentity(pod);
    const labels = podLabels(this.options.node, id);
    await Promise.all(
      emptyDirs(pod, id, this.options.capabilities).map(async (dir) => {
        try {
          await this.engine.createVolume(dir.engineName, labels, {
            ...(dir.tmpfs ? { tmpfs: dir.tmpfs } : {}),
            ...(dir.capacityMB ? { capacityMB: dir.capacityMB } : {}),
          });
        } catch (err) {
          throw new PodOperationError(`volume "${dir.name}": ${errorMessage(err)}`, {
            reason: "FailedMount",
            permanent: engineRefused(err),
            cause: err,
          });
        }
      }),
    );
  }

  /** The infra image, when the pod has an infra container at all. */
  private infraImageFor(pod: Pod): InfraImage | undefined {
    const image = this.options.infraImage;
    return image && needsInfraContainer(pod, this.options.infraForEveryPod) ? image : undefined;
  }

  /** The infra container, or undefined when the pod runs without one. */
  async createInfra(pod: Pod): Promise<string | undefined> {
    const image = this.infraImageFor(pod);
    if (!image) return undefined;
    this.dnsWarnings(pod);
    try {
      return await this.engine.createContainer(infraContainerSpec(pod, image, this.options));
    } catch (err) {
      throw new PodOperationError(`cannot create the pod's infra container: ${errorMessage(err)}`, {
        reason: "InfraContainerError",
        permanent: engineRefused(err),
        cause: err,
      });
    }
  }

  async createContainer(
    pod: Pod,
    container: Container,
    index: number,
    envContext: EnvContext,
    infraId: string | undefined,
    role: "app" | "init" = "app",
  ): Promise<CachedContainer> {
    let env: string[];
    let spec;
    // Without an infra container the first container created carries the pod's DNS: warn once, there.
    const first = role === "init" || !pod.spec.initContainers?.length;
    if (!infraId && index === 0 && first) this.dnsWarnings(pod);
    try {
      await verifyNonRoot(pod, container, () => this.engine.imageUser(container.image ?? ""));
      env = await resolveEnv(pod, container, this.config, envContext);
      spec = appContainerSpec(
        pod,
        container,
        index,
        env,
        { ...this.options, ...(infraId ? { infraId } : {}) },
        { role, binds: engineBinds(pod, podIdentity(pod), container) },
      );
    } catch (err) {
      if (err instanceof PodOperationError) throw err;
      throw new PodOperationError(`container "${container.name}": ${errorMessage(err)}`, {
        reason: "CreateContainerConfigError",
        // A missing configMap or secret may appear later; a malformed quantity will not.
        permanent: err instanceof QuantityError,
        cause: err,
      });
    }
    try {
      const id = await this.engine.createContainer(spec);
      return {
        name: container.name,
        id,
        index,
        ...(spec.HostConfig?.Privileged ? { privileged: true } : {}),
      };
    } catch (err) {
      throw new PodOperationError(`container "${container.name}": ${errorMessage(err)}`, {
        reason: "CreateContainerError",
        permanent: engineRefused(err),
        cause: err,
      });
    }
  }

  /** MissingClusterDNS and limit warnings, as the kubelet records them on the pod. */
  private dnsWarnings(pod: Pod): void {
    for (const w of podDns(pod, this.options.clusterDns).warnings) {
      this.options.events?.(pod, { type: "Warning", reason: w.reason, message: w.message });
    }
  }
}

function pullFailure(image: string, err: unknown): PodOperationError {
  if (err instanceof PodOperationError) return err;
  return new PodOperationError(`failed to pull image "${image}": ${errorMessage(err)}`, {
    reason: "ErrImagePull",
    // Retried with the image back-off whatever the cause (the registry may come back, the image be pushed).
    permanent: false,
    hint: "check the image name and that the endpoint can reach its registry",
    cause: err,
  });
}

/** Roughly the reference grammar: lowercase path components, optional registry host, tag or digest. */
function validImageRef(image: string): boolean {
  return (
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$/.test(
      image,
    ) ||
    /^[a-zA-Z0-9.-]+(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)+(:[\w][\w.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$/.test(
      image,
    )
  );
}
