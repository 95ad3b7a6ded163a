/** Native sidecars (KEP-753): restart policy, restarts where the kubelet makes them, and status. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Pod } from "../../src/kubelet/kube/types.js";
import { initRestartPolicy } from "../../src/kubelet/provider/container-spec.js";
import type { EngineContainerDetails } from "../../src/kubelet/provider/engine.js";
import type { CachedPod } from "../../src/kubelet/provider/pod-cache.js";
import { podStatusFrom } from "../../src/kubelet/provider/pod-status.js";
import { shouldRestart } from "../../src/kubelet/provider/restarts.js";
import { checkVolumes } from "../../src/kubelet/provider/volumes.js";

const pod: Pod = {
  metadata: { name: "p", namespace: "ns", uid: "u1" },
  spec: {
    restartPolicy: "Never",
    initContainers: [
      { name: "setup", image: "x" },
      { name: "side", image: "x", restartPolicy: "Always" },
    ],
    containers: [{ name: "main", image: "x" }],
  },
};

function details(id: string, status: "running" | "exited", exitCode = 0): EngineContainerDetails {
  return {
    id,
    image: "x",
    imageId: "sha256:x",
    labels: {},
    created: "2026-01-01T00:00:00Z",
    state: {
      status,
      exitCode,
      error: "",
      oomKilled: false,
      startedAt: "2026-01-01T00:00:01Z",
      finishedAt: status === "exited" ? "2026-01-01T00:00:05Z" : "0001-01-01T00:00:00Z",
    },
    restartCount: 0,
  };
}

function status(main: EngineContainerDetails, side: EngineContainerDetails) {
  const entry: CachedPod = {
    namespace: "ns",
    name: "p",
    uid: "u1",
    containers: new Map([["main", { name: "main", id: "m", index: 0 }]]),
    initContainers: new Map([
      ["setup", { name: "setup", id: "s", index: 0 }],
      ["side", { name: "side", id: "c", index: 1 }],
    ]),
  };
  const found = new Map([
    ["m", main],
    ["s", details("s", "exited", 0)],
    ["c", side],
  ]);
  return podStatusFrom(entry, pod, found, undefined, { hostIP: "10.0.0.1", runtime: "docker://" });
}

describe("native sidecars", () => {
  it("are restarted whatever the pod's restartPolicy; ordinary init containers only after a failure", () => {
    assert.deepEqual(initRestartPolicy(pod, pod.spec.initContainers?.[1]), { Name: "always" });
    assert.deepEqual(initRestartPolicy(pod, pod.spec.initContainers?.[0]), { Name: "no" });
    assert.equal(shouldRestart(pod, 0, true, "side"), true);
    assert.equal(shouldRestart(pod, 1, true, "side"), true);
    assert.equal(shouldRestart(pod, 1, true, "setup"), false, "Never");
  });

  it("count as initialized once started, as ready while running, and do not hold the pod's completion", () => {
    const running = status(details("m", "running"), details("c", "running"));
    assert.equal(running.phase, "Running");
    assert.equal(running.conditions?.find((c) => c.type === "Initialized")?.status, "True");
    assert.equal(running.conditions?.find((c) => c.type === "Ready")?.status, "True");
    assert.deepEqual(
      running.initContainerStatuses?.map((s) => [s.name, s.ready, s.started]),
      [
        ["setup", true, false],
        ["side", true, true],
      ],
    );
    const sideDown = status(details("m", "running"), details("c", "exited", 1));
    assert.equal(sideDown.phase, "Running", "a sidecar's exit under Never does not fail the pod");
    assert.equal(
      sideDown.conditions?.find((c) => c.type === "Ready")?.status,
      "False",
      "it counts for readiness",
    );
    assert.equal(sideDown.conditions?.find((c) => c.type === "Initialized")?.status, "True");
    assert.equal(status(details("m", "exited", 0), details("c", "running")).phase, "Succeeded");
  });

  it("on a VCH may not share an emptyDir with an app container (both run, each its own VM)", () => {
    const mount = [{ name: "shared", mountPath: "/shared" }];
    const sharing: Pod = {
      ...pod,
      spec: {
        ...pod.spec,
        volumes: [{ name: "shared", emptyDir: {} }],
        initContainers: [{ name: "side", image: "x", restartPolicy: "Always", volumeMounts: mount }],
        containers: [{ name: "main", image: "x", volumeMounts: mount }],
      },
    };
    assert.throws(
      () => checkVolumes(sharing, { tmpfsVolumes: false, sharedVolumes: false }),
      /"side", "main"/,
    );
    checkVolumes(sharing, { tmpfsVolumes: true, sharedVolumes: true });
  });
});
