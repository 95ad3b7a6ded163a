/**
 * What only a VCH asks of dinv, end to end against DINV_TEST_ENGINE=vch (the VCH emulator of
 * scripts/vch.sh, or a real VCH): images only by pull from a registry, the cache as a sized disk
 * from a volume store, no restart policies, exec only in a running containerVM. Each test failed
 * before dinv handled it (issue 13). It belongs to `npm run test:vch` only: elsewhere it fails
 * at once, saying so.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import {
  HOST_IMAGE,
  TEST_ENGINE,
  commitImage,
  imageWorkshop,
  publishImage,
  removeImages,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

const onVch = TEST_ENGINE === "vic";

describe(
  "dinv on a VCH (the VCH emulator, or a real VCH)",
  { skip: !onVch && "runs with DINV_TEST_ENGINE=vch" },
  () => {
    let box: Sandbox;
    let engine: EngineClient;
    let workshop: EngineClient;
    const name = runId("vch");
    /** A tag of the host image that this VCH has never pulled. */
    const localTag = `dinv-e2e/vch-host:${name}`;
    let image: string;

    const volumesOf = async (host: string) =>
      (await engine.docker.listVolumes({ filters: JSON.stringify({ label: [`io.dinv.host=${host}`] }) }))
        .Volumes ?? [];

    before(async () => {
      engine = await testEngine();
      workshop = imageWorkshop(engine);
      box = sandbox();
      await workshop.docker.getImage(HOST_IMAGE).tag({ repo: localTag.split(":")[0] ?? localTag, tag: name });
      image = await publishImage(workshop, localTag);
    });

    after(async () => {
      for (const host of [name, `${name}-b`, `${name}-c`]) await box.dinv(["rm", "-f", "-y", host]);
      await removeLabelled(engine, name, "io.dinv.host");
      await removeImages([
        [engine, image],
        [workshop, image],
        [workshop, localTag],
      ]);
      box.cleanup();
    });

    it("pulls the host image the VCH lacks, gives the cache a 20 GiB disk and says there are no restart policies", async () => {
      await assert.rejects(engine.docker.getImage(image).inspect(), "the VCH has not got the image yet");
      const created = await box.dinv(["create", "--image", image, "--no-context", name]);
      assertOk(created, "create");
      assert.match(created.stderr, new RegExp(`pulling ${image.replace(/[.]/g, "\\.")}: done`));
      assert.match(created.stderr, /a VCH has no restart policies: .*`dinv start /);
      const [volume] = await volumesOf(name);
      assert.equal(volume?.Options?.Capacity, "20480MB", "a 20 GiB disk, not VIC's 1 GiB default");
      // A VCH makes an anonymous disk for an image VOLUME nothing binds; its options name the container.
      const anonymous = ((await engine.docker.listVolumes()).Volumes ?? []).filter(
        (v) => (v.Options as Record<string, string> | null)?.container === `dinv-${name}`,
      );
      assert.deepEqual(anonymous, [], "no anonymous volume beside the cache");
      const info = await engine.docker.getContainer(`dinv-${name}`).inspect();
      // The create-time copy VIC echoes: asked for, never applied (vmware/vic#4033).
      assert.equal(info.HostConfig.RestartPolicy?.Name, "unless-stopped");
    });

    it("sizes the cache with --cache-size, from the store --volume-store names", async () => {
      const created = await box.dinv([
        "create",
        "--image",
        image,
        "--no-context",
        "--cache-size",
        "40GB",
        `${name}-b`,
      ]);
      assertOk(created, "create --cache-size 40GB");
      const [volume] = await volumesOf(`${name}-b`);
      // VIC's MB are the port layer's MiB (Capacity x 1024 KB): 40 GiB.
      assert.equal(volume?.Options?.Capacity, "40960MB");
      assertOk(await box.dinv(["rm", "-y", `${name}-b`]), "rm");

      const refused = await box.dinv(["create", "--image", image, "--volume-store", "nfs-fast", `${name}-c`]);
      assertCleanFailure(refused, /the VCH has no volume store named "nfs-fast"; it has: default/);
      assert.deepEqual(await volumesOf(`${name}-c`), [], "nothing made");
    });

    it("refuses an image no registry has with one line that says how images reach a VCH", async () => {
      const missing = `${image.split("/")[0]}/dinv-e2e/absent:${name}`;
      const result = await box.dinv(["create", "--image", missing, "--no-context", `${name}-c`]);
      assertCleanFailure(
        result,
        /image .*absent.* is not on .* and pulling it failed: .*a VCH gets images only from a registry/,
      );
    });

    it("upgrades to what the tag names in the registry now, keeping the image cache", async () => {
      const marker = `vch-${name}`;
      assertOk(
        await box.dinv([
          "exec",
          name,
          "--",
          "sh",
          "-c",
          `mkdir -p /var/lib/docker/dinv-test && echo ${marker} > /var/lib/docker/dinv-test/marker`,
        ]),
        "write into the cache",
      );
      // A new image under the same tag in the registry.
      await commitImage(workshop, localTag, [`LABEL io.dinv.test.next=${name}`]);
      await publishImage(workshop, localTag);

      const upgrade = await box.dinv(["upgrade", name]);
      assertOk(upgrade, "upgrade");
      assert.match(upgrade.stderr, /pulling /);
      const info = await engine.docker.getContainer(`dinv-${name}`).inspect();
      assert.equal(info.Config.Labels?.["io.dinv.test.next"], name, "runs the re-pushed image");
      const read = await box.dinv(["exec", name, "--", "cat", "/var/lib/docker/dinv-test/marker"]);
      assertOk(read, "read the cache");
      assert.equal(read.stdout.trim(), marker, "the cache survived the upgrade");

      const again = await box.dinv(["upgrade", name]);
      assertOk(again, "upgrade on the same image");
      assert.match(again.stdout, /already/i, "VIC's bare hex id matched the image's sha256: id");
    });

    it("answers exec on a stopped host with one line, and rm leaves nothing on the VCH", async () => {
      assertOk(await box.dinv(["stop", name]), "stop");
      const exec = await box.dinv(["exec", name, "--", "true"]);
      assertCleanFailure(exec, /not running/);
      assertOk(await box.dinv(["rm", "-y", name]), "rm");
      assert.deepEqual(await volumesOf(name), []);
      const left = await engine.docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`io.dinv.host=${name}`] }),
      });
      assert.equal(left.length, 0);
    });
  },
);
