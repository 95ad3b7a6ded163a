import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  capabilitiesOf,
  detectFlavor,
  profileFrom,
  type EngineInfo,
  type EngineVersion,
} from "../../src/engine/flavor.js";

/** Recorded (docker, podman) and written (vic) documents: see test/fixtures/engine/README.md. */
function fixture<T>(name: string): T {
  const url = new URL(`../../../test/fixtures/engine/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as T;
}

const docker = {
  info: fixture<EngineInfo>("docker-info"),
  version: fixture<EngineVersion>("docker-version"),
};
const podman = {
  info: fixture<EngineInfo>("podman-info"),
  version: fixture<EngineVersion>("podman-version"),
};
const vic = { info: fixture<EngineInfo>("vic-info"), version: fixture<EngineVersion>("vic-version") };

describe("recorded documents", () => {
  it("are the engines they claim to be", () => {
    // Guards against a fixture being swapped or edited into something detection trivially passes.
    assert.equal(docker.version.Components?.[0]?.Name, "Engine");
    assert.equal(podman.version.Components?.[0]?.Name, "Podman Engine");
    assert.equal(vic.info.ID, "vSphere Integrated Containers");
    assert.equal(vic.info.DockerRootDir, "");
    assert.equal(vic.info.KernelVersion, "");
  });
});

describe("detectFlavor", () => {
  it("detects Docker Engine", () => {
    assert.equal(detectFlavor(docker.info, docker.version), "docker");
    assert.equal(detectFlavor(docker.info), "docker");
  });

  it("detects Podman from /version, and from /info alone", () => {
    assert.equal(detectFlavor(podman.info, podman.version), "podman");
    assert.equal(detectFlavor(podman.info), "podman");
    // /version alone is enough too (an /info without Podman's extra fields).
    assert.equal(detectFlavor({ ID: "x" }, podman.version), "podman");
  });

  it("detects a VIC VCH from ID or from Driver", () => {
    assert.equal(detectFlavor(vic.info, vic.version), "vic");
    assert.equal(detectFlavor(vic.info), "vic");
    assert.equal(detectFlavor({ ...vic.info, ID: "some-other-id" }, vic.version), "vic");
    assert.equal(detectFlavor({ ...vic.info, Driver: "overlay2" }, vic.version), "vic");
  });

  it("does not mistake an engine for VIC or Podman because of unrelated fields", () => {
    assert.equal(
      detectFlavor({ ...docker.info, OperatingSystem: "vSphere Integrated Containers" }),
      "docker",
    );
    assert.equal(
      detectFlavor(docker.info, { ...docker.version, Platform: { Name: "Docker Engine - Community" } }),
      "docker",
    );
  });
});

describe("capabilities", () => {
  it("Docker Engine: privileged with the explicit fallback, build, container: networks, no Capacity", () => {
    const caps = profileFrom(docker.info, docker.version).capabilities;
    assert.deepEqual(caps, {
      privileged: true,
      explicitCapabilitiesFallback: true,
      nestedEngineNeedsPrivilege: true,
      containerNetworkMode: true,
      volumeCapacityOption: false,
      staticIpOnUserNetworks: true,
      build: true,
      cpuUnit: "cores",
      defaultUlimitsMayExceedHost: false,
      restartPolicies: true,
      tmpfsVolumes: true,
      sharedVolumes: true,
      hostNetwork: true,
      statsCpuUnit: "nanoseconds",
      volumeStores: false,
      pullOnly: false,
      containerSecurity: true,
    });
  });

  it("Podman: privileged with the explicit fallback, build, container: networks, no Capacity, limits probed", () => {
    const caps = profileFrom(podman.info, podman.version).capabilities;
    assert.equal(caps.privileged, true);
    assert.equal(caps.explicitCapabilitiesFallback, true);
    assert.equal(caps.nestedEngineNeedsPrivilege, true);
    assert.equal(caps.containerNetworkMode, true);
    assert.equal(caps.volumeCapacityOption, false);
    assert.equal(caps.build, true);
    assert.equal(caps.cpuUnit, "cores");
    assert.equal(caps.defaultUlimitsMayExceedHost, true);
    assert.equal(caps.restartPolicies, true);
    assert.equal(caps.statsCpuUnit, "nanoseconds");
  });

  it("VIC: no privileged mode and no need for it, Capacity volumes, no build, no container: networks", () => {
    const caps = profileFrom(vic.info, vic.version).capabilities;
    assert.deepEqual(caps, {
      privileged: false,
      explicitCapabilitiesFallback: false,
      nestedEngineNeedsPrivilege: false,
      containerNetworkMode: false,
      volumeCapacityOption: true,
      staticIpOnUserNetworks: true,
      build: false,
      cpuUnit: "MHz",
      defaultUlimitsMayExceedHost: false,
      restartPolicies: false,
      tmpfsVolumes: false,
      sharedVolumes: false,
      hostNetwork: false,
      statsCpuUnit: "MHz",
      volumeStores: true,
      pullOnly: true,
      containerSecurity: false,
    });
  });

  it("hands out copies: a caller changing one cannot change the table", () => {
    const caps = capabilitiesOf("docker");
    caps.privileged = false;
    assert.equal(capabilitiesOf("docker").privileged, true);
    assert.equal(profileFrom(docker.info, docker.version).capabilities.privileged, true);
  });
});

describe("profileFrom", () => {
  it("Docker Engine: version, API, cores and memory as recorded", () => {
    assert.deepEqual(profileFrom(docker.info, docker.version), {
      flavor: "docker",
      capabilities: capabilitiesOf("docker"),
      version: "20.10.24+dfsg1",
      apiVersion: "1.41",
      cpus: 2,
      memoryBytes: 25276026880,
      os: "linux",
      arch: "amd64",
    });
  });

  it("Podman: the Podman version, the compat API version", () => {
    const profile = profileFrom(podman.info, podman.version);
    assert.equal(profile.flavor, "podman");
    assert.equal(profile.version, "4.3.1");
    assert.equal(profile.apiVersion, "1.41");
    assert.equal(profile.cpus, 2);
    assert.equal(profile.memoryBytes, 25276026880);
  });

  it("Podman: the version comes from the Podman component, not the top-level Version", () => {
    const profile = profileFrom(podman.info, { ...podman.version, Version: "9.9.9" });
    assert.equal(profile.version, "4.3.1");
  });

  it("VIC: the VIC version from Driver, NCPU MHz turned into cores, the VCH memory limit", () => {
    const profile = profileFrom(vic.info, vic.version);
    assert.equal(profile.flavor, "vic");
    assert.equal(profile.version, "v1.5.6-7000-abcdef0");
    assert.equal(profile.apiVersion, "1.25");
    assert.equal(vic.info.NCPU, 4800);
    assert.equal(profile.cpus, 4);
    assert.equal(profile.memoryBytes, 8 * 1024 ** 3);
    assert.equal(profile.os, "linux");
  });

  it("VIC: rounds MHz down to whole cores, never below one", () => {
    const cpus = (mhz: number | undefined) => profileFrom({ ...vic.info, NCPU: mhz }, vic.version).cpus;
    assert.equal(cpus(22800), 22);
    assert.equal(cpus(1999), 1);
    assert.equal(cpus(500), 1);
    assert.equal(cpus(undefined), 1);
  });

  it("Docker: NCPU is cores, taken as is", () => {
    assert.equal(profileFrom({ ...docker.info, NCPU: 4800 }, docker.version).cpus, 4800);
  });

  it("falls back to ServerVersion, then 'unknown', when /version says nothing", () => {
    assert.equal(profileFrom(docker.info, {}).version, "20.10.24+dfsg1");
    assert.equal(profileFrom({}, {}).version, "unknown");
    assert.equal(
      profileFrom({ ...vic.info, Driver: "vSphere Integrated Containers" }, {}).version,
      vic.info.ServerVersion,
    );
  });
});
