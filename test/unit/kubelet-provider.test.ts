/**
 * The pod operations (PodCache, PodCreator, PodStarter, PodStopper, PodDeleter, PodStatus and the
 * provider composing them) against a test double of the engine, one test per failing step —
 * as the original VIC provider's mock-based tests did, plus what it never checked.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { capabilitiesOf } from "../../src/engine/flavor.js";
import { EngineError } from "../../src/errors.js";
import type { ConfigMap, Container, Pod, Secret, Service } from "../../src/kubelet/kube/types.js";
import type { EnvSource } from "../../src/kubelet/provider/config-scope.js";
import {
  ImagePullError,
  type CreateContainerSpec,
  type EngineContainerDetails,
  type EngineContainerEvent,
  type EngineContainerSummary,
  type EventSubscription,
  type PodEngine,
  type RegistryAuth,
  type VolumeOptions,
} from "../../src/kubelet/provider/engine.js";
import { PodOperationError } from "../../src/kubelet/provider/errors.js";
import {
  LABEL_CONTAINER,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_NODE,
  LABEL_ROLE,
  LABEL_UID,
} from "../../src/kubelet/provider/labels.js";
import { PodCache, type CachedPod } from "../../src/kubelet/provider/pod-cache.js";
import { ERR_IMAGE_PULL_SHOWN_MS, PodCreator } from "../../src/kubelet/provider/pod-creator.js";
import { PodDeleter } from "../../src/kubelet/provider/pod-deleter.js";
import { PodStarter } from "../../src/kubelet/provider/pod-starter.js";
import { phaseOf, podStatusFrom } from "../../src/kubelet/provider/pod-status.js";
import { gracePeriod, PodStopper } from "../../src/kubelet/provider/pod-stopper.js";
import { DockerProvider } from "../../src/kubelet/provider/provider.js";
import type { PodEvent, PodEventSink } from "../../src/kubelet/provider/events.js";

const NODE = "vk-test";

/** An engine refusal (HTTP status), as call() produces it. */
function refused(status: number, message: string): EngineError {
  return new EngineError(`unix:///fake: ${message} (HTTP ${status})`, {
    cause: Object.assign(new Error(message), { statusCode: status }),
  });
}
/** The engine not answering: transient. */
function unreachable(): EngineError {
  return new EngineError("unix:///fake refused the connection", {
    cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
  });
}

interface FakeContainer {
  id: string;
  spec: CreateContainerSpec;
  status: EngineContainerDetails["state"]["status"];
  exitCode: number;
  restartCount: number;
  stopTimeout?: number;
  killedWith?: string;
  /** Starts so far: each run gets its own startedAt, a minute after the previous one. */
  starts?: number;
  finishedAt?: string;
}

type Method =
  | "createVolume"
  | "putArchive"
  | "hasImage"
  | "pullImage"
  | "createContainer"
  | "startContainer"
  | "stopContainer"
  | "killContainer"
  | "removeContainer"
  | "listContainers"
  | "inspectContainer";

/** In-memory engine with failure injection per method (optionally only for matching arguments). */
class FakeEngine implements PodEngine {
  images = new Set<string>();
  containers = new Map<string, FakeContainer>();
  calls: string[] = [];
  failures = new Map<Method, { err: Error; when?: (arg: unknown) => boolean }>();
  pullDelayMs = 0;
  pullAuth = new Map<string, RegistryAuth | undefined>();
  volumes = new Map<string, { labels: Record<string, string>; options: VolumeOptions }>();
  /** Archives put into containers: id → [path, tar]. */
  archives: Array<{ id: string; path: string; tar: Buffer }> = [];
  inFlightPulls = 0;
  maxConcurrentPulls = 0;
  private next = 1;
  private listeners: Array<(e: EngineContainerEvent) => void> = [];

  fail(method: Method, err: Error, when?: (arg: unknown) => boolean): this {
    this.failures.set(method, { err, ...(when ? { when } : {}) });
    return this;
  }

  private check(method: Method, arg: unknown): void {
    this.calls.push(`${method} ${typeof arg === "string" ? arg : ((arg as { name?: string })?.name ?? "")}`);
    const f = this.failures.get(method);
    if (f && (!f.when || f.when(arg))) throw f.err;
  }

  emit(event: EngineContainerEvent): void {
    for (const l of this.listeners) l(event);
  }

  async listContainers(labels: Record<string, string>): Promise<EngineContainerSummary[]> {
    this.check("listContainers", "");
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => c.spec.Labels?.[k] === v))
      .map((c) => ({ id: c.id, labels: c.spec.Labels ?? {}, state: c.status }));
  }
  async inspectContainer(id: string): Promise<EngineContainerDetails | undefined> {
    this.check("inspectContainer", id);
    const c = this.containers.get(id);
    if (!c) return undefined;
    return {
      id,
      image: c.spec.Image ?? "",
      imageId: `sha256:${c.spec.Image}`,
      labels: c.spec.Labels ?? {},
      created: "2026-01-01T00:00:00Z",
      state: {
        status: c.status,
        exitCode: c.exitCode,
        error: "",
        oomKilled: false,
        startedAt:
          c.status === "created"
            ? "0001-01-01T00:00:00Z"
            : new Date(Date.parse("2026-01-01T00:00:01.5Z") + Math.max(0, (c.starts ?? 1) - 1) * 60_000)
                .toISOString()
                .replace(".500Z", ".5Z"),
        finishedAt: c.status === "exited" ? (c.finishedAt ?? "2026-01-01T00:00:09Z") : "0001-01-01T00:00:00Z",
      },
      restartCount: c.restartCount,
      ...(c.spec.Labels?.[LABEL_ROLE] === "infra" ||
      !String(c.spec.HostConfig?.NetworkMode).startsWith("container:")
        ? { ipAddress: `172.17.0.${c.id.replace(/\D/g, "")}` }
        : {}),
    };
  }
  /** Config.User per image (none: root). */
  imageUsers = new Map<string, string>();
  async imageUser(ref: string): Promise<string> {
    return this.imageUsers.get(ref) ?? "";
  }
  async hasImage(ref: string): Promise<boolean> {
    this.check("hasImage", ref);
    return this.images.has(ref);
  }
  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    this.pullAuth.set(ref, auth);
    this.inFlightPulls++;
    this.maxConcurrentPulls = Math.max(this.maxConcurrentPulls, this.inFlightPulls);
    try {
      await new Promise((r) => setTimeout(r, this.pullDelayMs));
      this.check("pullImage", ref);
      this.images.add(ref);
    } finally {
      this.inFlightPulls--;
    }
  }
  async createContainer(spec: CreateContainerSpec): Promise<string> {
    this.check("createContainer", spec);
    const id = `c${this.next++}`;
    this.containers.set(id, { id, spec, status: "created", exitCode: 0, restartCount: 0 });
    return id;
  }
  async startContainer(id: string): Promise<void> {
    this.check("startContainer", id);
    const c = this.containers.get(id);
    if (!c) throw refused(404, "no such container");
    c.status = "running";
    c.starts = (c.starts ?? 0) + 1;
  }
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    this.check("stopContainer", id);
    const c = this.containers.get(id);
    if (c) {
      c.status = "exited";
      c.stopTimeout = timeoutSeconds;
    }
  }
  async killContainer(id: string, signal: string): Promise<void> {
    this.check("killContainer", id);
    const c = this.containers.get(id);
    if (c) {
      c.status = "exited";
      c.killedWith = signal;
    }
  }
  async removeContainer(id: string): Promise<void> {
    this.check("removeContainer", id);
    this.containers.delete(id);
  }
  async createVolume(
    name: string,
    labels: Record<string, string>,
    options: VolumeOptions = {},
  ): Promise<void> {
    this.check("createVolume", name);
    this.volumes.set(name, { labels, options });
  }
  async removeVolume(name: string): Promise<void> {
    this.calls.push(`removeVolume ${name}`);
    this.volumes.delete(name);
  }
  async listVolumes(labels: Record<string, string>): Promise<string[]> {
    return [...this.volumes]
      .filter(([, v]) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .map(([name]) => name);
  }
  async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
    this.check("putArchive", id);
    if (!this.containers.has(id)) throw refused(404, "no such container");
    this.archives.push({ id, path, tar });
  }
  async importImage(_tarball: Buffer, ref: string): Promise<void> {
    this.images.add(ref);
  }
  async watchEvents(
    _labels: Record<string, string>,
    onEvent: (e: EngineContainerEvent) => void,
  ): Promise<EventSubscription> {
    this.listeners.push(onEvent);
    return { close: () => (this.listeners = this.listeners.filter((l) => l !== onEvent)) };
  }
}

