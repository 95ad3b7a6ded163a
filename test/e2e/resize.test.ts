/**
 * `dinv set` end to end on the real engine with the real docker CLI: a host is resized (CPUs,
 * memory) by recreating its container on the same cache volume, its images survive, the new limits
 * show in the container's inspect; and the cache copy a VCH needs (its volumes cannot grow) carries
 * an engine's data into another volume.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { copyCacheVolume } from "../../src/host/cache-copy.js";
import { silentProgress } from "../../src/host/progress.js";
import type { HostConfig } from "../../src/store/host-config.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import {
  ENGINE_NAME,
  HOST_IMAGE,
  IMAGE_ARGS,
  OUTER_RUN_LIMITS,
  danglingVolumes,
  volumesLeftSince,
  TEST_ENGINE,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

const TINY = "dinv-e2e/tiny:resize";

describe(`dinv set (real ${ENGINE_NAME}, real docker CLI)`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const name = runId("resize");
  const docker = (args: string[]) => box.docker(["--context", name, ...args]);
  const config = () =>
    JSON.parse(readFileSync(join(box.store, "hosts", name, "config.json"), "utf8")) as HostConfig;
  const outer = () => engine.docker.getContainer(`dinv-${name}`).inspect();

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    await removeLabelled(engine, name);
    box.cleanup();
  });

  it("creates a host and loads an image into it", async () => {
    assertOk(await box.dinv(["create", ...IMAGE_ARGS, "--memory", "1g", name]), "create");
    const tarFile = join(box.store, "..", "tiny.tar");
    writeFileSync(tarFile, await tinyRootfsTar());
    assertOk(await docker(["import", tarFile, TINY]), "import into the host");
  });

  it("refuses bad input in one line, changing nothing", async () => {
    const before = await outer();
    assertCleanFailure(await box.dinv(["set", name, "--memory", "lots"]), /--memory "lots" is not a size/);
    assertCleanFailure(await box.dinv(["set", name]), /nothing to change.*--cpus, --memory or --cache-size/);
    assertCleanFailure(await box.dinv(["set", "nosuchhost", "--cpus", "1"]), /nosuchhost/);
    assert.equal((await outer()).Id, before.Id, "the container was not touched");
  });

  it("resizes CPUs and memory, keeping the cache, the images and the running state", async () => {
    const volume = config().container.volume;
    const set = await box.dinv(["set", name, "--cpus", "1.5", "--memory", "768m"]);
    assertOk(set, "set");
    assert.match(set.stdout, new RegExp(`Resized "${name}"`));
    const inspect = await outer();
    assert.equal(inspect.State.Running, true, "running again");
    if (TEST_ENGINE === "vic") {
      // A VCH: vCPUs as CpusetCpus, memory in MB rounded up to 128 MB (docs/vic.md).
      assert.equal(inspect.HostConfig.CpusetCpus, "2");
      assert.equal(inspect.HostConfig.Memory, 768);
    } else {
      assert.equal(inspect.HostConfig.NanoCpus, 1.5e9);
      assert.equal(inspect.HostConfig.Memory, 768 * 1024 ** 2);
    }
    assert.ok(
      inspect.Mounts.some((m) => m.Name === volume && m.Destination === "/var/lib/docker"),
      "same cache volume",
    );
    assertOk(await docker(["image", "inspect", TINY]), "the image survived the resize");
    assert.deepEqual(config().resources.cpus, 1.5);
    assert.equal(
      (await box.dinv(["set", name, "--cpus", "1.5"])).stdout.trim(),
      `"${name}" already has these resources.`,
    );
  });

  it("grows the cache: in place where volumes grow (saying the size is not enforced), by a copy on a VCH", async () => {
    const set = await box.dinv(["set", name, "--cache-size", "21g"]);
    assertOk(set, "set --cache-size");
    if (TEST_ENGINE === "vic") {
      // Capacity is fixed at create: a larger volume, the cache copied in, the old one removed.
      assert.match(set.stderr, /copying the image cache/);
      assert.equal(config().container.volume, `dinv-${name}-cache-2`);
      const volumes = await engine.docker.listVolumes({
        filters: JSON.stringify({ label: [`io.dinv.host=${name}`] }),
      });
      assert.deepEqual(
        (volumes.Volumes ?? []).map((v) => v.Name),
        [`dinv-${name}-cache-2`],
        "the old volume is gone",
      );
      assertOk(await docker(["image", "inspect", TINY]), "the image survived the copy");
    } else {
      assert.match(set.stderr, /--cache-size cannot be enforced on (docker|podman)/);
      assert.equal(config().container.volume, `dinv-${name}-cache`, "no copy where volumes grow");
    }
    assert.equal((await outer()).State.Running, true);
  });

  it("copies a stopped host's cache into another volume with the engine's data intact", async () => {
    assertOk(await box.dinv(["stop", name]), "stop");
    const target = `dinv-${name}-copytest`;
    await engine.docker.createVolume({ Name: target, Labels: { "io.dinv.test": name } });
    const danglingBefore = await danglingVolumes(engine);
    await copyCacheVolume(engine, config(), config().container.volume ?? "", target, silentProgress);
    // The copy's helper runs the host image, whose /var/lib/docker is a volume: it goes with the helper.
    assert.deepEqual(await volumesLeftSince(engine, danglingBefore), [], "volumes the copy left behind");
    const listed = await box.docker([
      "run",
      "--rm",
      ...OUTER_RUN_LIMITS,
      "--label",
      `io.dinv.test=${name}`,
      "-v",
      `${target}:/v`,
      "--entrypoint",
      "sh",
      HOST_IMAGE,
      "-c",
      "cat /v/image/*/repositories.json",
    ]);
    assertOk(listed, "read the copy");
    assert.match(listed.stdout, /dinv-e2e\/tiny/, "the copy holds the host's image index");
    assertOk(await box.dinv(["start", name]), "start again");
  });
});
