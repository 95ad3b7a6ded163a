/**
 * Day-2 operations end to end through bin/dinv and the real docker CLI: engine options,
 * regenerate-certs (containers keep running), upgrade (cache and state kept), and the
 * automatic certificate regeneration when the address clients use changes.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import {
  ENGINE_NAME,
  HOST_IMAGE,
  IMAGE_ARGS,
  TEST_ENGINE,
  commitImage,
  imageWorkshop,
  publishImage,
  removeImages,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";
import { assertOk } from "../helpers/assert.js";
import { createCertificateAuthority } from "../../src/pki/certificates.js";

const TINY = "dinv-e2e/tiny:2";

describe(`day-2 operations (real ${ENGINE_NAME}, real docker CLI)`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const name = runId("day2");
  const nextLocal = `dinv-e2e/host-next:${name}`;
  /** The upgrade target as the test engine gets it (on a VCH: from its registry). */
  let nextImage = nextLocal;
  let workshop: EngineClient;
  let hostDir: string;
  const sans = () => new X509Certificate(readFileSync(join(hostDir, "server.pem"))).subjectAltName;
  const docker = (args: string[]) => box.docker(["--context", name, ...args]);
  const corpCaFile = () => join(box.store, "..", "corp-ca.pem");
  /** The private registry's CA as the host's engine reads it (docker's certs.d). */
  const installedCorpCa = async () => {
    const read = await box.dinv([
      "exec",
      name,
      "--",
      "cat",
      "/etc/docker/certs.d/registry.corp.example:5000/ca.crt",
    ]);
    assertOk(read, "read the registry CA in the host");
    return read.stdout;
  };

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    hostDir = join(box.store, "hosts", name);
    // A second host image with another id, made locally (no registry): the upgrade target.
    // (A VCH can commit nothing: the image is made on the engine behind it and pushed to its registry.)
    workshop = imageWorkshop(engine);
    await commitImage(workshop, nextLocal, [`LABEL io.dinv.test.next=${name}`]);
    nextImage = await publishImage(workshop, nextLocal);
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    await removeLabelled(engine, name);
    await removeImages([
      [engine, nextImage],
      [workshop, nextLocal],
      [workshop, nextImage],
    ]);
    box.cleanup();
  });

  it("creates a host whose engine shows every engine option", async () => {
    const daemonFile = join(box.store, "..", "daemon.json");
    writeFileSync(corpCaFile(), (await createCertificateAuthority({ organization: "corp" })).certPem);
    writeFileSync(daemonFile, JSON.stringify({ "max-concurrent-downloads": 7, labels: ["from=file"] }));
    assertOk(
      await box.dinv([
        "create",
        ...IMAGE_ARGS,
        "--engine-label",
        "team=blue",
        "--engine-insecure-registry",
        "registry.internal:5000",
        "--engine-registry-mirror",
        "https://mirror.internal",
        "--engine-storage-driver",
        "overlay2",
        "--engine-opt",
        "log-driver=none",
        "--engine-env",
        "HTTP_PROXY=http://proxy.internal:3128",
        "--engine-config",
        daemonFile,
        "--registry-ca",
        `registry.corp.example:5000=${corpCaFile()}`,
        "--memory",
        "1g",
        "--tls-san",
        "dinv-day2.example.com",
        "--publish-address",
        "0.0.0.0",
        name,
      ]),
      "create",
    );
    const info = await docker(["info", "--format", "{{json .}}"]);
    assertOk(info, "docker info");
    const doc = JSON.parse(info.stdout) as {
      Labels: string[];
      Driver: string;
      LoggingDriver: string;
      HttpProxy: string;
      RegistryConfig: { Mirrors: string[]; IndexConfigs: Record<string, { Secure: boolean }> };
    };
    assert.deepEqual(doc.Labels.sort(), ["from=file", "team=blue"]);
    assert.equal(doc.Driver, "overlay2");
    assert.equal(doc.LoggingDriver, "none");
    assert.equal(doc.HttpProxy, "http://proxy.internal:3128");
    assert.deepEqual(doc.RegistryConfig.Mirrors, ["https://mirror.internal/"]);
    assert.equal(doc.RegistryConfig.IndexConfigs["registry.internal:5000"]?.Secure, false);
    assert.equal(await installedCorpCa(), readFileSync(corpCaFile(), "utf8"), "--registry-ca installed");
    const outer = await engine.docker.getContainer(`dinv-${name}`).inspect();
    // A VCH's inspect reports the containerVM's memory in MB.
    assert.equal(outer.HostConfig.Memory, TEST_ENGINE === "vic" ? 1024 : 1024 ** 3);
  });

  it("keeps a running container alive across regenerate-certs, with every SAN kept", async () => {
    const tarFile = join(box.store, "..", "tiny.tar");
    writeFileSync(tarFile, await tinyRootfsTar());
    assertOk(await docker(["import", tarFile, TINY]), "import tiny image");
    // A shell as PID 1 that ends on SIGTERM, so stopping the host does not wait out a timeout.
    const keeperScript = 'trap "exit 0" TERM; sleep 3600 & wait';
    assertOk(
      await docker([
        "run",
        "-d",
        "--name",
        "keeper",
        "--restart",
        "always",
        TINY,
        "/bin/sh",
        "-c",
        keeperScript,
      ]),
      "run keeper",
    );
    const startedBefore = (
      await docker(["inspect", "--format", "{{.State.StartedAt}}", "keeper"])
    ).stdout.trim();
    const sansBefore = sans();
    const fingerprintBefore = new X509Certificate(readFileSync(join(hostDir, "server.pem"))).fingerprint256;

    assertOk(await box.dinv(["regenerate-certs", name]), "regenerate-certs");

    const cert = new X509Certificate(readFileSync(join(hostDir, "server.pem")));
    assert.notEqual(cert.fingerprint256, fingerprintBefore, "a new certificate");
    assert.equal(sans(), sansBefore, "the same SANs");
    assert.match(sans() ?? "", /DNS:dinv-day2\.example\.com/);
    const state = await docker(["inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", "keeper"]);
    assertOk(state, "inspect keeper after regenerate-certs");
    assert.equal(state.stdout.trim(), `true ${startedBefore}`, "the container kept running (not restarted)");
  });

  it("upgrades to another image, keeping the cache, the containers and the certificates", async () => {
    const fingerprint = new X509Certificate(readFileSync(join(hostDir, "server.pem"))).fingerprint256;
    const upgrade = await box.dinv(["upgrade", "--image", nextImage, name]);
    assertOk(upgrade, "upgrade");
    assert.match(upgrade.stdout, /Upgraded/);
    const outer = await engine.docker.getContainer(`dinv-${name}`).inspect();
    assert.equal(outer.Config.Labels?.["io.dinv.test.next"], name, "runs the new image");
    assert.equal(outer.State.Running, true, "still running");
    assertOk(await docker(["image", "inspect", TINY]), "the image survived in the cache");
    const keeper = await docker(["inspect", "--format", "{{.State.Running}}", "keeper"]);
    assert.equal(keeper.stdout.trim(), "true", "the restart=always container is back");
    assert.equal(new X509Certificate(readFileSync(join(hostDir, "server.pem"))).fingerprint256, fingerprint);
    const info = await docker(["info", "--format", "{{.Labels}}"]);
    assert.match(info.stdout, /team=blue/, "engine options reproduced");
    assert.equal(await installedCorpCa(), readFileSync(corpCaFile(), "utf8"), "the registry CA re-applied");
  });

  it("leaves a stopped host stopped when upgrading", async () => {
    assertOk(await box.dinv(["stop", name]), "stop");
    assertOk(await box.dinv(["upgrade", "--image", HOST_IMAGE, name]), "upgrade back to the default image");
    assert.equal((await box.dinv(["status", name])).stdout.trim(), "Stopped");
    const outer = await engine.docker.getContainer(`dinv-${name}`).inspect();
    assert.equal(outer.Config.Labels?.["io.dinv.test.next"], undefined, "back on the default image");
  });

  it("regenerates the certificate on start when the address clients use is not in it", async () => {
    // Clients now reach the endpoint as 127.0.0.2 (and the port listens there too).
    const configFile = join(hostDir, "config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8")) as {
      network: { address: string; publishAddress: string };
    };
    config.network.address = "127.0.0.2";
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    assert.doesNotMatch(sans() ?? "", /IP Address:127\.0\.0\.2/);
    const start = await box.dinv(["start", name]);
    assertOk(start, "start");
    assert.match(start.stderr, /127\.0\.0\.2 is not in .* server certificate: regenerating it/);
    assert.match(sans() ?? "", /IP Address:127\.0\.0\.2/);
    assert.match(sans() ?? "", /DNS:dinv-day2\.example\.com/, "--tls-san kept");
    const env = await box.sh(`eval "$(${DINV_BIN} env ${name})" && docker info --format '{{.Labels}}'`, {
      DOCKER_HOST: "",
    });
    assertOk(env, "docker through tcp://127.0.0.2 with the new certificate");
  });

  it("renews the CA and client certificate with --client-certs, after a warning", async () => {
    const refused = await box.dinv(["regenerate-certs", "--client-certs"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /renews the CA.*pass -f/);
    const oldFlags = (await box.dinv(["config", name])).stdout.trim().split("\n");
    const oldDir = join(box.store, "..", "old-client");
    assertOk(
      await box.sh(
        `mkdir -p ${oldDir} && cp ${hostDir}/ca.pem ${hostDir}/cert.pem ${hostDir}/key.pem ${oldDir}/`,
      ),
      "keep old",
    );
    const oldCa = readFileSync(join(box.store, "certs", "ca.pem"), "utf8");

    assertOk(
      await box.dinv(["regenerate-certs", "--client-certs", "-f"]),
      "regenerate-certs --client-certs -f",
    );

    assert.notEqual(readFileSync(join(box.store, "certs", "ca.pem"), "utf8"), oldCa, "a new CA");
    assertOk(
      await docker(["info", "--format", "{{.Name}}"]),
      "the context follows the new client certificate",
    );
    const host = oldFlags.find((f) => f.startsWith("-H="));
    const stale = await box.docker([
      "--tlsverify",
      `--tlscacert=${join(oldDir, "ca.pem")}`,
      `--tlscert=${join(oldDir, "cert.pem")}`,
      `--tlskey=${join(oldDir, "key.pem")}`,
      host ?? "",
      "info",
    ]);
    assert.notEqual(stale.code, 0, "the old client certificate is refused");
  });
});