class FakeConfig implements EnvSource {
  maps = new Map<string, ConfigMap>();
  secrets = new Map<string, Secret>();
  services: Service[] = [];
  async listServices(ns: string) {
    return this.services.filter((s) => (s.metadata?.namespace ?? "default") === ns);
  }
  async getService(ns: string, name: string) {
    return this.services.find(
      (s) => (s.metadata?.namespace ?? "default") === ns && s.metadata?.name === name,
    );
  }
  async getConfigMap(ns: string, name: string) {
    return this.maps.get(`${ns}/${name}`);
  }
  async getSecret(ns: string, name: string) {
    return this.secrets.get(`${ns}/${name}`);
  }
}

function testPod(
  overrides: Partial<Pod["spec"]> = {},
  name = "web",
  namespace = "team-a",
  uid = "uid-1",
): Pod {
  return {
    metadata: { name, namespace, uid },
    spec: { nodeName: NODE, containers: [{ name: "app", image: "example/app:1" }], ...overrides },
  };
}

const INFRA = { ref: "dinv/pause:1", entrypoint: ["/pause"] };

/** A pod of two containers: they share a network namespace through an infra container. */
function twoContainerPod(first: Container = { name: "app", image: "example/app:1" }): Pod {
  return testPod({ containers: [first, { name: "side", image: "example/app:1" }] });
}

function creator(
  engine: FakeEngine,
  config = new FakeConfig(),
  withInfra = true,
  events?: PodEventSink,
): PodCreator {
  return new PodCreator(engine, config, {
    node: NODE,
    flavor: "docker",
    capabilities: capabilitiesOf("docker"),
    infraImage: withInfra ? INFRA : undefined,
    ...(events ? { events } : {}),
  });
}

function provider(engine: FakeEngine, config = new FakeConfig(), events?: PodEventSink): DockerProvider {
  engine.images.add(INFRA.ref);
  return new DockerProvider(engine, creator(engine, config, true, events), {
    node: NODE,
    flavor: "docker",
    hostIP: "10.0.0.5",
    nodeAllocatable: { cpu: 4, memory: 8 * 2 ** 30 },
    ...(events ? { events } : {}),
  });
}

