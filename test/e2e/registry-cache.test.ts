/**
 * The registry-cache personality end to end, offline, through bin/dinv and the real docker CLI:
 * a plain registry as the upstream (a seeding host pushes a tiny image into it as
 * library/tiny:1), a cache pulling through it, and h1 using the cache as its mirror, so that
 * `docker pull tiny:1` (a Docker Hub name) inside h1 is served by the cache. Then the
 * upstream stops: h1 is removed and created again and pulls again from the cache alone, and
 * the cache restarts without its upstream (read-only fallback) and still serves.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { CACHE_NETWORK } from "../../src/host/registry-cache.js";
import { DEFAULT_REGISTRY_CACHE_IMAGE } from "../../src/personalities/registry-cache/personality.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";

const LAYERS = "/var/lib/registry/docker/registry/v2/repositories/library/tiny/_layers";

describe("registry cache (real engine, real docker CLI)", () => {
  let box: Sandbox;
  let engine: EngineClient;
  const id = runId("rc");
  const upstream = `${id}-up`;
  const cache = `${id}-cache`;
  const seeder = `${id}-seed`;
  const h1 = `${id}-h1`;
  const hosts = [h1, seeder, cache, upstream];
  let networkExisted = false;
  let pushedDigest = "";

  const inside = (host: string, args: string[], input?: Buffer) =>
    box.docker(["--context", host, ...args], {}, input ? Readable.from([input]) : undefined);
  /** Blob links in a registry's storage, read through the outer engine. */
  const layerLinks = async (host: string): Promise<string[]> => {
    const found = await box.docker(["exec", `dinv-${host}`, "find", LAYERS, "-name", "link"]);
    return found.code === 0 ? found.stdout.trim().split("\n").filter(Boolean).sort() : [];
  };
  const pullTiny = async (): Promise<string> => {
    const pulled = await inside(h1, ["pull", "tiny:1"]);
    assertOk(pulled, `docker pull tiny:1 in ${h1}`);
    const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(pulled.stdout)?.[1];
    assert.ok(digest, `a digest in the pull output:\n${pulled.stdout}`);
    const ran = await inside(h1, ["run", "--rm", "tiny:1", "sh", "-c", "echo pulled-and-ran"]);
    assertOk(ran, "run tiny:1");
    assert.match(ran.stdout, /pulled-and-ran/);
    return digest;
  };

  before(async () => {
    engine = await testEngine();
    await engine.docker
      .getImage(DEFAULT_REGISTRY_CACHE_IMAGE)
      .inspect()
      .catch(() => {
        throw new Error(
          `image ${DEFAULT_REGISTRY_CACHE_IMAGE} is missing; build it with images/registry-cache/build-offline.sh`,
        );
      });
    networkExisted = await engine.docker
      .getNetwork(CACHE_NETWORK)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", ...hosts]);
    for (const host of hosts) await removeLabelled(engine, host, "io.dinv.host");
    if (!networkExisted) {
      // Shared by every cache on the endpoint: only remove it if this run made it and nothing else uses it.
      await engine.docker
        .getNetwork(CACHE_NETWORK)
        .remove()
        .catch(() => undefined);
    }
    box.cleanup();
  });

  it("refuses --upstream for a docker host and an unknown --registry-cache, leaving nothing", async () => {
    assertCleanFailure(
      await box.dinv(["create", "--upstream", "https://example.invalid", `${id}-x`]),
      /--upstream is for --personality registry-cache/,
    );
    assertCleanFailure(
      await box.dinv(["create", "--registry-cache", `${id}-none`, `${id}-x`]),
      new RegExp(`registry cache "${id}-none" does not exist`),
    );
    assertCleanFailure(
      await box.dinv(["create", "--personality", "registry-cache", "--upstream", "ftp://x", `${id}-x`]),
      /must be http:\/\/ or https:\/\//,
    );
    const ls = await box.dinv(["ls", "-q"]);
    assertOk(ls, "ls");
    assert.equal(ls.stdout.trim(), "");
  });

  it("creates a plain registry and a pull-through cache of it, both on the dinv network", async () => {
    const up = await box.dinv(["create", "--personality", "registry-cache", upstream]);
    assertOk(up, "create the upstream");
    assert.match(up.stdout, new RegExp(`Registry cache "${upstream}" is running`));
    const [created, seeded] = await Promise.all([
      box.dinv([
        "create",
        "--personality",
        "registry-cache",
        "--upstream",
        `https://dinv-${upstream}:5000`,
        cache,
      ]),
      // A host that trusts the upstream (as its mirror): it pushes the test image there.
      box.dinv(["create", "--registry-cache", upstream, seeder]),
    ]);
    assertOk(created, "create the cache");
    assertOk(seeded, "create the seeding host");

    // Hosts reach the cache by its container name: its certificate carries it.
    const cert = new X509Certificate(readFileSync(join(box.store, "hosts", cache, "server.pem")));
    assert.match(cert.subjectAltName ?? "", new RegExp(`DNS:dinv-${cache}`));
    const network = await engine.docker.getNetwork(CACHE_NETWORK).inspect();
    assert.equal(network.Labels?.["io.dinv.network"], "registry-cache");
    const members = Object.values(network.Containers ?? {}).map((c) => (c as { Name: string }).Name);
    for (const host of [upstream, cache, seeder]) assert.ok(members.includes(`dinv-${host}`), `dinv-${host}`);
    const logs = await box.docker(["logs", `dinv-${cache}`]);
    assert.match(
      logs.stderr + logs.stdout,
      new RegExp(`pull-through cache of https://dinv-${upstream}:5000`),
    );
  });

  it("pushes library/tiny:1 into the upstream (a plain registry accepts pushes)", async () => {
    const ref = `dinv-${upstream}:5000/library/tiny:1`;
    assertOk(await inside(seeder, ["import", "-", ref], await tinyRootfsTar()), "import tiny");
    const pushed = await inside(seeder, ["push", ref]);
    assertOk(pushed, "push to the upstream");
    pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] ?? "";
    assert.ok(pushedDigest, pushed.stdout);
    assert.equal((await layerLinks(upstream)).length, 2, "config and layer blobs in the upstream");
  });

  it("pulls tiny:1 inside h1 through the cache (its registry mirror)", async () => {
    assertOk(await box.dinv(["create", "--registry-cache", cache, h1]), "create h1");
    const info = await inside(h1, ["info", "--format", "{{json .RegistryConfig.Mirrors}}"]);
    assertOk(info, "docker info");
    assert.deepEqual(JSON.parse(info.stdout), [`https://dinv-${cache}:5000/`]);
    assert.equal(await pullTiny(), pushedDigest, "the image pushed to the upstream");
    const logs = await box.docker(["logs", `dinv-${cache}`]);
    assert.match(
      logs.stdout + logs.stderr,
      /uri=\/v2\/library\/tiny\/manifests\/1/,
      "the pull went through the cache",
    );
    // The cache stores blobs in the background after serving them: wait until it has all of them.
    const expected = (await layerLinks(upstream)).map((link) => link.replace(/^.*_layers\//, ""));
    const deadline = Date.now() + 15_000;
    let stored: string[] = [];
    while (Date.now() < deadline) {
      stored = (await layerLinks(cache)).map((link) => link.replace(/^.*_layers\//, ""));
      if (stored.join() === expected.join()) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(stored, expected, "the cache stored every blob");
  });

  it("serves the pull again after the upstream stops and h1 is removed and created again", async () => {
    assertOk(await box.dinv(["stop", upstream]), "stop the upstream");
    assertOk(await box.dinv(["rm", "-y", h1]), "rm h1");
    assertOk(await box.dinv(["create", "--registry-cache", cache, h1]), "create h1 again");
    const images = await inside(h1, ["images", "-q"]);
    assertOk(images, "docker images");
    assert.equal(images.stdout.trim(), "", "a fresh image cache");
    assert.equal(await pullTiny(), pushedDigest);
  });

  it("restarts the cache while the upstream is down (read-only over its cache) and still serves", async () => {
    assertOk(await box.dinv(["restart", cache]), "restart the cache");
    const logs = await box.docker(["logs", "--tail", "20", `dinv-${cache}`]);
    assert.match(logs.stdout + logs.stderr, /upstream .* does not answer .*READ-ONLY/);
    assertOk(await inside(h1, ["rmi", "tiny:1"]), "rmi tiny:1");
    assert.equal(await pullTiny(), pushedDigest);
  });
});
