/**
 * securityContext → the engine's create request, and the refusals: every field either mapped or
 * refused with an error naming it (never silently dropped), on Docker Engine and on a VCH.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { capabilitiesOf } from "../../src/engine/flavor.js";
import { EngineError } from "../../src/errors.js";
import type { Container, Pod } from "../../src/kubelet/kube/types.js";
import { appContainerSpec, infraContainerSpec } from "../../src/kubelet/provider/container-spec.js";
import type { PodEngine } from "../../src/kubelet/provider/engine.js";
import { PodOperationError } from "../../src/kubelet/provider/errors.js";
import { PodStarter } from "../../src/kubelet/provider/pod-starter.js";
import { checkSecurity, verifyNonRoot } from "../../src/kubelet/provider/security-context.js";

const docker = { node: "n1", flavor: "docker" as const, capabilities: capabilitiesOf("docker") };
const vic = capabilitiesOf("vic");

function pod(spec: Partial<Pod["spec"]>, container: Partial<Container> = {}): Pod {
  return {
    metadata: { name: "p", namespace: "ns", uid: "u1" },
    spec: { containers: [{ name: "app", image: "example/app:1", ...container }], ...spec },
  };
}

function refusal(fn: () => unknown, field: string, reason = "CreateContainerConfigError"): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PodOperationError, String(err));
    assert.equal(err.reason, reason);
    assert.equal(err.permanent, true);
    assert.ok(err.message.startsWith(field), `"${err.message}" should name ${field}`);
    return true;
  });
}

describe("securityContext mapping", () => {
  const p = pod(
    {
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 3000,
        supplementalGroups: [4000, 5000],
        fsGroup: 2000,
        seccompProfile: { type: "Unconfined" },
        sysctls: [
          { name: "kernel.shm_rmid_forced", value: "1" },
          { name: "net.ipv4.tcp_syncookies", value: "1" },
        ],
      },
    },
    {
      securityContext: {
        runAsUser: 1001,
        capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] },
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
      },
    },
  );
  const container = p.spec.containers[0] as Container;

  it("maps every field on Docker Engine; the container's settings override the pod's", () => {
    checkSecurity(p, docker.capabilities);
    const spec = appContainerSpec(p, container, 0, [], docker);
    assert.equal(spec.User, "1001:3000");
    const hc = spec.HostConfig ?? {};
    assert.deepEqual(hc.CapAdd, ["NET_ADMIN"]);
    assert.deepEqual(hc.CapDrop, ["ALL"]);
    assert.equal(hc.ReadonlyRootfs, true);
    assert.equal(hc.Privileged, undefined);
    assert.deepEqual(hc.SecurityOpt, ["no-new-privileges", "seccomp=unconfined"]);
    assert.deepEqual(hc.GroupAdd, ["4000", "5000", "2000"]);
    // No infra container: this one holds the network namespace and takes the net.* sysctls too.
    assert.deepEqual(hc.Sysctls, { "kernel.shm_rmid_forced": "1", "net.ipv4.tcp_syncookies": "1" });
  });

  it("puts net.* sysctls on the infra container, the others on each container joining it", () => {
    const joined = appContainerSpec(p, container, 0, [], { ...docker, infraId: "infra1" });
    assert.deepEqual(joined.HostConfig?.Sysctls, { "kernel.shm_rmid_forced": "1" });
    const infra = infraContainerSpec(p, { ref: "pause" }, docker);
    assert.deepEqual(infra.HostConfig?.Sysctls, { "net.ipv4.tcp_syncookies": "1" });
  });

  it("privileged: true becomes Privileged; no securityContext adds nothing", () => {
    const privileged = pod({}, { securityContext: { privileged: true } });
    assert.equal(
      appContainerSpec(privileged, privileged.spec.containers[0] as Container, 0, [], docker).HostConfig
        ?.Privileged,
      true,
    );
    const plain = pod({});
    const spec = appContainerSpec(plain, plain.spec.containers[0] as Container, 0, [], docker);
    assert.equal(spec.User, undefined);
    for (const k of [
      "Privileged",
      "CapAdd",
      "CapDrop",
      "ReadonlyRootfs",
      "SecurityOpt",
      "GroupAdd",
      "Sysctls",
    ])
      assert.equal((spec.HostConfig as Record<string, unknown>)[k], undefined, k);
  });
});

describe("securityContext refusals", () => {
  it("refuses fields dinv does not map, naming them", () => {
    refusal(
      () => checkSecurity(pod({ securityContext: { seLinuxOptions: { level: "s0" } } }), docker.capabilities),
      "spec.securityContext.seLinuxOptions",
    );
    refusal(
      () =>
        checkSecurity(
          pod({}, { securityContext: { appArmorProfile: { type: "Unconfined" } } }),
          docker.capabilities,
        ),
      "spec.containers[0].securityContext.appArmorProfile",
    );
    refusal(
      () => checkSecurity(pod({}, { securityContext: { procMount: "Unmasked" } }), docker.capabilities),
      "spec.containers[0].securityContext.procMount",
    );
  });

  it("refuses a Localhost seccomp profile, unsafe sysctls (SysctlForbidden) and runAsGroup alone", () => {
    refusal(
      () =>
        checkSecurity(
          pod({}, { securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "x.json" } } }),
          docker.capabilities,
        ),
      "spec.containers[0].securityContext.seccompProfile.type",
    );
    refusal(
      () =>
        checkSecurity(
          pod({ securityContext: { sysctls: [{ name: "kernel.msgmax", value: "1" }] } }),
          docker.capabilities,
        ),
      "spec.securityContext.sysctls[0]",
      "SysctlForbidden",
    );
    refusal(
      () => checkSecurity(pod({}, { securityContext: { runAsGroup: 10 } }), docker.capabilities),
      "spec.containers[0].securityContext.runAsGroup",
    );
  });

  it("refuses readOnlyRootFilesystem beside file volumes (their files go into the root filesystem)", () => {
    const p = pod(
      { volumes: [{ name: "cfg", configMap: { name: "c" } }] },
      {
        securityContext: { readOnlyRootFilesystem: true },
        volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
      },
    );
    refusal(
      () => checkSecurity(p, docker.capabilities),
      "spec.containers[0].securityContext.readOnlyRootFilesystem",
    );
  });

  it("on a VCH refuses every setting VIC ignores, and allows the user", () => {
    for (const [ctx, field] of [
      [{ privileged: true }, "privileged"],
      [{ capabilities: { add: ["NET_ADMIN"] } }, "capabilities"],
      [{ readOnlyRootFilesystem: true }, "readOnlyRootFilesystem"],
      [{ allowPrivilegeEscalation: false }, "allowPrivilegeEscalation"],
      [{ seccompProfile: { type: "Unconfined" } }, "seccompProfile.type"],
    ] as Array<[NonNullable<Container["securityContext"]>, string]>) {
      refusal(
        () => checkSecurity(pod({}, { securityContext: ctx }), vic),
        `spec.containers[0].securityContext.${field}`,
      );
    }
    refusal(
      () => checkSecurity(pod({ securityContext: { supplementalGroups: [5] } }), vic),
      "spec.securityContext.supplementalGroups",
    );
    checkSecurity(
      pod(
        { securityContext: { runAsUser: 5, runAsGroup: 6 } },
        { securityContext: { seccompProfile: { type: "RuntimeDefault" } } },
      ),
      vic,
    );
  });
});

describe("runAsNonRoot", () => {
  const nonRoot = (ctx: Container["securityContext"]) =>
    pod({ securityContext: { runAsNonRoot: true } }, { securityContext: ctx ?? {} });
  const check = (p: Pod, user: string) =>
    verifyNonRoot(p, p.spec.containers[0] as Container, async () => user);
  const rejects = (promise: Promise<void>, message: RegExp) =>
    assert.rejects(
      promise,
      (err: unknown) =>
        err instanceof PodOperationError &&
        err.reason === "CreateContainerConfigError" &&
        message.test(err.message),
    );

  it("refuses an image that runs as root, as the kubelet does", async () => {
    await rejects(
      check(nonRoot({}), ""),
      /container has runAsNonRoot and image will run as root \(pod: "p_ns", container: app\)/,
    );
    await rejects(check(nonRoot({}), "0:0"), /image will run as root/);
    await rejects(check(nonRoot({}), "app"), /non-numeric user \(app\), cannot verify user is non-root/);
    await rejects(check(nonRoot({ runAsUser: 0 }), "1000"), /runAsUser breaks non-root policy/);
  });

  it("passes a numeric non-root user, and never asks the image when runAsUser says", async () => {
    await check(nonRoot({}), "1000:1000");
    const seven = nonRoot({ runAsUser: 7 });
    await verifyNonRoot(seven, seven.spec.containers[0] as Container, () => assert.fail("asked the image"));
    await check(pod({}), "");
  });
});

describe("privileged where the engine refuses it", () => {
  it("the StartError names securityContext.privileged", async () => {
    const engine = {
      startContainer: async () => {
        throw new EngineError("unix:///x: unable to apply caps: operation not permitted (HTTP 500)", {
          cause: Object.assign(new Error("caps"), { statusCode: 500 }),
        });
      },
    } as unknown as PodEngine;
    await assert.rejects(
      new PodStarter(engine).startContainer({ name: "app", id: "c1", index: 0, privileged: true }),
      (err: unknown) => {
        assert.ok(err instanceof PodOperationError);
        assert.equal(err.reason, "StartError");
        assert.equal(err.permanent, true);
        assert.match(err.userMessage, /refuses privileged containers \(securityContext\.privileged: true\)/);
        return true;
      },
    );
  });
});