async function rejectsWith(
  promise: Promise<unknown>,
  reason: string,
  permanent: boolean,
): Promise<PodOperationError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PodOperationError, `expected a PodOperationError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.permanent, permanent, `permanent should be ${permanent}`);
    return err;
  }
  assert.fail(`expected ${reason}`);
}

describe("PodCreator: images", () => {
  it("pulls every image of a pod concurrently, each once", async () => {
    const engine = new FakeEngine();
    engine.pullDelayMs = 20;
    const pod = testPod({
      containers: [
        { name: "a", image: "example/a:1" },
        { name: "b", image: "example/b:1" },
        { name: "c", image: "example/a:1" },
      ],
    });
    await creator(engine).pullImages(pod);
    assert.equal(engine.maxConcurrentPulls, 3, "a, b and the infra image at once");
    assert.equal(engine.calls.filter((c) => c === "pullImage example/a:1").length, 1);
  });

  it("honours IfNotPresent, Always and Never", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/present:1").add("example/latest").add(INFRA.ref);
    await creator(engine).pullImages(
      testPod({
        containers: [
          { name: "a", image: "example/present:1", imagePullPolicy: "IfNotPresent" },
          { name: "b", image: "example/latest" }, // no tag: Always by default
        ],
      }),
    );
    const pulls = engine.calls.filter((c) => c.startsWith("pullImage"));
    assert.deepEqual(pulls, ["pullImage example/latest"]);
    const never = rejectsWith(
      creator(engine).pullImages(
        testPod({ containers: [{ name: "a", image: "example/absent:1", imagePullPolicy: "Never" }] }),
      ),
      "ErrImageNeverPull",
      true,
    );
    await never;
  });

  it("shares a pull in flight between pods", async () => {
    const engine = new FakeEngine();
    engine.pullDelayMs = 20;
    engine.images.add(INFRA.ref);
    const c = creator(engine);
    await Promise.all([c.pullImages(testPod({}, "one")), c.pullImages(testPod({}, "two"))]);
    assert.equal(engine.calls.filter((x) => x === "pullImage example/app:1").length, 1);
  });

  it("a pull the engine refuses is ErrImagePull naming the image, then ImagePullBackOff: 10 s doubling to 300 s", async () => {
    const engine = new FakeEngine().fail(
      "pullImage",
      new ImagePullError("manifest for example/app:1 not found"),
    );
    let now = 1_000_000;
    const events: PodEvent[] = [];
    const c = new PodCreator(engine, new FakeConfig(), {
      node: NODE,
      flavor: "docker",
      capabilities: capabilitiesOf("docker"),
      infraImage: undefined,
      events: (_pod, e) => events.push(e),
      now: () => now,
    });
    const pod = testPod();
    const err = await rejectsWith(c.pullImages(pod), "ErrImagePull", false);
    assert.match(err.message, /example\/app:1/);
    assert.match(err.userMessage, /check the image name/);
    assert.equal(err.retryAfterMs, ERR_IMAGE_PULL_SHOWN_MS, "the next sync shows the back-off");
    const pulls = () => engine.calls.filter((x) => x.startsWith("pullImage")).length;
    assert.equal(pulls(), 1);
    const waits: number[] = [];
    const shown = await rejectsWith(c.pullImages(pod), "ErrImagePull", false);
    assert.equal(pulls(), 1, "a sync right after the failure shows it again, without a pull");
    assert.equal(shown.userMessage, err.userMessage);
    for (let i = 0; i < 7; i++) {
      now += 1000;
      const backOff = await rejectsWith(c.pullImages(pod), "ImagePullBackOff", false);
      assert.equal(pulls(), i + 1, "no pull during the back-off");
      waits.push((backOff.retryAfterMs ?? 0) + 1000);
      now += backOff.retryAfterMs ?? 0;
      await rejectsWith(c.pullImages(pod), "ErrImagePull", false);
    }
    assert.deepEqual(waits, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    assert.ok(
      events.some((e) => e.reason === "BackOff" && e.message === 'Back-off pulling image "example/app:1"'),
    );
    assert.ok(events.some((e) => e.reason === "Failed" && e.message === "Error: ImagePullBackOff"));
    assert.ok(events.some((e) => e.reason === "Failed" && e.message === "Error: ErrImagePull"));
    // Another pod of the same image has its own back-off (the kubelet keys it by pod uid).
    await rejectsWith(c.pullImages(testPod({}, "other", "team-a", "uid-2")), "ErrImagePull", false);
    // Once the image can be had, the pull after the back-off succeeds and the back-off is forgotten.
    engine.failures.delete("pullImage");
    now += 300_000;
    await c.pullImages(pod);
    await c.pullImages(pod);
  });

  it("a pull that cannot reach the engine is transient", async () => {
    const engine = new FakeEngine().fail("pullImage", unreachable());
    await rejectsWith(creator(engine).pullImages(testPod()), "ErrImagePull", false);
  });

  it("an image check that fails is a pull failure", async () => {
    const engine = new FakeEngine().fail("hasImage", unreachable());
    await rejectsWith(
      creator(engine).pullImages(testPod({ containers: [{ name: "a", image: "x/y:1" }] })),
      "ErrImagePull",
      false,
    );
  });

  it("refuses an invalid image name without asking the engine", async () => {
    const engine = new FakeEngine();
    await rejectsWith(
      creator(engine).pullImages(testPod({ containers: [{ name: "a", image: "Not Valid!" }] })),
      "InvalidImageName",
      true,
    );
    assert.deepEqual(engine.calls, []);
  });
});

describe("PodCreator: containers", () => {
  const envContext = {
    hostIP: "10.0.0.5",
    podIP: "172.17.0.9",
    nodeAllocatable: { cpu: 4, memory: 2 ** 33 },
  };

  it("creates the infra container with the pod's hostname and published ports", async () => {
    const engine = new FakeEngine();
    const pod = twoContainerPod({
      name: "app",
      image: "example/app:1",
      ports: [{ containerPort: 80, hostPort: 8080 }],
    });
    const id = await creator(engine).createInfra(pod);
    const spec = engine.containers.get(id ?? "")?.spec;
    assert.equal(spec?.Hostname, "web");
    assert.deepEqual(spec?.Entrypoint, ["/pause"]);
    assert.deepEqual(spec?.HostConfig?.PortBindings, { "80/tcp": [{ HostIp: "", HostPort: "8080" }] });
    assert.equal(spec?.Labels?.[LABEL_ROLE], "infra");
  });

  it("creates no infra container where the engine cannot share a network namespace", async () => {
    const engine = new FakeEngine();
    assert.equal(await creator(engine, new FakeConfig(), false).createInfra(testPod()), undefined);
    assert.equal(engine.containers.size, 0);
  });

  it("infra creation refused → permanent InfraContainerError; unreachable → transient", async () => {
    await rejectsWith(
      creator(new FakeEngine().fail("createContainer", refused(500, "no space"))).createInfra(
        twoContainerPod(),
      ),
      "InfraContainerError",
      true,
    );
    await rejectsWith(
      creator(new FakeEngine().fail("createContainer", unreachable())).createInfra(twoContainerPod()),
      "InfraContainerError",
      false,
    );
  });

  it("records MissingClusterDNS once per pod when ClusterFirst has no --cluster-dns; none with it", async () => {
    const events: PodEvent[] = [];
    const engine = new FakeEngine();
    const pod = twoContainerPod();
    await creator(engine, new FakeConfig(), true, (_pod, e) => events.push(e)).createInfra(pod);
    await creator(engine, new FakeConfig(), true, (_pod, e) => events.push(e)).createContainer(
      pod,
      pod.spec.containers[0]!,
      0,
      envContext,
      "infra-id",
    );
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.reason}`),
      ["Warning MissingClusterDNS"],
    );
    const withDns = new PodCreator(engine, new FakeConfig(), {
      node: NODE,
      flavor: "docker",
      capabilities: capabilitiesOf("docker"),
      infraImage: INFRA,
      clusterDns: { servers: ["10.96.0.10"], domain: "cluster.local" },
      events: (_pod, e) => events.push(e),
    });
    const id = await withDns.createInfra(pod);
    assert.equal(events.length, 1);
    assert.deepEqual(engine.containers.get(id ?? "")?.spec.HostConfig?.Dns, ["10.96.0.10"]);
  });

  it("joins the infra container's network and resolves env", async () => {
    const engine = new FakeEngine();
    const config = new FakeConfig();
    config.maps.set("team-a/settings", { data: { level: "debug" } });
    const pod = testPod({
      containers: [
        {
          name: "app",
          image: "example/app:1",
          command: ["/bin/app"],
          args: ["--level=$(LEVEL)"],
          env: [{ name: "LEVEL", valueFrom: { configMapKeyRef: { name: "settings", key: "level" } } }],
          workingDir: "/srv",
        },
      ],
    });
    const created = await creator(engine, config).createContainer(
      pod,
      pod.spec.containers[0]!,
      0,
      envContext,
      "infra-id",
    );
    const spec = engine.containers.get(created.id)?.spec;
    assert.equal(spec?.HostConfig?.NetworkMode, "container:infra-id");
    assert.deepEqual(spec?.Entrypoint, ["/bin/app"]);
    assert.deepEqual(spec?.Cmd, ["--level=debug"]);
    assert.deepEqual(spec?.Env, ["LEVEL=debug"]);
    assert.equal(spec?.WorkingDir, "/srv");
    assert.equal(spec?.Hostname, undefined, "a joined container takes the infra container's hostname");
  });

  it("a missing configMap is a transient CreateContainerConfigError; a bad quantity a permanent one", async () => {
    const engine = new FakeEngine();
    const pod = testPod({
      containers: [
        {
          name: "app",
          image: "example/app:1",
          env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "later", key: "k" } } }],
        },
      ],
    });
    const err = await rejectsWith(
      creator(engine).createContainer(pod, pod.spec.containers[0]!, 0, envContext, undefined),
      "CreateContainerConfigError",
      false,
    );
    assert.match(err.message, /configmap "later" not found/);
    const bad = testPod({
      containers: [{ name: "app", image: "example/app:1", resources: { limits: { memory: "lots" } } }],
    });
    await rejectsWith(
      creator(engine).createContainer(bad, bad.spec.containers[0]!, 0, envContext, undefined),
      "CreateContainerConfigError",
      true,
    );
    assert.equal(engine.containers.size, 0);
  });

  it("container creation refused → permanent CreateContainerError; unreachable → transient", async () => {
    const pod = testPod();
    await rejectsWith(
      creator(new FakeEngine().fail("createContainer", refused(409, "name in use"))).createContainer(
        pod,
        pod.spec.containers[0]!,
        0,
        envContext,
        undefined,
      ),
      "CreateContainerError",
      true,
    );
    await rejectsWith(
      creator(new FakeEngine().fail("createContainer", unreachable())).createContainer(
        pod,
        pod.spec.containers[0]!,
        0,
        envContext,
        undefined,
      ),
      "CreateContainerError",
      false,
    );
  });
});

function entryWith(engine: FakeEngine, names: string[], infra = true): CachedPod {
  const entry: CachedPod = { namespace: "team-a", name: "web", uid: "uid-1", containers: new Map() };
  if (infra) {
    entry.infraId = "infra";
    engine.containers.set("infra", {
      id: "infra",
      spec: { Labels: { [LABEL_ROLE]: "infra" } },
      status: "created",
      exitCode: 0,
      restartCount: 0,
    });
  }
  names.forEach((n, index) => {
    engine.containers.set(n, {
      id: n,
      spec: { Labels: { [LABEL_NODE]: NODE, [LABEL_UID]: "uid-1" } },
      status: "created",
      exitCode: 0,
      restartCount: 0,
    });
    entry.containers.set(n, { name: n, id: n, index });
  });
  return entry;
}

