import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextCacheVolume, planResize } from "../../src/host/resize.js";
import { VIC_DEFAULT_CACHE_BYTES } from "../../src/host/resources.js";
import { sampleHostConfig } from "../helpers/host-config.js";

const GIB = 1024 ** 3;

describe("dinv set: what a resize does on each endpoint", () => {
  it("keeps the cache volume where volumes grow, and says the size cannot be enforced", () => {
    const plan = planResize(sampleHostConfig(), { cacheBytes: 30 * GIB, cpus: 2 }, false, "docker");
    assert.equal(plan.moveCache, false);
    assert.deepEqual(plan.resources, { cacheBytes: 30 * GIB, cpus: 2 });
    assert.match(plan.notes.join(), /--cache-size cannot be enforced on docker/);
  });

  it("moves a VCH's cache to a larger volume only when it grows (Capacity is fixed at create)", () => {
    const host = { ...sampleHostConfig(), resources: { cacheBytes: 20 * GIB } };
    assert.equal(planResize(host, { cacheBytes: 40 * GIB }, true, "vic").moveCache, true);
    assert.equal(planResize(host, { cacheBytes: 20 * GIB }, true, "vic").moveCache, false);
    assert.equal(planResize(host, { memoryBytes: 4 * GIB }, true, "vic").moveCache, false);
    assert.deepEqual(planResize(host, { cacheBytes: 40 * GIB }, true, "vic").notes, []);
  });

  it("counts a VCH cache made without --cache-size as dinv's default size", () => {
    const host = sampleHostConfig();
    assert.equal(planResize(host, { cacheBytes: VIC_DEFAULT_CACHE_BYTES }, true, "vic").moveCache, false);
    assert.equal(
      planResize(host, { cacheBytes: VIC_DEFAULT_CACHE_BYTES + GIB }, true, "vic").moveCache,
      true,
    );
  });

  it("refuses to shrink a fixed-size cache, in one line", () => {
    const host = { ...sampleHostConfig(), resources: { cacheBytes: 20 * GIB } };
    assert.throws(
      () => planResize(host, { cacheBytes: 10 * GIB }, true, "vic"),
      /has 20480 MiB and cannot shrink to 10240 MiB/,
    );
  });

  it("alternates between two cache volume names", () => {
    const host = sampleHostConfig();
    assert.equal(nextCacheVolume(host), "dinv-h1-cache-2");
    assert.equal(
      nextCacheVolume({ ...host, container: { ...host.container, volume: "dinv-h1-cache-2" } }),
      "dinv-h1-cache",
    );
  });
});
