/**
 * dinv's choices for a VIC VCH (each would have failed before the VCH work of issue 13), and the
 * VCH emulator's rules (test/fixtures/vch/rules.ts) against the values VIC's source gives.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { profileFrom } from "../../src/engine/flavor.js";
import { checkVolumeStore } from "../../src/host/create.js";
import { dockerCliAuth, pullBar, registryOf } from "../../src/host/image-pull.js";
import { isPortTaken } from "../../src/host/provision.js";
import { applyResources } from "../../src/host/resources.js";
import { hostContainerOptions } from "../../src/personalities/docker/container-spec.js";
import {
  planCreate,
  vchInfo,
  vchVersion,
  vmSize,
  volumeRequest,
  volumeUses,
  type VchSettings,
} from "../fixtures/vch/rules.js";

const settings: VchSettings = {
  name: "vch01",
  volumeStores: ["default", "ssd"],
  cpuMhz: 4800,
  memoryMiB: 8192,
  publicIps: ["10.0.0.5"],
};
const vch = profileFrom(
  vchInfo(settings, { running: 0, paused: 0, stopped: 0, images: 0 }) as never,
  vchVersion() as never,
);

describe("dinv on a VCH", () => {
  it("mounts the image cache through Binds, which a VCH reads (it ignores Mounts)", () => {
    const options = hostContainerOptions({
      containerName: "dinv-h",
      image: "reg/dinv/host:1",
      volumeName: "dinv-h-cache",
      privilege: "none",
      labels: {},
    });
    assert.deepEqual(options.HostConfig?.Binds, ["dinv-h-cache:/var/lib/docker"]);
    assert.equal(options.HostConfig?.Mounts, undefined);
  });

  it("sizes the cache volume at 20 GiB unless --cache-size says otherwise, in VIC's MB (MiB on disk)", () => {
    assert.deepEqual(applyResources({}, "vic").volumeOptions, { Capacity: "20480MB" });
    assert.deepEqual(
      applyResources({ cacheBytes: 40 * 1024 ** 3, volumeStore: "ssd" }, "vic").volumeOptions,
      {
        Capacity: "40960MB",
        VolumeStore: "ssd",
      },
    );
    assert.deepEqual(applyResources({}, "docker").volumeOptions, {});
  });

  it("reads the VCH's volume stores and refuses a missing one with the list", () => {
    assert.deepEqual(vch.volumeStores, ["default", "ssd"]);
    checkVolumeStore(vch, undefined);
    checkVolumeStore(vch, "ssd");
    assert.throws(() => checkVolumeStore(vch, "nfs"), /no volume store named "nfs"; it has: default, ssd/);
    const bare = { ...vch, volumeStores: [] };
    assert.throws(() => checkVolumeStore(bare, undefined), /the VCH has no volume store/);
    const docker = {
      ...vch,
      flavor: "docker" as const,
      capabilities: { ...vch.capabilities, volumeStores: false },
    };
    assert.throws(() => checkVolumeStore(docker, "ssd"), /--volume-store applies to VIC only/);
  });

  it("knows a VCH has no restart policies and gets images only by pull", () => {
    assert.equal(vch.capabilities.restartPolicies, false);
    assert.equal(vch.capabilities.pullOnly, true);
  });

  it("takes VIC's port-conflict message for a taken port", () => {
    assert.ok(
      isPortTaken(new Error("Server error from portlayer: error mapping ports: port 2376 is not available")),
    );
    assert.ok(!isPortTaken(new Error("Server error from portlayer: no such image")));
  });

  it("finds the docker CLI's stored login for the image's registry", () => {
    const dir = mkdtempSync(join(tmpdir(), "dinv-auth-"));
    const auth = (s: string) => ({ auth: Buffer.from(s).toString("base64") });
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        auths: { "reg.example:5000": auth("ann:s3cret"), "https://index.docker.io/v1/": auth("bob:pw") },
      }),
    );
    const env = { DOCKER_CONFIG: dir };
    assert.deepEqual(dockerCliAuth("reg.example:5000/dinv/host:1", env), {
      username: "ann",
      password: "s3cret",
      serveraddress: "reg.example:5000",
    });
    assert.equal(dockerCliAuth("dinv/host:1", env)?.username, "bob");
    assert.equal(dockerCliAuth("other.example/x:1", env), undefined);
    assert.equal(registryOf("localhost/x"), "localhost");
    assert.equal(registryOf("team/x:1"), "docker.io");
  });

  it("draws the pull's progress from the layers' downloads", () => {
    const layers = new Map([
      ["a", { current: 50e6, total: 100e6 }],
      ["b", { current: 0, total: 100e6 }],
    ]);
    assert.equal(pullBar(layers, 10), "[=>        ] 50/200 MB");
    assert.equal(pullBar(new Map()), "");
  });
});

describe("VCH emulator rules (VIC's source)", () => {
  it("sizes containerVMs as validateCreateConfig does", () => {
    assert.deepEqual(vmSize({}), { cpus: 2, memoryMB: 2048 });
    assert.deepEqual(vmSize({ Memory: 100 * 1024 ** 2, CpusetCpus: "4" }), { cpus: 4, memoryMB: 512 });
    assert.deepEqual(vmSize({ Memory: 1000 * 1024 ** 2, CpuCount: 3, NanoCpus: 9e9 }), {
      cpus: 3,
      memoryMB: 1024,
    });
    assert.deepEqual(vmSize({ CpusetCpus: "0" }).cpus, 1);
  });

  it("keeps only what reaches the port layer and echoes the create-time HostConfig", () => {
    const plan = planCreate(
      {
        Image: "x",
        Cmd: ["sh"],
        StopTimeout: 30,
        Healthcheck: { Test: ["NONE"] },
        HostConfig: {
          Privileged: true,
          CapAdd: ["ALL"],
          Mounts: [{ Type: "volume", Source: "v", Target: "/data" }],
          Tmpfs: { "/run": "" },
          RestartPolicy: { Name: "always" },
          Binds: ["cache:/var/lib/docker"],
          PortBindings: { "2376/tcp": [{ HostIp: "0.0.0.0", HostPort: "" }] },
        },
      },
      { Volumes: { "/var/lib/docker": {}, "/logs": {} } },
      settings,
      () => "anon-1",
    );
    assert.equal(plan.config.StopTimeout, undefined);
    assert.equal(plan.config.Healthcheck, undefined);
    assert.deepEqual(Object.keys(plan.config.HostConfig as object).sort(), ["Binds", "PortBindings"]);
    assert.deepEqual(plan.echoedHostConfig.RestartPolicy, { Name: "always" }, "echoed, never applied");
    assert.equal(plan.echoedHostConfig.Memory, 2048, "Memory in MB");
    assert.equal(plan.echoedHostConfig.CpusetCpus, "2", "CpusetCpus is the vCPU count");
    assert.deepEqual(
      plan.volumes.map((v) => [v.name, v.dest, v.anonymous]),
      [
        ["cache", "/var/lib/docker", false],
        ["anon-1", "/logs", true],
      ],
    );
  });

  it("refuses host paths, host networking, host-IP and range bindings as VIC does", () => {
    assert.throws(() => volumeUses(["/srv:/data"], [], () => "a"), /mounting directories as a data volume/);
    const base = { Image: "x", Cmd: ["sh"] };
    const plan = (hostConfig: object) =>
      planCreate({ ...base, HostConfig: hostConfig }, {}, settings, () => "a");
    assert.throws(() => plan({ NetworkMode: "host" }), /network host not found/);
    assert.throws(
      () => plan({ PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "80" }] } }),
      /only supported for 0\.0\.0\.0 and the public interface/,
    );
    plan({ PortBindings: { "80/tcp": [{ HostIp: "10.0.0.5", HostPort: "80" }] } });
    assert.throws(
      () => plan({ PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "80-81" }] } }),
      /host port ranges are not supported/,
    );
    assert.throws(() => planCreate({ Image: "x" }, {}, settings, () => "a"), /No command specified/);
  });

  it("takes Capacity and VolumeStore only, in VIC's units", () => {
    assert.deepEqual(volumeRequest("v", "local", {}, settings), { store: "default", capacityMB: 1024 });
    assert.deepEqual(volumeRequest("v", "vsphere", { Capacity: "40960MB", volumestore: "ssd" }, settings), {
      store: "ssd",
      capacityMB: 40960,
    });
    assert.equal(volumeRequest("v", "local", { capacity: "2048" }, settings).capacityMB, 2048);
    assert.equal(volumeRequest("v", "local", { Capacity: "30GB" }, settings).capacityMB, 30000);
    assert.throws(
      () => volumeRequest("v", "local", { size: "1g" }, settings),
      /size is not a supported option/,
    );
    assert.throws(
      () => volumeRequest("v", "local", { VolumeStore: "nfs" }, settings),
      /No volume store named \(nfs\)/,
    );
    assert.throws(() => volumeRequest("v", "nfsdriver", {}, settings), /plugin not found/);
  });

  it("answers /info and /version with VIC's strings", () => {
    const info = vchInfo(settings, { running: 1, paused: 0, stopped: 2, images: 1 });
    assert.equal(info.ID, "vSphere Integrated Containers");
    assert.match(
      String(info.Driver),
      /^vSphere Integrated Containers v1\.5\.6-\d+-[0-9a-f]+ Backend Engine$/,
    );
    assert.match(String(info.ServerVersion), /^v\d+\.\d+\.\d+-\d+-[0-9a-f]+$/);
    assert.equal(info.OperatingSystem, "vmnix-x86");
    assert.equal(info.KernelVersion, "");
    const rows = (info.SystemStatus as Array<[string, string]>).map(([k]) => k);
    assert.equal(rows[0], "VolumeStores");
    assert.ok(rows.includes(" VCH storage usage"));
    const version = vchVersion();
    assert.equal(version.ApiVersion, "1.25");
    assert.equal(version.KernelVersion, "-");
    assert.equal(version.Components, undefined);
    assert.equal(vch.flavor, "vic");
    assert.equal(vch.cpus, 4, "4800 MHz counted as 4 cores");
  });
});