describe("PodStarter", () => {
  it("starts the infra container, then every app container", async () => {
    const engine = new FakeEngine();
    const entry = entryWith(engine, ["a", "b"]);
    const starter = new PodStarter(engine);
    await starter.startInfra(entry);
    await starter.startContainers(entry);
    assert.deepEqual(engine.calls, ["startContainer infra", "startContainer a", "startContainer b"]);
  });

  it("infra start failure → InfraContainerError; app start refused → permanent StartError", async () => {
    const engine = new FakeEngine().fail(
      "startContainer",
      refused(400, 'exec: "/bin/nope": no such file'),
      (id) => id === "b",
    );
    const entry = entryWith(engine, ["a", "b"]);
    const err = await rejectsWith(new PodStarter(engine).startContainers(entry), "StartError", true);
    assert.match(err.message, /container "b" did not start/);
    const infraFails = new FakeEngine().fail("startContainer", unreachable());
    await rejectsWith(
      new PodStarter(infraFails).startInfra(entryWith(infraFails, [])),
      "InfraContainerError",
      false,
    );
  });
});

describe("PodStopper", () => {
  it("stops app containers within the grace period, then the infra container at once", async () => {
    const engine = new FakeEngine();
    const entry = entryWith(engine, ["a", "b"]);
    await new PodStopper(engine).stop(entry, 7);
    assert.equal(engine.containers.get("a")?.stopTimeout, 7);
    assert.equal(engine.containers.get("b")?.stopTimeout, 7);
    assert.equal(engine.containers.get("infra")?.stopTimeout, 0);
    assert.equal(engine.calls.at(-1), "stopContainer infra");
  });

  it("takes the deletion's grace, else the spec's, else 30 s", () => {
    assert.equal(gracePeriod(testPod({ terminationGracePeriodSeconds: 5 })), 5);
    const deleting = testPod({ terminationGracePeriodSeconds: 5 });
    deleting.metadata = { ...deleting.metadata, deletionGracePeriodSeconds: 2 };
    assert.equal(gracePeriod(deleting), 2);
    assert.equal(gracePeriod(testPod()), 30);
  });

  it("passes a stop failure on", async () => {
    const engine = new FakeEngine().fail("stopContainer", unreachable());
    await assert.rejects(new PodStopper(engine).stop(entryWith(engine, ["a"]), 1), EngineError);
  });
});

describe("PodDeleter", () => {
  it("removes the known containers and anything else carrying the pod's uid; twice is fine", async () => {
    const engine = new FakeEngine();
    const entry = entryWith(engine, ["a"]);
    engine.containers.set("orphan", {
      id: "orphan",
      spec: { Labels: { [LABEL_NODE]: NODE, [LABEL_UID]: "uid-1" } },
      status: "created",
      exitCode: 0,
      restartCount: 0,
    });
    engine.containers.set("other", {
      id: "other",
      spec: { Labels: { [LABEL_NODE]: NODE, [LABEL_UID]: "uid-2" } },
      status: "running",
      exitCode: 0,
      restartCount: 0,
    });
    const deleter = new PodDeleter(engine, NODE);
    await deleter.delete(entry);
    assert.deepEqual([...engine.containers.keys()], ["other"]);
    await deleter.delete(entry);
    assert.deepEqual([...engine.containers.keys()], ["other"]);
  });

  it("passes a removal failure on (the queue retries)", async () => {
    const engine = new FakeEngine().fail("removeContainer", unreachable());
    await assert.rejects(new PodDeleter(engine, NODE).delete(entryWith(engine, ["a"])), EngineError);
  });
});

describe("PodCache", () => {
  function labelled(
    id: string,
    ns: string,
    name: string,
    uid: string,
    role: "infra" | "app",
    container = "",
  ) {
    return {
      id,
      spec: {
        Labels: {
          [LABEL_NODE]: NODE,
          [LABEL_NAMESPACE]: ns,
          [LABEL_NAME]: name,
          [LABEL_UID]: uid,
          [LABEL_ROLE]: role,
          ...(container ? { "io.dinv.pod.container": container, "io.dinv.pod.index": "0" } : {}),
        },
      },
      status: "running" as const,
      exitCode: 0,
      restartCount: 0,
    };
  }

  it("rebuilds from labels, keyed by namespace/name (one name in two namespaces stays two pods)", async () => {
    const engine = new FakeEngine();
    for (const c of [
      labelled("i1", "a", "web", "u1", "infra"),
      labelled("c1", "a", "web", "u1", "app", "main"),
      labelled("i2", "b", "web", "u2", "infra"),
      labelled("c2", "b", "web", "u2", "app", "main"),
    ])
      engine.containers.set(c.id, c);
    const cache = new PodCache();
    const { stale } = await cache.rehydrate(engine, NODE);
    assert.deepEqual(stale, []);
    assert.equal(cache.get("a/web")?.uid, "u1");
    assert.equal(cache.get("b/web")?.containers.get("main")?.id, "c2");
    assert.equal(cache.get("a/web")?.infraId, "i1");
    assert.equal(cache.keyOfContainer("c2"), "b/web");
  });

  it("hands back containers of a second generation of one pod name, and unlabelled ones, as stale", async () => {
    const engine = new FakeEngine();
    for (const c of [
      labelled("x1", "a", "web", "old", "app", "main"),
      labelled("x2", "a", "web", "new", "app", "main"),
    ])
      engine.containers.set(c.id, c);
    engine.containers.set("bare", {
      id: "bare",
      spec: { Labels: { [LABEL_NODE]: NODE } },
      status: "exited",
      exitCode: 0,
      restartCount: 0,
    });
    const { stale } = await new PodCache().rehydrate(engine, NODE);
    assert.equal(stale.length, 2);
    assert.ok(stale.includes("bare"));
  });
});

