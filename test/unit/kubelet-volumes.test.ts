/**
 * Volumes, volume files, pull secrets, namespace scoping, service-account tokens and events:
 * the pure parts of issue 6's pod configuration, each against small test doubles.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { capabilitiesOf } from "../../src/engine/flavor.js";
import type { ConfigMap, KubeEvent, Pod, Secret, TokenRequest } from "../../src/kubelet/kube/types.js";
import { NamespaceScope, validObjectName } from "../../src/kubelet/provider/config-scope.js";
import type { ConfigSource } from "../../src/kubelet/provider/config-scope.js";
import { ContainerConfigError, type EnvContext } from "../../src/kubelet/provider/env.js";
import { PodOperationError } from "../../src/kubelet/provider/errors.js";
import { EventRecorder } from "../../src/kubelet/provider/events.js";
import { authFor, keyMatches, registryOf } from "../../src/kubelet/provider/pull-secrets.js";
import { CachedTokens } from "../../src/kubelet/provider/sa-tokens.js";
import {
  atomicEntries,
  filesDigest,
  generationName,
  subPathEntries,
} from "../../src/kubelet/provider/volume-archive.js";
import { volumeFiles, type VolumeFile } from "../../src/kubelet/provider/volume-files.js";
import { checkVolumes, emptyDirs, volumeKind } from "../../src/kubelet/provider/volumes.js";

class Source implements ConfigSource {
  asked: string[] = [];
  maps = new Map<string, ConfigMap>();
  secrets = new Map<string, Secret>();
  async getConfigMap(ns: string, name: string) {
    this.asked.push(`configmap ${ns}/${name}`);
    return this.maps.get(`${ns}/${name}`);
  }
  async getSecret(ns: string, name: string) {
    this.asked.push(`secret ${ns}/${name}`);
    return this.secrets.get(`${ns}/${name}`);
  }
}

const ENV: EnvContext = {
  hostIP: "10.0.0.1",
  podIP: "172.17.0.9",
  nodeAllocatable: { cpu: 2, memory: 2 ** 30 },
};

function pod(spec: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: {
      name: "web",
      namespace: "team-a",
      uid: "u1",
      labels: { b: "2", a: 'quo"te' },
      annotations: { note: "x" },
    },
    spec: { containers: [{ name: "app", image: "img", resources: { limits: { memory: "64Mi" } } }], ...spec },
  };
}

const text = (files: VolumeFile[]) => files.map((f) => [f.path, f.data.toString(), f.mode.toString(8)]);

describe("volume checks", () => {
  const failsWith = (p: Pod, pattern: RegExp) =>
    assert.throws(
      () => checkVolumes(p),
      (err: unknown) =>
        err instanceof PodOperationError &&
        err.reason === "FailedMount" &&
        err.permanent &&
        pattern.test(err.message),
    );

  it("knows the supported kinds and names the unsupported one", () => {
    assert.equal(volumeKind({ name: "a", emptyDir: {} }), "emptyDir");
    assert.deepEqual(volumeKind({ name: "a", hostPath: { path: "/" } }), { unsupported: "hostPath" });
    assert.deepEqual(volumeKind({ name: "a", nfs: {}, emptyDir: {} }), { unsupported: "nfs" });
  });

  it("refuses hostPath, PVCs and others with the reason", () => {
    failsWith(
      pod({ volumes: [{ name: "h", hostPath: { path: "/" } }] }),
      /hostPath volumes are not supported \(the endpoint shares no host filesystem/,
    );
    failsWith(
      pod({ volumes: [{ name: "d", persistentVolumeClaim: { claimName: "x" } }] }),
      /persistentVolumeClaim volumes are not supported/,
    );
    failsWith(pod({ volumes: [{ name: "n", nfs: { server: "s" } }] }), /nfs volumes are not supported/);
  });

  it("checks mounts: known volume, absolute clean path, no duplicates, no subPath on emptyDir", () => {
    const withMount = (mount: object, volumes: Pod["spec"]["volumes"] = [{ name: "v", emptyDir: {} }]) =>
      pod({ volumes, containers: [{ name: "app", volumeMounts: [mount as never] }] });
    failsWith(withMount({ name: "nope", mountPath: "/x" }), /names no volume/);
    failsWith(withMount({ name: "v", mountPath: "relative" }), /must be an absolute path/);
    failsWith(withMount({ name: "v", mountPath: "/a/../etc" }), /must be an absolute path/);
    failsWith(
      withMount({ name: "v", mountPath: "/x", subPath: "sub" }),
      /subPath is not supported on emptyDir/,
    );
    failsWith(
      withMount({ name: "v", mountPath: "/x", subPath: "../up" }, [{ name: "v", configMap: { name: "c" } }]),
      /relative path without/,
    );
    failsWith(
      pod({
        volumes: [{ name: "v", emptyDir: {} }],
        initContainers: [
          {
            name: "i",
            volumeMounts: [
              { name: "v", mountPath: "/x" },
              { name: "v", mountPath: "/x" },
            ],
          },
        ],
      }),
      /used twice/,
    );
    checkVolumes(
      withMount({ name: "v", mountPath: "/x", subPath: "k" }, [{ name: "v", configMap: { name: "c" } }]),
    );
  });

  it("plans emptyDirs: engine names and tmpfs sizes", () => {
    const plan = emptyDirs(
      pod({
        volumes: [
          { name: "m", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } },
          { name: "d", emptyDir: {} },
        ],
      }),
      { namespace: "team-a", name: "web", uid: "u1" },
    );
    assert.deepEqual(plan, [
      { name: "m", engineName: "k8s_m_web_team-a_u1", tmpfs: { sizeBytes: 2 ** 30 } },
      { name: "d", engineName: "k8s_d_web_team-a_u1" },
    ]);
  });

  it("a VCH sizes disk emptyDirs with Capacity in MiB (rounded up), and refuses tmpfs and sharing", () => {
    const id = { namespace: "team-a", name: "web", uid: "u1" };
    const vic = capabilitiesOf("vic");
    const sized = pod({ volumes: [{ name: "d", emptyDir: { sizeLimit: "1500k" } }] });
    assert.deepEqual(emptyDirs(sized, id, vic), [
      { name: "d", engineName: "k8s_d_web_team-a_u1", capacityMB: 2 },
    ]);
    assert.deepEqual(emptyDirs(sized, id, capabilitiesOf("docker")), [
      { name: "d", engineName: "k8s_d_web_team-a_u1" },
    ]);
    const memory = pod({ volumes: [{ name: "m", emptyDir: { medium: "Memory" } }] });
    checkVolumes(memory, capabilitiesOf("docker"));
    assert.throws(() => checkVolumes(memory, vic), /volume "m": emptyDir.medium "Memory" is not supported/);
    const mount = [{ name: "s", mountPath: "/s" }];
    const shared = pod({
      containers: [
        { name: "a", image: "img", volumeMounts: mount },
        { name: "b", image: "img", volumeMounts: mount },
      ],
      volumes: [{ name: "s", emptyDir: {} }],
    });
    checkVolumes(shared, capabilitiesOf("podman"));
    assert.throws(
      () => checkVolumes(shared, vic),
      /volume "s": an emptyDir cannot be shared by containers "a", "b"/,
    );
  });
});

describe("volume files", () => {
  it("writes every key of a configMap (data and binaryData) with defaultMode, or only the items", async () => {
    const source = new Source();
    source.maps.set("team-a/c", {
      data: { a: "1", b: "2" },
      binaryData: { bin: Buffer.from([0, 255]).toString("base64") },
    });
    const all = await volumeFiles(
      pod(),
      { name: "v", configMap: { name: "c", defaultMode: 0o640 } },
      undefined,
      { source, env: ENV },
    );
    assert.deepEqual(
      text(all).map(([p, , m]) => [p, m]),
      [
        ["a", "640"],
        ["b", "640"],
        ["bin", "640"],
      ],
    );
    assert.deepEqual([...(all[2]?.data ?? [])], [0, 255]);
    const items = await volumeFiles(
      pod(),
      { name: "v", configMap: { name: "c", items: [{ key: "b", path: "dir/b.txt", mode: 0o600 }] } },
      undefined,
      { source, env: ENV },
    );
    assert.deepEqual(text(items), [["dir/b.txt", "2", "600"]]);
  });

  it("waits for a missing source or key unless optional", async () => {
    const source = new Source();
    source.secrets.set("team-a/s", { data: { k: Buffer.from("v").toString("base64") } });
    const ctx = { source, env: ENV };
    await assert.rejects(
      volumeFiles(pod(), { name: "v", secret: { secretName: "gone" } }, undefined, ctx),
      ContainerConfigError,
    );
    assert.deepEqual(
      await volumeFiles(pod(), { name: "v", secret: { secretName: "gone", optional: true } }, undefined, ctx),
      [],
    );
    await assert.rejects(
      volumeFiles(
        pod(),
        { name: "v", secret: { secretName: "s", items: [{ key: "nope", path: "x" }] } },
        undefined,
        ctx,
      ),
      /has no key "nope"/,
    );
    assert.deepEqual(
      text(await volumeFiles(pod(), { name: "v", secret: { secretName: "s" } }, undefined, ctx)),
      [["k", "v", "644"]],
    );
  });

  it("refuses item paths that climb out or hide as generations", async () => {
    const source = new Source();
    source.maps.set("team-a/c", { data: { a: "1" } });
    for (const path of ["../x", "/abs", "a//b", "..data"]) {
      await assert.rejects(
        volumeFiles(pod(), { name: "v", configMap: { name: "c", items: [{ key: "a", path }] } }, undefined, {
          source,
          env: ENV,
        }),
        /invalid item path/,
        path,
      );
    }
  });

  it("writes downward API files: fields, sorted label lines, resource limits", async () => {
    const p = pod();
    const files = await volumeFiles(
      p,
      {
        name: "v",
        downwardAPI: {
          items: [
            { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
            { path: "ns", fieldRef: { fieldPath: "metadata.namespace" } },
            { path: "ip", fieldRef: { fieldPath: "status.podIP" } },
            { path: "mem", resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
          ],
        },
      },
      p.spec.containers[0],
      { source: new Source(), env: ENV },
    );
    assert.deepEqual(
      text(files).map(([path, body]) => [path, body]),
      [
        ["labels", 'a="quo\\"te"\nb="2"'],
        ["ns", "team-a"],
        ["ip", "172.17.0.9"],
        ["mem", "64"],
      ],
    );
  });

  it("merges projected sources, with a service-account token bound to the pod", async () => {
    const source = new Source();
    source.maps.set("team-a/c", { data: { a: "1" } });
    const requests: Array<[string, string, TokenRequest]> = [];
    const tokens = new CachedTokens({
      async requestToken(ns, sa, req) {
        requests.push([ns, sa, req]);
        return {
          spec: req.spec,
          status: { token: "tok", expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() },
        };
      },
    });
    const files = await volumeFiles(
      pod({ serviceAccountName: "builder" }),
      {
        name: "v",
        projected: {
          defaultMode: 0o440,
          sources: [
            { configMap: { name: "c" } },
            { serviceAccountToken: { path: "token", audience: "vault", expirationSeconds: 600 } },
          ],
        },
      },
      undefined,
      { source, env: ENV, tokens },
    );
    assert.deepEqual(text(files), [
      ["a", "1", "440"],
      ["token", "tok", "440"],
    ]);
    assert.deepEqual(requests[0]?.[2].spec, {
      audiences: ["vault"],
      expirationSeconds: 600,
      boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: "u1" },
    });
    assert.deepEqual(requests[0]?.slice(0, 2), ["team-a", "builder"]);
  });
});

describe("volume archive layout", () => {
  const files: VolumeFile[] = [
    { path: "a", data: Buffer.from("1"), mode: 0o644 },
    { path: "dir/b", data: Buffer.from("2"), mode: 0o600 },
  ];

  it("lays files out as the atomic writer does", () => {
    const entries = atomicEntries("/etc/conf/", files, "..gen1");
    const view = entries.map((e) => `${e.type} ${e.name}${e.linkname ? ` -> ${e.linkname}` : ""}`);
    assert.deepEqual(view, [
      "directory etc/conf/",
      "directory etc/conf/..gen1/",
      "directory etc/conf/..gen1/dir/",
      "file etc/conf/..gen1/a",
      "file etc/conf/..gen1/dir/b",
      "symlink etc/conf/..data -> ..gen1",
      "symlink etc/conf/a -> ..data/a",
      "symlink etc/conf/dir -> ..data/dir",
    ]);
  });

  it("empties the superseded generation's files", () => {
    const entries = atomicEntries("/c", files.slice(0, 1), "..gen2", {
      generation: "..gen1",
      paths: ["a", "dir/b"],
    });
    const scrubbed = entries.filter((e) => e.name.startsWith("c/..gen1/"));
    assert.deepEqual(
      scrubbed.map((e) => [e.name, e.body?.length]),
      [
        ["c/..gen1/a", 0],
        ["c/..gen1/dir/b", 0],
      ],
    );
  });

  it("puts a subPath file (or directory) at the mount path itself", () => {
    assert.deepEqual(
      subPathEntries("/etc/app.conf", files, "a").map((e) => [e.type, e.name]),
      [["file", "etc/app.conf"]],
    );
    assert.deepEqual(
      subPathEntries("/etc/d", files, "dir").map((e) => [e.type, e.name]),
      [
        ["directory", "etc/d/"],
        ["file", "etc/d/b"],
      ],
    );
  });

  it("digests content, and names generations in order", () => {
    assert.equal(filesDigest(files), filesDigest([...files].reverse()));
    assert.notEqual(
      filesDigest(files),
      filesDigest([{ ...files[0], data: Buffer.from("x") } as VolumeFile, files[1] as VolumeFile]),
    );
    assert.match(
      generationName(new Date("2026-03-04T05:06:07.089Z"), 3),
      /^\.\.2026_03_04_05_06_07\.089000003$/,
    );
  });
});

describe("image pull secrets", () => {
  const dockerconfigjson = (auths: object): Secret => ({
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
  });

  it("finds an image's registry", () => {
    assert.equal(registryOf("nginx:1"), "docker.io");
    assert.equal(registryOf("library/nginx"), "docker.io");
    assert.equal(registryOf("ghcr.io/org/app:1"), "ghcr.io");
    assert.equal(registryOf("localhost:5000/app"), "localhost:5000");
    assert.equal(registryOf("localhost/app"), "localhost");
  });

  it("matches keys by host, with Docker Hub aliases and wildcards", () => {
    assert.ok(keyMatches("https://index.docker.io/v1/", "docker.io"));
    assert.ok(keyMatches("registry.example.com:5000", "registry.example.com:5000"));
    assert.ok(!keyMatches("registry.example.com", "registry.example.com:5000"));
    assert.ok(keyMatches("*.example.com", "eu.example.com"));
    assert.ok(!keyMatches("*.example.com", "a.b.example.com"));
    assert.ok(!keyMatches("evil.com", "example.com"));
  });

  it("reads dockerconfigjson and dockercfg secrets; the first match wins; auth is decoded", () => {
    const secrets = [
      dockerconfigjson({ "other.io": { username: "x", password: "y" } }),
      {
        type: "kubernetes.io/dockercfg",
        data: {
          ".dockercfg": Buffer.from(
            JSON.stringify({
              "https://index.docker.io/v1/": { auth: Buffer.from("me:pass:word").toString("base64") },
            }),
          ).toString("base64"),
        },
      },
      dockerconfigjson({ "docker.io": { username: "late", password: "z" } }),
    ];
    assert.deepEqual(authFor("docker.io", secrets), {
      username: "me",
      password: "pass:word",
      serveraddress: "https://index.docker.io/v1/",
    });
    assert.deepEqual(authFor("other.io", secrets), {
      username: "x",
      password: "y",
      serveraddress: "other.io",
    });
    assert.equal(authFor("nowhere.io", secrets), undefined);
    assert.equal(
      authFor("other.io", [
        { type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "bm90IGpzb24=" } },
      ]),
      undefined,
    );
  });
});

describe("namespace scope", () => {
  it("asks only for the pod's namespace, and refuses names that are not DNS subdomains without asking", async () => {
    const source = new Source();
    const scope = new NamespaceScope(source, "team-a");
    await scope.secret("db");
    for (const name of ["../team-b/secrets/db", "team-b/db", "DB", "", "a".repeat(254)]) {
      await assert.rejects(
        async () => scope.secret(name),
        (err: unknown) =>
          err instanceof PodOperationError && err.permanent && /invalid secret name/.test(err.message),
        name,
      );
    }
    assert.deepEqual(source.asked, ["secret team-a/db"]);
    assert.ok(validObjectName("my.config-1"));
  });
});

describe("service-account tokens", () => {
  it("reuses a token until 80% of its lifetime, then asks again", async () => {
    let now = 1_000_000;
    let issued = 0;
    const tokens = new CachedTokens(
      {
        async requestToken(_ns, _sa, req) {
          issued++;
          return {
            spec: req.spec,
            status: {
              token: `t${issued}`,
              expirationTimestamp: new Date(now + (req.spec.expirationSeconds ?? 0) * 1000).toISOString(),
            },
          };
        },
      },
      () => now,
    );
    const ask = () =>
      tokens.serviceAccountToken("ns", "default", {
        expirationSeconds: 100,
        boundPod: { name: "p", uid: "u" },
      });
    assert.equal((await ask()).token, "t1");
    now += 79_000;
    assert.equal((await ask()).token, "t1");
    now += 2_000;
    assert.equal((await ask()).token, "t2");
    await assert.rejects(
      tokens.serviceAccountToken("ns", "../x", { expirationSeconds: 100, boundPod: { name: "p", uid: "u" } }),
      /invalid service account name/,
    );
  });
});

describe("event recorder", () => {
  it("writes events as the kubelet does, and only logs a failure to write", async () => {
    const written: KubeEvent[] = [];
    const logged: string[] = [];
    let fail = false;
    const recorder = new EventRecorder(
      async (e) => {
        if (fail) throw new Error("API down");
        written.push(e);
      },
      "vk",
      (m) => logged.push(m),
    );
    recorder.sink(pod(), {
      type: "Normal",
      reason: "Started",
      message: "Started container app",
      fieldPath: "spec.containers{app}",
    });
    recorder.sink(pod(), { type: "Normal", reason: "Started", message: "again" });
    assert.equal(written[0]?.involvedObject.fieldPath, "spec.containers{app}");
    assert.equal(written[0]?.involvedObject.uid, "u1");
    assert.equal(written[0]?.source?.host, "vk");
    assert.equal(written[0]?.metadata?.namespace, "team-a");
    assert.notEqual(written[0]?.metadata?.name, written[1]?.metadata?.name, "unique names");
    fail = true;
    recorder.sink(pod(), { type: "Warning", reason: "Failed", message: "x" });
    await new Promise((r) => setImmediate(r));
    assert.match(logged[0] ?? "", /event Failed for team-a\/web: API down/);
  });
});
