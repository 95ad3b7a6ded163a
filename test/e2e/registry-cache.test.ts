/**
 * The registry-cache personality end to end, offline, through bin/dinv and the real docker CLI:
 * a plain registry as the upstream (a seeding host pushes a tiny image into it as
 * library/tiny:1), a cache pulling through it, and h1 using the cache as its mirror, so that
 * `docker pull tiny:1` (a Docker Hub name) inside h1 is served by the cache. Then the
 * upstream stops: h1 is removed and created again and pulls again from the cache alone, and
 * the cache restarts without its upstream (read-only fallback) and still serves.
 * The cache asks for client certificates (the default): checked on the wire, including that
 * a host's registry client certificate opens no host's engine. The upstream is created with
 * --registry-auth none, since distribution's proxy presents no client certificate.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { CACHE_NETWORK } from "../../src/host/registry-cache.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import {
  CACHE_IMAGE,
  CACHE_IMAGE_ARGS,
  IMAGE_ARGS,
  TEST_ENGINE,
  pullImage,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";
import { createCertificateAuthority, issueClientCertificate } from "../../src/pki/certificates.js";

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

  const hostFile = (host: string, file: string) => join(box.store, "hosts", host, file);
  const configOf = (host: string) =>
    JSON.parse(readFileSync(hostFile(host, "config.json"), "utf8")) as { network: { port: number } };
  /** GET PATH (default /v2/) on a host's published port, trusting the store's CA; the status, or the TLS error. */
  const getV2 = (host: string, client?: { cert: string | Buffer; key: string | Buffer }, path = "/v2/") =>
    new Promise<string>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: configOf(host).network.port,
          path,
          ca: readFileSync(hostFile(host, "ca.pem")),
          ...client,
          agent: false,
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          resolve(`HTTP ${res.statusCode}`);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (err) => resolve(`refused: ${err.message}`));
      req.end();
    });
  const pairOf = (host: string, cert: string, key: string) => ({
    cert: readFileSync(hostFile(host, cert)),
    key: readFileSync(hostFile(host, key)),
  });

  before(async () => {
    engine = await testEngine();
    if (TEST_ENGINE === "vic") await pullImage(engine, CACHE_IMAGE);
    await engine.docker
      .getImage(CACHE_IMAGE)
      .inspect()
      .catch(() => {
        throw new Error(
          `image ${CACHE_IMAGE} is missing; build it with images/registry-cache/build-offline.sh`,
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
      await box.dinv(["create", ...IMAGE_ARGS, "--registry-cache", `${id}-none`, `${id}-x`]),
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
    const up = await box.dinv([
      "create",
      ...CACHE_IMAGE_ARGS,
      "--personality",
      "registry-cache",
      "--registry-auth",
      "none",
      upstream,
    ]);
    assertOk(up, "create the upstream");
    assert.match(up.stdout, new RegExp(`Registry cache "${upstream}" is running`));
    const [created, seeded] = await Promise.all([
      box.dinv([
        "create",
        ...CACHE_IMAGE_ARGS,
        "--personality",
        "registry-cache",
        "--upstream",
        `https://dinv-${upstream}:5000`,
        cache,
      ]),
      // A host that trusts the upstream (as its mirror): it pushes the test image there.
      box.dinv(["create", ...IMAGE_ARGS, "--registry-cache", upstream, seeder]),
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

  it("refuses a cache whose upstream is a dinv cache asking for client certificates", async () => {
    assertCleanFailure(
      await box.dinv([
        "create",
        ...CACHE_IMAGE_ARGS,
        "--personality",
        "registry-cache",
        "--upstream",
        `https://dinv-${cache}:5000`,
        `${id}-x`,
      ]),
      new RegExp(`registry cache "${cache}" requires client certificates.*--registry-auth none`, "s"),
    );
    assertCleanFailure(
      await box.dinv(["create", "--registry-auth", "none", `${id}-x`]),
      /--registry-auth is for --personality registry-cache/,
    );
    assertCleanFailure(
      await box.dinv(["create", "--personality", "registry-cache", "--registry-auth", "open", `${id}-x`]),
      /use "client-cert" or "none"/,
    );
  });

  it("serves the cache only to clients with a certificate dinv issued (checked on the wire)", async () => {
    const stranger = await issueClientCertificate(await createCertificateAuthority());
    const storeClient = pairOf(cache, "cert.pem", "key.pem");
    assert.match(await getV2(cache), /^refused/, "no client certificate");
    assert.match(
      await getV2(cache, { cert: stranger.certPem, key: stranger.keyPem }),
      /^refused/,
      "other CA",
    );
    assert.equal(await getV2(cache, storeClient), "HTTP 200", "the store's own client");
    // The seeder uses the upstream, which asks for none: it holds no pair for it.
    assert.throws(() => statSync(hostFile(seeder, "registry-key.pem")), /ENOENT/);
    assert.equal(await getV2(upstream), "HTTP 200", "--registry-auth none: open");
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
    assertOk(await box.dinv(["create", ...IMAGE_ARGS, "--registry-cache", cache, h1]), "create h1");
    const info = await inside(h1, ["info", "--format", "{{json .RegistryConfig.Mirrors}}"]);
    assertOk(info, "docker info");
    assert.deepEqual(JSON.parse(info.stdout), [`https://dinv-${cache}:5000/`]);
    // h1's engine presents its own pair, from the registry-client CA, not the store's.
    const h1Pair = pairOf(h1, "registry-cert.pem", "registry-key.pem");
    assert.equal(statSync(hostFile(h1, "registry-key.pem")).mode & 0o777, 0o600);
    const certsD = await box.docker(["exec", `dinv-${h1}`, "ls", `/etc/docker/certs.d/dinv-${cache}:5000`]);
    assert.deepEqual(certsD.stdout.trim().split("\n").sort(), ["ca.crt", "client.cert", "client.key"]);
    assert.equal(await getV2(cache, h1Pair), "HTTP 200", "h1's pair opens the cache");
    // ... and no engine: anyone using h1 can read that key, so it must not be a store-CA client.
    assert.match(await getV2(seeder, h1Pair, "/version"), /^refused/, "h1's registry pair on an engine");
    assert.equal(await getV2(seeder, pairOf(seeder, "cert.pem", "key.pem"), "/version"), "HTTP 200");
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
    assertOk(await box.dinv(["create", ...IMAGE_ARGS, "--registry-cache", cache, h1]), "create h1 again");
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

  it("rm of the last hosts on the dinv network removes the network too", async () => {
    assertOk(await box.dinv(["rm", "-y", ...hosts]), "rm every host of this run");
    const network = await engine.docker
      .getNetwork(CACHE_NETWORK)
      .inspect()
      .catch(() => undefined);
    // Still there only while another store's hosts are on it.
    if (network) assert.ok(Object.keys(network.Containers ?? {}).length > 0, "an empty dinv network is left");
  });
});