describe("PodStatus", () => {
  const ctx = { hostIP: "10.0.0.5", runtime: "docker://", now: new Date("2026-01-01T00:00:10Z") };

  function details(
    status: EngineContainerDetails["state"]["status"],
    exitCode = 0,
    extra: Partial<EngineContainerDetails["state"]> = {},
    restartCount = 0,
  ): EngineContainerDetails {
    return {
      id: "c1",
      image: "example/app:1",
      imageId: "sha256:abc",
      labels: {},
      created: "2026-01-01T00:00:00Z",
      state: {
        status,
        exitCode,
        error: "",
        oomKilled: false,
        startedAt: "2026-01-01T00:00:01.123Z",
        finishedAt: "2026-01-01T00:00:05Z",
        ...extra,
      },
      restartCount,
    };
  }
  const entry: CachedPod = {
    namespace: "team-a",
    name: "web",
    uid: "uid-1",
    containers: new Map([["app", { name: "app", id: "c1", index: 0 }]]),
    createdAt: "2026-01-01T00:00:00Z",
  };
  const infra = { ...details("running"), id: "infra", ipAddress: "172.17.0.4" };

  it("running → Running, Ready, podIP from the infra container", () => {
    const s = podStatusFrom(entry, testPod(), new Map([["c1", details("running")]]), infra, ctx);
    assert.equal(s.phase, "Running");
    assert.deepEqual(s.containerStatuses?.[0]?.state, { running: { startedAt: "2026-01-01T00:00:01Z" } });
    assert.equal(s.containerStatuses?.[0]?.ready, true);
    assert.equal(s.containerStatuses?.[0]?.containerID, "docker://c1");
    assert.equal(s.podIP, "172.17.0.4");
    assert.equal(s.hostIP, "10.0.0.5");
    assert.equal(s.startTime, "2026-01-01T00:00:00Z");
    for (const t of ["Initialized", "Ready", "ContainersReady", "PodScheduled"])
      assert.equal(s.conditions?.find((c) => c.type === t)?.status, "True");
  });

  it("exit 0 → Succeeded/Completed; non-zero → Failed/Error with the exit code; OOM → OOMKilled", () => {
    const ok = podStatusFrom(entry, testPod(), new Map([["c1", details("exited", 0)]]), infra, ctx);
    assert.equal(ok.phase, "Succeeded");
    assert.equal(ok.containerStatuses?.[0]?.state.terminated?.reason, "Completed");
    const bad = podStatusFrom(entry, testPod(), new Map([["c1", details("exited", 42)]]), infra, ctx);
    assert.equal(bad.phase, "Failed");
    assert.equal(bad.containerStatuses?.[0]?.state.terminated?.exitCode, 42);
    assert.equal(bad.containerStatuses?.[0]?.state.terminated?.reason, "Error");
    assert.equal(bad.containerStatuses?.[0]?.ready, false);
    assert.equal(bad.conditions?.find((c) => c.type === "Ready")?.status, "False");
    const oom = podStatusFrom(
      entry,
      testPod(),
      new Map([["c1", details("exited", 137, { oomKilled: true })]]),
      infra,
      ctx,
    );
    assert.equal(oom.containerStatuses?.[0]?.state.terminated?.reason, "OOMKilled");
  });

  it("restarting → waiting CrashLoopBackOff with the restart count, phase Running", () => {
    const s = podStatusFrom(entry, testPod(), new Map([["c1", details("restarting", 3, {}, 4)]]), infra, ctx);
    assert.equal(s.containerStatuses?.[0]?.state.waiting?.reason, "CrashLoopBackOff");
    assert.equal(s.containerStatuses?.[0]?.restartCount, 4);
    assert.equal(s.phase, "Running");
  });

  it("created or missing → Pending/ContainerCreating; a start that failed → StartError", () => {
    assert.equal(
      podStatusFrom(entry, testPod(), new Map([["c1", details("created")]]), infra, ctx).phase,
      "Pending",
    );
    const missing = podStatusFrom(entry, testPod(), new Map(), undefined, ctx);
    assert.equal(missing.containerStatuses?.[0]?.state.waiting?.reason, "ContainerCreating");
    const never = details("exited", 127, { startedAt: "0001-01-01T00:00:00Z", error: "exec: not found" });
    assert.equal(
      podStatusFrom(entry, testPod(), new Map([["c1", never]]), infra, ctx).containerStatuses?.[0]?.state
        .waiting?.reason,
      "StartError",
    );
  });

  it("a failed creation → Failed with its reason and message on the pod and its containers", () => {
    const failed: CachedPod = {
      ...entry,
      containers: new Map(),
      failure: { reason: "ErrImagePull", message: "no such image" },
    };
    const s = podStatusFrom(failed, testPod(), new Map(), undefined, ctx);
    assert.equal(s.phase, "Failed");
    assert.equal(s.reason, "ErrImagePull");
    assert.equal(s.message, "no such image");
    assert.deepEqual(s.containerStatuses?.[0]?.state.waiting, {
      reason: "ErrImagePull",
      message: "no such image",
    });
  });

  it("keeps a condition's lastTransitionTime while its status holds", () => {
    const pod = testPod();
    pod.status = {
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2025-12-31T00:00:00Z" }],
      startTime: "2025-12-31T00:00:00Z",
    };
    const s = podStatusFrom(entry, pod, new Map([["c1", details("running")]]), infra, ctx);
    assert.equal(s.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime, "2025-12-31T00:00:00Z");
    assert.equal(
      s.conditions?.find((c) => c.type === "Initialized")?.lastTransitionTime,
      "2026-01-01T00:00:10Z",
    );
    assert.equal(s.startTime, "2025-12-31T00:00:00Z");
  });

  it("phase rules", () => {
    const st = (state: object) => ({
      name: "x",
      state,
      lastState: {},
      ready: false,
      restartCount: 0,
      image: "",
      imageID: "",
    });
    assert.equal(phaseOf([], false), "Pending");
    assert.equal(phaseOf([st({ running: {} }), st({ terminated: { exitCode: 1 } })], false), "Running");
    assert.equal(
      phaseOf([st({ terminated: { exitCode: 0 } }), st({ waiting: { reason: "ContainerCreating" } })], false),
      "Pending",
    );
    assert.equal(phaseOf([st({ running: {} })], true), "Failed");
  });
});

describe("DockerProvider", () => {
  it("creates, starts and reports a pod; a second create is a no-op", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    await p.start();
    const pod = testPod();
    await p.createPod(pod);
    assert.equal(engine.containers.size, 1, "one container: a single-container pod has no infra container");
    assert.ok([...engine.containers.values()].every((c) => c.status === "running"));
    await p.createPod(pod);
    assert.equal(engine.containers.size, 1, "nothing duplicated");
    const status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Running");
    assert.deepEqual(p.getPods(), [{ key: "team-a/web", uid: "uid-1" }]);
  });

  it("a permanent failure leaves the pod Failed with nothing on the engine, and does not throw", async () => {
    const engine = new FakeEngine().fail("startContainer", refused(400, "exec format error"));
    engine.images.add("example/app:1");
    const p = provider(engine);
    const pod = testPod();
    await p.createPod(pod);
    assert.equal(engine.containers.size, 0, "created containers are removed again");
    const status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Failed");
    assert.equal(status?.reason, "StartError");
    assert.match(status?.message ?? "", /exec format error/);
  });

  it("a transient failure throws (to be retried), cleans up, and shows the pod Pending with the reason", async () => {
    const config = new FakeConfig();
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine, config);
    const pod = testPod({
      containers: [
        {
          name: "app",
          image: "example/app:1",
          env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }],
        },
      ],
    });
    await rejectsWith(p.createPod(pod), "CreateContainerConfigError", false);
    assert.equal(engine.containers.size, 0);
    const status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Pending");
    assert.equal(status?.containerStatuses?.[0]?.state.waiting?.reason, "CreateContainerConfigError");
    config.secrets.set("team-a/creds", { data: { k: Buffer.from("v").toString("base64") } });
    await p.createPod(pod);
    assert.equal((await p.getPodStatus(pod))?.phase, "Running");
  });

  it("replaces an older pod of the same name (new uid) and deletes idempotently", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    await p.createPod(testPod({}, "web", "team-a", "old"));
    await p.createPod(testPod({}, "web", "team-a", "new"));
    const uids = new Set([...engine.containers.values()].map((c) => c.spec.Labels?.[LABEL_UID]));
    assert.deepEqual([...uids], ["new"]);
    await p.deletePod(testPod({}, "web", "team-a", "new"));
    await p.deletePod(testPod({}, "web", "team-a", "new"));
    assert.equal(engine.containers.size, 0);
    assert.equal(p.getPod("team-a/web"), undefined);
  });

  it("rehydrates after a restart: the same pod is not created again", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    await provider(engine).createPod(testPod());
    const restarted = provider(engine);
    await restarted.start();
    assert.deepEqual(restarted.getPods(), [{ key: "team-a/web", uid: "uid-1" }]);
    await restarted.createPod(testPod());
    assert.equal(engine.containers.size, 1);
  });

  it("holds a single-container pod's network in that container; a pod of two gets an infra container", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    const solo = testPod();
    await p.createPod(solo);
    const [only] = [...engine.containers.values()];
    assert.equal(only?.spec.HostConfig?.NetworkMode, "bridge");
    assert.equal(only?.spec.Hostname, "web", "hostname, DNS and ports go on the container itself");
    assert.ok(!engine.calls.includes("hasImage dinv/pause:1"), "no infra image needed");
    assert.equal((await p.getPodStatus(solo))?.podIP, `172.17.0.${only?.id.slice(1)}`);
    const pair = twoContainerPod();
    pair.metadata = { name: "pair", namespace: "team-a", uid: "uid-2" };
    await p.createPod(pair);
    const roles = [...engine.containers.values()]
      .filter((c) => c.spec.Labels?.[LABEL_UID] === "uid-2")
      .map((c) => c.spec.Labels?.[LABEL_ROLE]);
    assert.deepEqual(roles, ["infra", "app", "app"]);
  });

  it("re-syncs only on events that change a status, and not on the start it made itself", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    await p.start();
    const seen: string[] = [];
    p.notifyPods((key) => seen.push(key));
    await p.createPod(testPod());
    assert.deepEqual(
      seen,
      [],
      "a successful creation notifies nobody: the controller writes the status next",
    );
    const [app] = [...engine.containers.values()];
    assert.ok(app);
    for (const action of ["create", "exec_create", "exec_start", "exec_die", "extract-to-dir", "attach"])
      engine.emit({ action, id: app.id, labels: {} });
    engine.emit({ action: "start", id: app.id, labels: {} });
    assert.deepEqual(seen, [], "no status in these, and the start is the provider's own");
    // The engine restarts it: die, then a start nobody here made.
    engine.emit({ action: "die", id: app.id, labels: {}, exitCode: 1 });
    engine.emit({ action: "start", id: app.id, labels: {} });
    assert.deepEqual(seen, ["team-a/web", "team-a/web"]);
  });

  it("turns engine events into pod notifications, and remembers the last exit for lastState", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    await p.start();
    const seen: string[] = [];
    p.notifyPods((key) => seen.push(key));
    const pod = testPod({ restartPolicy: "Always" });
    await p.createPod(pod);
    seen.length = 0;
    const app = [...engine.containers.values()].find((c) => c.spec.Labels?.[LABEL_ROLE] === "app");
    assert.ok(app);
    engine.emit({ action: "die", id: app.id, labels: {}, exitCode: 9 });
    assert.deepEqual(seen, ["team-a/web"]);
    app.restartCount = 1;
    const status = await p.getPodStatus(pod);
    assert.equal(status?.containerStatuses?.[0]?.lastState.terminated?.exitCode, 9);
    engine.emit({
      action: "start",
      id: "unknown",
      labels: { [LABEL_NAMESPACE]: "b", [LABEL_NAME]: "other" },
    });
    assert.deepEqual(seen, ["team-a/web", "b/other"]);
  });
});

