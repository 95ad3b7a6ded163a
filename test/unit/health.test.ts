import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { healthView } from "../../src/cli/format/health.js";
import { inspectView } from "../../src/cli/format/machine-view.js";
import { describeHealth } from "../../src/host/health.js";
import { sampleHostConfig } from "../helpers/host-config.js";

const overlayInfo = {
  Driver: "overlay2",
  DriverStatus: [["Backing Filesystem", "extfs"]] as Array<[string, string]>,
  CgroupVersion: "2",
  CgroupDriver: "cgroupfs",
  MemoryLimit: true,
  CpuCfsQuota: true,
  PidsLimit: true,
  SecurityOptions: ["name=seccomp,profile=default", "name=cgroupns"],
  Warnings: [],
};

describe("host health: what the engine runs on, each with its reason", () => {
  it("names overlay2 with its backing filesystem and a nested cgroup v2", () => {
    const health = describeHealth(sampleHostConfig(), overlayInfo, undefined);
    assert.equal(health.storageDriver, "overlay2");
    assert.equal(health.storageFallback, false);
    assert.equal(health.storageReason, "dockerd's choice, on extfs");
    assert.equal(
      health.cgroups,
      "v2 (cgroupfs driver, private namespace): memory, cpu and pids limits work in the host's containers",
    );
    assert.equal(health.privilege, "explicit");
    assert.match(health.privilegeReason, /refused --privileged/);
  });

  it("says a fallback to vfs is one, with the cause it can find", () => {
    const vfs = { ...overlayInfo, Driver: "vfs", DriverStatus: [] };
    const noVolume = describeHealth(sampleHostConfig(), vfs, { logLines: [] });
    assert.equal(noVolume.storageFallback, true);
    assert.match(noVolume.storageReason, /^fallback to vfs .*no volume is mounted at \/var\/lib\/docker/);
    const logged = describeHealth(sampleHostConfig(), vfs, {
      cacheVolume: "dinv-h1-cache",
      logLines: ['level=error msg="failed to mount overlay: invalid argument" storage-driver=overlay2'],
    });
    assert.match(logged.storageReason, /dockerd said: .*failed to mount overlay: invalid argument/);
    const asked = {
      ...sampleHostConfig(),
      engineOptions: { daemon: { "storage-driver": "vfs" }, flags: [], env: {} },
    };
    const chosen = describeHealth(asked, vfs, undefined);
    assert.equal(chosen.storageFallback, false);
    assert.equal(chosen.storageReason, "asked for with --engine-storage-driver");
  });

  it("lists missing cgroup limits with the cause, and the engine's warnings in its words", () => {
    const health = describeHealth(
      sampleHostConfig(),
      { ...overlayInfo, MemoryLimit: false, PidsLimit: false, Warnings: ["WARNING: No swap limit support"] },
      undefined,
    );
    assert.match(
      health.cgroups,
      /no memory, pids limits for the host's containers \(those controllers are not delegated/,
    );
    assert.deepEqual(health.warnings, ["No swap limit support"]);
  });

  it("gives a VCH's containerVM no privilege, and says why", () => {
    const vch = sampleHostConfig();
    const health = describeHealth(
      {
        ...vch,
        engine: { flavor: "vic", version: "1.5.6" },
        container: { ...vch.container, privilege: "none" },
      },
      overlayInfo,
      undefined,
    );
    assert.match(health.privilegeReason, /own VM: its dockerd needs no privilege/);
  });

  it("gives inspect a Health object with each fact and its reason, and none without an answer", () => {
    const paths = { root: "/s", certsDir: "/s/certs", hostDir: "/s/hosts/h1" };
    const vfs = { ...overlayInfo, Driver: "vfs", Warnings: ["WARNING: bridge-nf-call-iptables is disabled"] };
    const view = inspectView(
      sampleHostConfig(),
      paths,
      healthView(describeHealth(sampleHostConfig(), vfs, { logLines: [] })),
    );
    const health = view.Health as Record<string, unknown>;
    assert.equal(health.StorageDriver, "vfs");
    assert.equal(health.StorageFallback, true);
    assert.match(String(health.StorageReason), /no volume is mounted/);
    assert.equal(health.Privilege, "explicit");
    assert.match(String(health.PrivilegeReason), /refused --privileged/);
    assert.match(String(health.Cgroups), /^v2 /);
    assert.deepEqual(health.EngineWarnings, ["bridge-nf-call-iptables is disabled"]);
    assert.equal("Health" in inspectView(sampleHostConfig(), paths), false);
  });

  it("says an adopted host's rights are as its maker gave them", () => {
    const adopted = {
      ...sampleHostConfig(),
      adopted: { at: "2026-01-01T00:00:00Z", caKey: "ca-key.pem", data: "volume" as const },
    };
    const health = describeHealth(adopted, overlayInfo, undefined);
    assert.match(health.privilegeReason, /^adopted: its container was made with every capability added/);
  });
});
