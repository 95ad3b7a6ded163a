/**
 * Volumes, init containers, pull secrets, namespaces and events end to end: `dinv kubelet` on the
 * real engine with the Kubernetes API test server. Pods check their own files and exit with a
 * code naming what was wrong, so a failure says which check failed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import type { KubeEvent, KubeList, Pod } from "../../src/kubelet/kube/types.js";
import { loadKubeConfig, RestKubeApi } from "../../src/kubelet/kube/rest-api.js";
import { reportCases } from "../helpers/cases.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import {
  kubeletRequest,
  registeredKubeletPort,
  spawnKubelet,
  testKubeletArgs,
  stopProcess,
  testPki,
  until,
  type KubeletProcess,
  type TestPki,
} from "../fixtures/k8s-api-server/kubelet-harness.js";
import { KubeApiTestServer } from "../fixtures/k8s-api-server/server.js";

const POD_IMAGE = "dinv-test/pod-base:1";

describe("dinv kubelet volumes, init containers, secrets and events", { timeout: 120_000 }, () => {
  const nodeName = runId("kubelet-vol");
  const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-vol-"));
  const kubeconfig = join(dir, "kubeconfig");
  // The kubelet runs as its node (system:node:NAME), held to the Node authorizer and NodeRestriction.
  const kubeletKubeconfig = join(dir, "kubelet-kubeconfig");
  let server: KubeApiTestServer;
  let engine: EngineClient;
  let api: RestKubeApi;
  let kubelet: KubeletProcess | undefined;
  let pki: TestPki;
  let port = 0;

  const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
  const getPod = (name: string, ns = "default") => api.request<Pod>("GET", `${podsPath(ns)}/${name}`);
  const create = (ns: string, plural: string, body: object) =>
    api.request("POST", `/api/v1/namespaces/${ns}/${plural}`, body);

  function pod(
    name: string,
    spec: Partial<Pod["spec"]> & Pick<Pod["spec"], "containers">,
    ns = "default",
  ): Pod {
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels: { app: name, tier: "e2e" } },
      spec: {
        nodeName,
        terminationGracePeriodSeconds: 0,
        restartPolicy: "Never",
        tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
        ...spec,
      },
    };
  }
  const sh = (script: string) => ({ image: POD_IMAGE, command: ["/bin/sh", "-c", script] });

  async function finished(name: string, ns = "default"): Promise<Pod> {
    return until(`pod ${ns}/${name} to finish`, async () => {
      const p = await getPod(name, ns);
      return p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ? p : undefined;
    });
  }

  async function logs(name: string, container = "main"): Promise<string> {
    return (await kubeletRequest(port, `/containerLogs/default/${name}/${container}`, { cert: pki.client }))
      .body;
  }

  const events = (name: string) =>
    server
      .objects("events")
      .filter((e) => (e.involvedObject as { name?: string }).name === name) as unknown as KubeEvent[];

  before(async () => {
    pki = await testPki(dir);
    engine = await testEngine();
    await engine.docker.getImage(HOST_IMAGE).tag({ repo: "dinv-test/pod-base", tag: "1" });
    server = new KubeApiTestServer();
    await server.start();
    server.writeKubeconfig(kubeconfig);
    server.writeKubeconfig(kubeletKubeconfig, { node: nodeName });
    api = new RestKubeApi(loadKubeConfig(kubeconfig));
    kubelet = spawnKubelet(
      testKubeletArgs({ kubeconfig: kubeletKubeconfig, nodeName, clientCa: pki.caFile }, [
        "--volume-refresh",
        "0.5",
      ]),
      { DINV_STORAGE_PATH: join(dir, "store") },
    );
    port = await registeredKubeletPort(api, nodeName, kubelet);
  });

  after(async () => {
    if (kubelet) await stopProcess(kubelet);
    if (engine) await removeLabelled(engine, nodeName, "io.dinv.pod.node");
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers a configMap volume (items, modes) and updates it when the configMap changes", async () => {
    await create("default", "configmaps", {
      metadata: { name: "app-config" },
      data: { "app.conf": "version=1\n", other: "x" },
    });
    const script = [
      "while [ ! -f /etc/app/conf/app.conf ]; do sleep 0.1; done",
      "cat /etc/app/conf/app.conf",
      'stat -c "%a" /etc/app/..data/conf/app.conf',
      "[ -e /etc/app/other ] && echo other-present",
      "while grep -q version=1 /etc/app/conf/app.conf; do sleep 0.1; done",
      "cat /etc/app/conf/app.conf",
      "exec sleep 3600",
    ].join("; ");
    await api.request(
      "POST",
      podsPath("default"),
      pod("cm-pod", {
        containers: [
          { name: "main", ...sh(script), volumeMounts: [{ name: "config", mountPath: "/etc/app" }] },
        ],
        volumes: [
          {
            name: "config",
            configMap: {
              name: "app-config",
              items: [{ key: "app.conf", path: "conf/app.conf", mode: 0o600 }],
            },
          },
        ],
      }),
    );
    await until("the file in the container", async () =>
      (await logs("cm-pod")).includes("version=1") ? true : undefined,
    );
    assert.equal(await logs("cm-pod"), "version=1\n600\n", "only the item, at its path, with its mode");
    const started = Date.now();
    await api.request("PUT", "/api/v1/namespaces/default/configmaps/app-config", {
      metadata: { name: "app-config" },
      data: { "app.conf": "version=2\n", other: "x" },
    });
    await until(
      "the updated file",
      async () => ((await logs("cm-pod")).includes("version=2") ? true : undefined),
      15_000,
    );
    console.log(`# configMap update visible in the container after ${Date.now() - started} ms`);
  });

  it("gives a container a secret as env and as a volume (defaultMode), and nothing of another namespace", async () => {
    await create("default", "secrets", {
      metadata: { name: "db" },
      data: {
        password: Buffer.from("s3cret").toString("base64"),
        user: Buffer.from("admin").toString("base64"),
      },
    });
    await create("other-ns", "secrets", {
      metadata: { name: "theirs" },
      data: { token: Buffer.from("not yours").toString("base64") },
    });
    const checks = [
      '[ "$DB_PASSWORD" = s3cret ] || exit 11',
      '[ "$(cat /secrets/password)" = s3cret ] || exit 12',
      '[ "$(cat /secrets/user)" = admin ] || exit 13',
      '[ "$(stat -L -c %a /secrets/password)" = 400 ] || exit 14',
      "exit 0",
    ].join("; ");
    await api.request(
      "POST",
      podsPath("default"),
      pod("secret-pod", {
        containers: [
          {
            name: "main",
            ...sh(checks),
            env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
            volumeMounts: [{ name: "creds", mountPath: "/secrets", readOnly: true }],
          },
        ],
        volumes: [{ name: "creds", secret: { secretName: "db", defaultMode: 0o400 } }],
      }),
    );
    const done = await finished("secret-pod");
    assert.equal(
      done.status?.containerStatuses?.[0]?.state.terminated?.exitCode,
      0,
      "11–14 name the failed check",
    );

    // A pod in "default" naming a secret that exists only in "other-ns" sees nothing of it.
    await api.request(
      "POST",
      podsPath("default"),
      pod("thief", {
        containers: [{ name: "main", ...sh("exit 0"), volumeMounts: [{ name: "s", mountPath: "/s" }] }],
        volumes: [{ name: "s", secret: { secretName: "theirs" } }],
      }),
    );
    await api.request(
      "POST",
      podsPath("default"),
      pod("traversal", {
        containers: [
          {
            name: "main",
            ...sh("exit 0"),
            env: [
              {
                name: "X",
                valueFrom: { secretKeyRef: { name: "../other-ns/secrets/theirs", key: "token" } },
              },
            ],
          },
        ],
      }),
    );
    const thief = await until("the thief pod to wait", async () => {
      const p = await getPod("thief");
      return p.status?.containerStatuses?.[0]?.state.waiting?.reason === "FailedMount" ? p : undefined;
    });
    assert.match(
      thief.status?.containerStatuses?.[0]?.state.waiting?.message ?? "",
      /secret "theirs" not found/,
    );
    const traversal = await until("the traversal pod to fail", async () => {
      const p = await getPod("traversal");
      return p.status?.phase === "Failed" ? p : undefined;
    });
    assert.match(traversal.status?.message ?? "", /invalid secret name/);
    const secretReads = server.requests.filter((r) => r.includes("/secrets/"));
    assert.ok(
      secretReads.every((r) => r.startsWith("GET /api/v1/namespaces/default/secrets/")),
      secretReads.join("\n"),
    );
    assert.ok(!secretReads.some((r) => r.includes("other-ns")), "no read of another namespace");
    const containers = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.pod.node=${nodeName}`, "io.dinv.pod.name=thief"] }),
    });
    assert.equal(
      containers.filter((c) => c.Labels["io.dinv.pod.role"] === "app").length,
      0,
      "the thief never ran",
    );
  });

  it("reads a secret only in the pod's own namespace: never a same-named one elsewhere, never one that exists only elsewhere", async (t) => {
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    await create("default", "secrets", {
      metadata: { name: "shared" },
      data: { v: b64("value-of-default") },
    });
    await create("team-b", "secrets", { metadata: { name: "shared" }, data: { v: b64("value-of-team-b") } });
    await create("team-b", "secrets", { metadata: { name: "b-only" }, data: { v: b64("not-for-default") } });
    const reader = (ns: string) =>
      pod(
        "ns-reader",
        {
          containers: [
            {
              name: "main",
              ...sh(`[ "$V" = value-of-${ns} ] || exit 11; [ "$(cat /s/v)" = value-of-${ns} ] || exit 12`),
              env: [{ name: "V", valueFrom: { secretKeyRef: { name: "shared", key: "v" } } }],
              volumeMounts: [{ name: "s", mountPath: "/s" }],
            },
          ],
          volumes: [{ name: "s", secret: { secretName: "shared" } }],
        },
        ns,
      );
    for (const ns of ["default", "team-b"]) await api.request("POST", podsPath(ns), reader(ns));
    for (const ns of ["default", "team-b"]) {
      const done = await finished("ns-reader", ns);
      const code = done.status?.containerStatuses?.[0]?.state.terminated?.exitCode;
      assert.equal(code, 0, `${ns}: 11 (env) or 12 (volume) means another namespace's value`);
    }

    // A secretKeyRef to a secret that exists only in team-b: the pod waits, and never runs.
    await api.request(
      "POST",
      podsPath("default"),
      pod("env-thief", {
        containers: [
          {
            name: "main",
            ...sh("exit 0"),
            env: [{ name: "V", valueFrom: { secretKeyRef: { name: "b-only", key: "v" } } }],
          },
        ],
      }),
    );
    const thief = await until("the env thief to wait", async () => {
      const p = await getPod("env-thief");
      const waiting = p.status?.containerStatuses?.[0]?.state.waiting;
      return waiting?.reason === "CreateContainerConfigError" ? p : undefined;
    });
    assert.equal(thief.status?.phase, "Pending");
    assert.match(
      thief.status?.containerStatuses?.[0]?.state.waiting?.message ?? "",
      /secret "b-only" not found/,
    );
    const reads = server.requests.filter((r) => r.includes("/secrets/b-only"));
    assert.ok(reads.length > 0, "the kubelet did look the secret up");
    assert.ok(
      reads.every((r) => r.startsWith("GET /api/v1/namespaces/default/secrets/")),
      reads.join("\n"),
    );
    const containers = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.pod.node=${nodeName}`, "io.dinv.pod.name=env-thief"] }),
    });
    assert.equal(containers.filter((c) => c.Labels["io.dinv.pod.role"] === "app").length, 0, "never ran");
    reportCases(t, 3);
  });

  it("runs init containers in order before the app, sharing an emptyDir; medium Memory is a tmpfs", async () => {
    await api.request(
      "POST",
      podsPath("default"),
      pod("init-pod", {
        initContainers: [
          {
            name: "first",
            ...sh("echo one > /work/steps"),
            volumeMounts: [{ name: "work", mountPath: "/work" }],
          },
          {
            name: "second",
            ...sh("echo two >> /work/steps"),
            volumeMounts: [{ name: "work", mountPath: "/work" }],
          },
        ],
        containers: [
          {
            name: "main",
            ...sh('cat /work/steps; grep -q " /scratch tmpfs" /proc/mounts && echo scratch-is-tmpfs'),
            volumeMounts: [
              { name: "work", mountPath: "/work" },
              { name: "scratch", mountPath: "/scratch" },
            ],
          },
        ],
        volumes: [
          { name: "work", emptyDir: {} },
          { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        ],
      }),
    );
    const done = await finished("init-pod");
    assert.equal(done.status?.phase, "Succeeded");
    assert.equal(await logs("init-pod"), "one\ntwo\nscratch-is-tmpfs\n");
    assert.deepEqual(
      done.status?.initContainerStatuses?.map((s) => [s.name, s.state.terminated?.exitCode]),
      [
        ["first", 0],
        ["second", 0],
      ],
    );
    assert.equal(done.status?.conditions?.find((c) => c.type === "Initialized")?.status, "True");
    // Events are posted beside the status, not before it: wait for the last one.
    await until("the init-pod events", async () =>
      events("init-pod").some(
        (e) => e.reason === "Started" && e.involvedObject.fieldPath === "spec.containers{main}",
      )
        ? true
        : undefined,
    );
    const reasons = events("init-pod").map((e) => `${e.reason} ${e.involvedObject.fieldPath ?? ""}`);
    for (const expected of [
      "Pulled spec.initContainers{first}",
      "Created spec.initContainers{first}",
      "Started spec.initContainers{first}",
      "Started spec.initContainers{second}",
      "Created spec.containers{main}",
      "Started spec.containers{main}",
    ]) {
      assert.ok(reasons.includes(expected), `event ${expected} in ${reasons.join(", ")}`);
    }
    const order = reasons.filter((r) => r.startsWith("Started"));
    assert.deepEqual(order, [
      "Started spec.initContainers{first}",
      "Started spec.initContainers{second}",
      "Started spec.containers{main}",
    ]);
    const uid = done.metadata?.uid ?? "";
    const volumes = await engine.docker.listVolumes({
      filters: JSON.stringify({ label: [`io.dinv.pod.uid=${uid}`] }),
    });
    assert.equal(volumes.Volumes?.length, 2, "one engine volume per emptyDir");
    await api.request("DELETE", `${podsPath("default")}/init-pod`, { gracePeriodSeconds: 0 });
    await until("the emptyDir volumes to go with the pod", async () => {
      const left = await engine.docker.listVolumes({
        filters: JSON.stringify({ label: [`io.dinv.pod.uid=${uid}`] }),
      });
      return (left.Volumes ?? []).length === 0 ? true : undefined;
    });
  });

  it("fails a pod whose init container fails under restartPolicy Never; the app never starts", async () => {
    await api.request(
      "POST",
      podsPath("default"),
      pod("init-fails", {
        initContainers: [{ name: "check", ...sh("exit 4") }],
        containers: [{ name: "main", ...sh("exit 0") }],
      }),
    );
    const done = await finished("init-fails");
    assert.equal(done.status?.phase, "Failed");
    assert.equal(done.status?.initContainerStatuses?.[0]?.state.terminated?.exitCode, 4);
    assert.equal(done.status?.containerStatuses?.[0]?.state.waiting?.reason, "PodInitializing");
  });

  it("writes downward API and projected volumes (labels, configMap, service-account token)", async () => {
    const script = [
      "cat /info/labels",
      "echo",
      "cat /info/name",
      "echo",
      "cat /projected/conf/app.conf",
      "cat /projected/token",
    ].join("; ");
    await api.request(
      "POST",
      podsPath("default"),
      pod("downward", {
        serviceAccountName: "builder",
        containers: [
          {
            name: "main",
            ...sh(script),
            volumeMounts: [
              { name: "info", mountPath: "/info" },
              { name: "all", mountPath: "/projected" },
            ],
          },
        ],
        volumes: [
          {
            name: "info",
            downwardAPI: {
              items: [
                { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
                { path: "name", fieldRef: { fieldPath: "metadata.name" } },
              ],
            },
          },
          {
            name: "all",
            projected: {
              sources: [
                { configMap: { name: "app-config", items: [{ key: "app.conf", path: "conf/app.conf" }] } },
                { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
              ],
            },
          },
        ],
      }),
    );
    const done = await finished("downward");
    assert.equal(done.status?.phase, "Succeeded");
    const [labels, tier, name, conf, token] = (await logs("downward")).split("\n");
    assert.equal(labels, 'app="downward"');
    assert.equal(tier, 'tier="e2e"');
    assert.equal(name, "downward");
    assert.match(conf ?? "", /^version=\d$/);
    assert.match(token ?? "", /^test-token\.default\.builder\.downward\.\d+$/);
  });

  it("serves the service-account volume the API server injects (token, kube-root-ca.crt, namespace)", async () => {
    const dirPath = "/var/run/secrets/kubernetes.io/serviceaccount";
    const script = [
      `cat ${dirPath}/token`,
      "echo",
      `cat ${dirPath}/namespace`,
      "echo",
      `head -1 ${dirPath}/ca.crt`,
    ].join("; ");
    const created = await api.request<Pod>(
      "POST",
      podsPath("default"),
      pod("sa-volume", { containers: [{ name: "main", ...sh(script) }] }),
    );
    // Nothing in the pod asked for it: admission put it there, as on a real cluster.
    assert.ok(created.spec.volumes?.some((v) => v.name.startsWith("kube-api-access-")));
    const done = await finished("sa-volume");
    assert.equal(done.status?.phase, "Succeeded");
    const [token, namespace, ca] = (await logs("sa-volume")).split("\n");
    assert.match(token ?? "", /^test-token\.default\.default\.sa-volume\.\d+$/);
    assert.equal(namespace, "default");
    assert.equal(ca, "-----BEGIN CERTIFICATE-----");
  });

  it("refuses hostPath and PVC volumes with a FailedMount event; a missing pull secret is a warning only", async () => {
    await api.request(
      "POST",
      podsPath("default"),
      pod("host-path", {
        containers: [{ name: "main", ...sh("exit 0"), volumeMounts: [{ name: "h", mountPath: "/h" }] }],
        volumes: [{ name: "h", hostPath: { path: "/etc" } }],
      }),
    );
    await api.request(
      "POST",
      podsPath("default"),
      pod("pvc", {
        containers: [{ name: "main", ...sh("exit 0") }],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
      }),
    );
    await api.request(
      "POST",
      podsPath("default"),
      pod("pull-secret", {
        imagePullSecrets: [{ name: "no-such-secret" }],
        containers: [{ name: "main", ...sh("exit 0"), imagePullPolicy: "IfNotPresent" }],
      }),
    );
    for (const [name, kind] of [
      ["host-path", "hostPath"],
      ["pvc", "persistentVolumeClaim"],
    ] as const) {
      const failed = await finished(name);
      assert.equal(failed.status?.phase, "Failed");
      assert.equal(failed.status?.reason, "FailedMount");
      assert.match(failed.status?.message ?? "", new RegExp(`${kind} volumes are not supported`));
      // Events are posted beside the status, not before it.
      await until(`${name} FailedMount event`, async () =>
        events(name).some((e) => e.reason === "FailedMount" && e.type === "Warning") ? true : undefined,
      );
    }
    assert.equal((await finished("pull-secret")).status?.phase, "Succeeded");
    await until("the pull-secret warning", async () =>
      events("pull-secret").some((e) => e.reason === "FailedToRetrieveImagePullSecret") ? true : undefined,
    );
  });

  it("records Killing when a running pod is deleted", async () => {
    await api.request(
      "POST",
      podsPath("default"),
      pod("killed", { containers: [{ name: "main", ...sh("exec sleep 3600") }] }),
    );
    await until("killed to run", async () =>
      (await getPod("killed")).status?.phase === "Running" ? true : undefined,
    );
    await api.request("DELETE", `${podsPath("default")}/killed`, { gracePeriodSeconds: 0 });
    await until("the Killing event", async () =>
      events("killed").some((e) => e.reason === "Killing" && e.message === "Stopping container main")
        ? true
        : undefined,
    );
    const list = await api.request<KubeList<Pod>>("GET", podsPath("default"));
    assert.ok(list.items.length > 0);
  });
});