/** Files in a tar archive put into a container: name → content (symlinks as "-> target"). */
async function tarFiles(tar: Buffer): Promise<Map<string, string>> {
  const { extract } = await import("tar-stream");
  const out = new Map<string, string>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      let body = "";
      stream.on("data", (c: unknown) => (body += String(c)));
      stream.on("end", () => {
        if (header.type === "symlink") out.set(header.name, `-> ${header.linkname ?? ""}`);
        else if (header.type === "file") out.set(header.name, body);
        next();
      });
      stream.resume();
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  ex.end(tar);
  await done;
  return out;
}

const byRole = (engine: FakeEngine, role: string) =>
  [...engine.containers.values()].filter((c) => c.spec.Labels?.[LABEL_ROLE] === role);

describe("DockerProvider: init containers, volumes, events", () => {
  it("runs init containers one at a time, in order, then the app containers", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const events: string[] = [];
    const p = provider(engine, new FakeConfig(), (_pod, e: PodEvent) =>
      events.push(`${e.reason} ${e.fieldPath ?? ""}`),
    );
    const pod = testPod({
      initContainers: [
        { name: "one", image: "example/app:1" },
        { name: "two", image: "example/app:1" },
      ],
    });
    await p.createPod(pod);
    assert.deepEqual(
      byRole(engine, "init").map((c) => c.spec.Labels?.[LABEL_CONTAINER]),
      ["one"],
    );
    assert.equal(byRole(engine, "app").length, 0, "no app container before the init containers finished");
    let status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Pending");
    assert.equal(status?.conditions?.find((c) => c.type === "Initialized")?.status, "False");
    assert.equal(status?.containerStatuses?.[0]?.state.waiting?.reason, "PodInitializing");
    assert.equal(byRole(engine, "init")[0]?.spec.HostConfig?.RestartPolicy?.Name, "on-failure");

    await p.updatePod(pod);
    assert.equal(byRole(engine, "init").length, 1, "a running init container is waited for, not duplicated");
    const one = byRole(engine, "init")[0] as FakeContainer;
    one.status = "exited";
    await p.updatePod(pod);
    assert.deepEqual(
      byRole(engine, "init").map((c) => c.spec.Labels?.[LABEL_CONTAINER]),
      ["one", "two"],
    );
    (byRole(engine, "init")[1] as FakeContainer).status = "exited";
    await p.updatePod(pod);
    assert.equal(byRole(engine, "app")[0]?.status, "running");
    status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Running");
    assert.deepEqual(
      status?.initContainerStatuses?.map((s) => [s.name, s.ready, s.state.terminated?.reason]),
      [
        ["one", true, "Completed"],
        ["two", true, "Completed"],
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.startsWith("Started")),
      [
        "Started spec.initContainers{one}",
        "Started spec.initContainers{two}",
        "Started spec.containers{app}",
      ],
    );
    assert.ok(events.includes("Pulled spec.initContainers{one}"));
  });

  it("fails the pod when an init container fails under restartPolicy Never", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    const pod = testPod({
      restartPolicy: "Never",
      initContainers: [{ name: "check", image: "example/app:1" }],
    });
    await p.createPod(pod);
    const check = byRole(engine, "init")[0] as FakeContainer;
    assert.equal(check.spec.HostConfig?.RestartPolicy?.Name, "no");
    check.status = "exited";
    check.exitCode = 2;
    await p.updatePod(pod);
    assert.equal(byRole(engine, "app").length, 0);
    const status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Failed");
    assert.equal(status?.initContainerStatuses?.[0]?.state.terminated?.exitCode, 2);
  });

  it("retries a waiting pod on the next sync (updatePod), as the pod controller calls it", async () => {
    const config = new FakeConfig();
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine, config);
    const pod = testPod({
      containers: [{ name: "app", image: "example/app:1", envFrom: [{ configMapRef: { name: "later" } }] }],
    });
    await rejectsWith(p.createPod(pod), "CreateContainerConfigError", false);
    config.maps.set("team-a/later", { data: { A: "1" } });
    await p.updatePod(pod);
    assert.equal((await p.getPodStatus(pod))?.phase, "Running");
  });

  it("makes emptyDir volumes (Memory: tmpfs with its size) and removes them with the pod", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    const pod = testPod({
      containers: [
        {
          name: "app",
          image: "example/app:1",
          volumeMounts: [
            { name: "cache", mountPath: "/cache" },
            { name: "fast", mountPath: "/fast", readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: "cache", emptyDir: {} },
        { name: "fast", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      ],
    });
    await p.createPod(pod);
    assert.deepEqual([...engine.volumes.keys()].sort(), [
      "k8s_cache_web_team-a_uid-1",
      "k8s_fast_web_team-a_uid-1",
    ]);
    assert.deepEqual(engine.volumes.get("k8s_fast_web_team-a_uid-1")?.options, {
      tmpfs: { sizeBytes: 64 * 2 ** 20 },
    });
    assert.equal(engine.volumes.get("k8s_cache_web_team-a_uid-1")?.labels[LABEL_UID], "uid-1");
    // Binds, which every flavor reads (VIC ignores HostConfig.Mounts).
    assert.deepEqual(byRole(engine, "app")[0]?.spec.HostConfig?.Binds, [
      "k8s_cache_web_team-a_uid-1:/cache",
      "k8s_fast_web_team-a_uid-1:/fast:ro",
    ]);
    assert.equal(byRole(engine, "app")[0]?.spec.HostConfig?.Mounts, undefined);
    await p.deletePod(pod);
    assert.equal(engine.volumes.size, 0);
  });

  it("refuses hostPath before touching the engine (permanent FailedMount)", async () => {
    const engine = new FakeEngine();
    const p = provider(engine);
    const pod = testPod({ volumes: [{ name: "h", hostPath: { path: "/" } }] });
    await p.createPod(pod);
    const status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Failed");
    assert.equal(status?.reason, "FailedMount");
    assert.equal(
      engine.calls.filter((c) => c.startsWith("createContainer") || c.startsWith("pullImage")).length,
      0,
    );
  });

  it("delivers configMap files before start and again only when the configMap changed", async () => {
    const config = new FakeConfig();
    config.maps.set("team-a/conf", { data: { "a.txt": "one", "b.txt": "two" } });
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine, config);
    const pod = testPod({
      containers: [
        { name: "app", image: "example/app:1", volumeMounts: [{ name: "c", mountPath: "/etc/c" }] },
      ],
      volumes: [{ name: "c", configMap: { name: "conf" } }],
    });
    await p.createPod(pod);
    const app = byRole(engine, "app")[0] as FakeContainer;
    const putIndex = engine.calls.indexOf(`putArchive ${app.id}`);
    assert.ok(
      putIndex >= 0 && putIndex < engine.calls.indexOf(`startContainer ${app.id}`),
      "files before start",
    );
    const first = await tarFiles(engine.archives[0]?.tar ?? Buffer.alloc(0));
    assert.equal(first.get("etc/c/a.txt"), "-> ..data/a.txt");
    const data = first.get("etc/c/..data") ?? "";
    assert.equal(first.get(`etc/c/${data.slice(3)}/a.txt`), "one");
    await p.refreshVolumes();
    assert.equal(engine.archives.length, 1, "nothing changed, nothing delivered");
    config.maps.set("team-a/conf", { data: { "a.txt": "uno" } });
    await p.refreshVolumes();
    assert.equal(engine.archives.length, 2);
    const second = await tarFiles(engine.archives[1]?.tar ?? Buffer.alloc(0));
    const next = (second.get("etc/c/..data") ?? "").slice(3);
    assert.notEqual(next, data.slice(3));
    assert.equal(second.get(`etc/c/${next}/a.txt`), "uno");
    assert.equal(second.get(`etc/c/${data.slice(3)}/a.txt`), "", "the old generation is emptied");
    assert.equal(second.has("etc/c/b.txt"), false, "a removed key gets no new link");
  });

  it("keeps a pod waiting, with nothing created, while a volume's configMap is missing", async () => {
    const config = new FakeConfig();
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine, config);
    const pod = testPod({
      containers: [{ name: "app", image: "example/app:1", volumeMounts: [{ name: "c", mountPath: "/c" }] }],
      volumes: [{ name: "c", configMap: { name: "missing" } }],
    });
    await rejectsWith(p.createPod(pod), "FailedMount", false);
    assert.equal(engine.calls.filter((c) => c.startsWith("createContainer")).length, 0);
    const optional = testPod(
      {
        containers: [{ name: "app", image: "example/app:1", volumeMounts: [{ name: "c", mountPath: "/c" }] }],
        volumes: [{ name: "c", configMap: { name: "missing", optional: true } }],
      },
      "opt",
      "team-a",
      "uid-2",
    );
    await p.createPod(optional);
    assert.equal((await p.getPodStatus(optional))?.phase, "Running", "an optional source may be missing");
  });

  it("passes the matching imagePullSecret's credentials to the pull, from the pod's namespace only", async () => {
    const config = new FakeConfig();
    const dockerconfig = {
      auths: { "https://registry.example.com/v2/": { auth: Buffer.from("bob:pw").toString("base64") } },
    };
    config.secrets.set("team-a/regcred", {
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": Buffer.from(JSON.stringify(dockerconfig)).toString("base64") },
    });
    config.secrets.set("team-b/regcred", { type: "kubernetes.io/dockerconfigjson", data: {} });
    const engine = new FakeEngine();
    const events: PodEvent[] = [];
    const p = provider(engine, config, (_pod, e) => events.push(e));
    const image = "registry.example.com/team/app:1";
    await p.createPod(
      testPod({
        imagePullSecrets: [{ name: "regcred" }, { name: "absent" }],
        containers: [{ name: "app", image }],
      }),
    );
    assert.deepEqual(engine.pullAuth.get(image), {
      username: "bob",
      password: "pw",
      serveraddress: "registry.example.com",
    });
    assert.ok(events.some((e) => e.reason === "FailedToRetrieveImagePullSecret" && e.type === "Warning"));
    assert.ok(
      events.some(
        (e) => e.reason === "Pulled" && e.message.startsWith(`Successfully pulled image "${image}"`),
      ),
    );
  });

  it("rehydrates init containers as init containers", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const pod = testPod({ initContainers: [{ name: "one", image: "example/app:1" }] });
    await provider(engine).createPod(pod);
    (byRole(engine, "init")[0] as FakeContainer).status = "exited";
    const restarted = provider(engine);
    await restarted.start();
    assert.equal(restarted.cache.get("team-a/web")?.initContainers?.size, 1);
    assert.equal(restarted.cache.get("team-a/web")?.containers.size, 0);
    // Half-way after a restart: started over cleanly, then carried on.
    await restarted.updatePod(pod);
    assert.equal(byRole(engine, "init").length, 1);
    assert.equal(byRole(engine, "app").length, 0);
  });
});

