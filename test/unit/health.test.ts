import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
});