function vicProvider(engine: FakeEngine, events?: PodEventSink): DockerProvider {
  const vic = capabilitiesOf("vic");
  const make = new PodCreator(engine, new FakeConfig(), {
    node: NODE,
    flavor: "vic",
    capabilities: vic,
    infraImage: undefined,
    ...(events ? { events } : {}),
  });
  return new DockerProvider(engine, make, {
    node: NODE,
    flavor: "vic",
    capabilities: vic,
    hostIP: "10.0.0.5",
    nodeAllocatable: { cpu: 4, memory: 8 * 2 ** 30 },
    ...(events ? { events } : {}),
  });
}

describe("DockerProvider on a VCH: volumes and networks", () => {
  it("mounts emptyDirs through Binds, sized by Capacity in MB from sizeLimit", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = vicProvider(engine);
    const pod = testPod({
      containers: [
        {
          name: "app",
          image: "example/app:1",
          volumeMounts: [
            { name: "data", mountPath: "/data" },
            { name: "plain", mountPath: "/plain", readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: "data", emptyDir: { sizeLimit: "2Gi" } },
        { name: "plain", emptyDir: {} },
      ],
    });
    await p.createPod(pod);
    assert.equal((await p.getPodStatus(pod))?.phase, "Running");
    assert.deepEqual(engine.volumes.get("k8s_data_web_team-a_uid-1")?.options, {
      capacityMB: 2048,
    });
    assert.deepEqual(engine.volumes.get("k8s_plain_web_team-a_uid-1")?.options, {}, "VIC's default size");
    const app = byRole(engine, "app")[0];
    assert.deepEqual(app?.spec.HostConfig?.Binds, [
      "k8s_data_web_team-a_uid-1:/data",
      "k8s_plain_web_team-a_uid-1:/plain:ro",
    ]);
    assert.equal(app?.spec.HostConfig?.Mounts, undefined, "VIC ignores Mounts");
  });

  it("a docker endpoint keeps sizeLimit off disk emptyDirs (no Capacity option there)", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const pod = testPod({
      containers: [{ name: "app", image: "example/app:1", volumeMounts: [{ name: "d", mountPath: "/d" }] }],
      volumes: [{ name: "d", emptyDir: { sizeLimit: "1Gi" } }],
    });
    await provider(engine).createPod(pod);
    assert.deepEqual(engine.volumes.get("k8s_d_web_team-a_uid-1")?.options, {});
  });

  const refused = async (spec: Partial<Pod["spec"]>, reason: string, message: RegExp) => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const events: PodEvent[] = [];
    const p = vicProvider(engine, (_pod, e) => events.push(e));
    const pod = testPod(spec);
    await p.createPod(pod);
    const status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Failed");
    assert.equal(status?.reason, reason);
    assert.match(status?.message ?? "", message);
    assert.deepEqual(
      engine.calls.filter((c) => /^(createContainer|createVolume|pullImage)/.test(c)),
      [],
      "nothing made on the engine",
    );
    return status;
  };

  it("refuses hostNetwork, naming the field", async () => {
    await refused({ hostNetwork: true }, "HostNetworkNotSupported", /spec\.hostNetwork/);
  });

  it("refuses an emptyDir of medium Memory, naming the volume and the field", async () => {
    await refused(
      {
        containers: [
          { name: "app", image: "example/app:1", volumeMounts: [{ name: "shm", mountPath: "/shm" }] },
        ],
        volumes: [{ name: "shm", emptyDir: { medium: "Memory" } }],
      },
      "FailedMount",
      /volume "shm": emptyDir\.medium "Memory"/,
    );
  });

  it("refuses an emptyDir shared by two app containers, naming the volume", async () => {
    await refused(
      {
        containers: [
          { name: "a", image: "example/app:1", volumeMounts: [{ name: "shared", mountPath: "/s" }] },
          { name: "b", image: "example/app:1", volumeMounts: [{ name: "shared", mountPath: "/s" }] },
        ],
        volumes: [{ name: "shared", emptyDir: {} }],
      },
      "FailedMount",
      /volume "shared".*"a", "b"/,
    );
  });

  it("lets an init container and one app container use the same emptyDir (they run one after the other)", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = vicProvider(engine);
    const mount = [{ name: "work", mountPath: "/work" }];
    const pod = testPod({
      initContainers: [{ name: "fill", image: "example/app:1", volumeMounts: mount }],
      containers: [{ name: "app", image: "example/app:1", volumeMounts: mount }],
      volumes: [{ name: "work", emptyDir: {} }],
    });
    await p.createPod(pod);
    assert.equal((await p.getPodStatus(pod))?.phase, "Pending");
    assert.deepEqual(byRole(engine, "init")[0]?.spec.HostConfig?.Binds, ["k8s_work_web_team-a_uid-1:/work"]);
  });

  it("the same pods run on a docker endpoint (hostNetwork, Memory, a shared emptyDir)", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    const pod = testPod({
      hostNetwork: true,
      containers: [
        { name: "a", image: "example/app:1", volumeMounts: [{ name: "shm", mountPath: "/s" }] },
        { name: "b", image: "example/app:1", volumeMounts: [{ name: "shm", mountPath: "/s" }] },
      ],
      volumes: [{ name: "shm", emptyDir: { medium: "Memory" } }],
    });
    await p.createPod(pod);
    assert.equal((await p.getPodStatus(pod))?.phase, "Running");
  });
});

describe("DockerProvider on a VCH: the kubelet restarts containers", () => {
  const settle = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 3_000;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const starts = (engine: FakeEngine, id: string) =>
    engine.calls.filter((c) => c === `startContainer ${id}`).length;

  it("restarts an exited container per restartPolicy, counts it, and shows the back-off as CrashLoopBackOff", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = vicProvider(engine);
    const pod = testPod();
    await p.createPod(pod);
    const app = byRole(engine, "app")[0] as FakeContainer;
    assert.deepEqual(app.spec.HostConfig?.RestartPolicy, { Name: "no" }, "VIC would never apply one");
    app.status = "exited";
    app.exitCode = 1;
    app.finishedAt = new Date().toISOString();
    let status = await p.getPodStatus(pod);
    assert.equal(status?.phase, "Running", "never Failed while a restart is coming");
    await settle(() => app.status === "running", "the first restart (at once)");
    status = await p.getPodStatus(pod);
    assert.equal(status?.containerStatuses?.[0]?.restartCount, 1);
    assert.ok(status?.containerStatuses?.[0]?.state.running);

    app.status = "exited";
    app.finishedAt = new Date().toISOString();
    status = await p.getPodStatus(pod);
    const s = status?.containerStatuses?.[0];
    assert.equal(s?.state.waiting?.reason, "CrashLoopBackOff");
    assert.match(
      s?.state.waiting?.message ?? "",
      /^back-off 10s restarting failed container=app pod=web_team-a\(uid-1\)/,
    );
    assert.equal(s?.lastState.terminated?.exitCode, 1);
    assert.equal(s?.restartCount, 1);
    assert.equal(status?.phase, "Running");
    assert.equal(starts(engine, app.id), 2, "the second restart waits its back-off");
    p.close();
  });

  it("restartPolicy Never or OnFailure after success: the exit stands", async () => {
    for (const [policy, code, phase] of [
      ["Never", 1, "Failed"],
      ["OnFailure", 0, "Succeeded"],
    ] as const) {
      const engine = new FakeEngine();
      engine.images.add("example/app:1");
      const p = vicProvider(engine);
      const pod = testPod({ restartPolicy: policy });
      await p.createPod(pod);
      const app = byRole(engine, "app")[0] as FakeContainer;
      app.status = "exited";
      app.exitCode = code;
      assert.equal((await p.getPodStatus(pod))?.phase, phase, policy);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(starts(engine, app.id), 1, `${policy}: not started again`);
      p.close();
    }
  });

  it("retries a failed init container (the engine would not), then carries on", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = vicProvider(engine);
    const pod = testPod({ initContainers: [{ name: "setup", image: "example/app:1" }] });
    await p.createPod(pod);
    const init = byRole(engine, "init")[0] as FakeContainer;
    assert.deepEqual(init.spec.HostConfig?.RestartPolicy, { Name: "no" });
    init.status = "exited";
    init.exitCode = 2;
    init.finishedAt = new Date().toISOString();
    await p.getPodStatus(pod);
    await settle(() => init.status === "running", "the init container's restart");
    init.status = "exited";
    init.exitCode = 0;
    await p.updatePod(pod);
    const status = await p.getPodStatus(pod);
    assert.equal(status?.initContainerStatuses?.[0]?.restartCount, 1);
    assert.equal(byRole(engine, "app")[0]?.status, "running");
    p.close();
  });

  it("a pod being deleted is not restarted while its containers stop", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = vicProvider(engine);
    const pod = testPod();
    await p.createPod(pod);
    const app = byRole(engine, "app")[0] as FakeContainer;
    const stop = engine.stopContainer.bind(engine);
    // The status is read while the stop is under way, as a die event makes the pod controller do.
    engine.stopContainer = async (id, t) => {
      await stop(id, t);
      await p.getPodStatus(pod);
    };
    await p.deletePod(pod);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(starts(engine, app.id), 1);
    p.close();
  });

  it("on Docker Engine the engine restarts: an exited container is left to it", async () => {
    const engine = new FakeEngine();
    engine.images.add("example/app:1");
    const p = provider(engine);
    const pod = testPod();
    await p.createPod(pod);
    const app = byRole(engine, "app")[0] as FakeContainer;
    assert.deepEqual(app.spec.HostConfig?.RestartPolicy, { Name: "always" });
    app.status = "exited";
    await p.getPodStatus(pod);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(starts(engine, app.id), 1);
    p.close();
  });
});
