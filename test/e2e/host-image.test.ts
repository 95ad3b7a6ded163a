/**
 * The DinV host image through the engine layer (no CLI): certificates copied in before the
 * first start, a TLS-verified answer from the nested dockerd, clients without the right
 * certificate refused, and the image cache surviving a new container on the same volume.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { after, before, describe, it } from "node:test";
import type Dockerode from "dockerode";
import { connect, type EngineClient } from "../../src/engine/client.js";
import type { Endpoint } from "../../src/engine/endpoint.js";
import { detectEngine } from "../../src/engine/flavor.js";
import type { PrivilegeMode } from "../../src/engine/container-rights.js";
import { choosePrivilegeMode } from "../../src/engine/privilege.js";
import { waitForPing } from "../../src/engine/wait.js";
import { hostContainerOptions, HOST_TLS_PORT } from "../../src/personalities/docker/container-spec.js";
import { hostFilesArchive } from "../../src/personalities/host-files.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  type CertifiedKey,
} from "../../src/pki/certificates.js";
import { writePrivateFile, writePublicFile } from "../../src/store/secure-fs.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";

const TINY_IMAGE = "dinv-e2e/tiny:1";

describe("DinV host image (engine layer, real engine)", () => {
  const id = runId("image");
  const volumeName = `${id}-cache`;
  const clientDir = mkdtempSync(join(tmpdir(), "dinv-e2e-"));
  let outer: EngineClient;
  let privilege: PrivilegeMode;
  let server: CertifiedKey;
  let caPem: string;

  before(async () => {
    outer = await testEngine();
    const profile = await detectEngine(outer);
    privilege = await choosePrivilegeMode(outer, profile, HOST_IMAGE);
    const ca = await createCertificateAuthority();
    caPem = ca.certPem;
    server = await issueServerCertificate(ca, id, ["127.0.0.1", "localhost"]);
    const client = await issueClientCertificate(ca);
    await writePublicFile(join(clientDir, "ca.pem"), ca.certPem);
    await writePublicFile(join(clientDir, "cert.pem"), client.certPem);
    await writePrivateFile(join(clientDir, "key.pem"), client.keyPem);
    await outer.docker.createVolume({ Name: volumeName, Labels: { "io.dinv.test": id } });
  });

  after(async () => {
    if (outer) await removeLabelled(outer, id);
    rmSync(clientDir, { recursive: true, force: true });
  });

  /** Create a host container on the shared volume, copy certificates in, start it. */
  async function startHost(
    name: string,
  ): Promise<{ container: Dockerode.Container; port: number; inner: EngineClient }> {
    const options = hostContainerOptions({
      containerName: name,
      image: HOST_IMAGE,
      volumeName,
      privilege,
      publish: { hostIp: "127.0.0.1" },
      labels: { "io.dinv.test": id },
      restartPolicy: "no",
    });
    const container = await outer.docker.createContainer(options);
    // Before the first start: the archive API works on a created container.
    await container.putArchive(
      await hostFilesArchive({ caPem, serverCertPem: server.certPem, serverKeyPem: server.keyPem }),
      {
        path: "/",
      },
    );
    await container.start();
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports[`${HOST_TLS_PORT}/tcp`]?.[0]?.HostPort);
    assert.ok(port > 0, "the TLS port is published on loopback");
    const endpoint: Endpoint = {
      url: `tcp://127.0.0.1:${port}`,
      source: "flag",
      protocol: "tcp",
      host: "127.0.0.1",
      port,
      tls: {
        verify: true,
        ca: join(clientDir, "ca.pem"),
        cert: join(clientDir, "cert.pem"),
        key: join(clientDir, "key.pem"),
      },
    };
    const inner = connect(endpoint, { timeoutMs: 20_000 });
    try {
      await waitForPing(inner, { timeoutMs: 30_000 });
    } catch (err) {
      const logs = await container.logs({ stdout: true, stderr: true, tail: 30 });
      throw new Error(`${(err as Error).message}\n--- host logs ---\n${logs.toString()}`);
    }
    return { container, port, inner };
  }

  let first: { container: Dockerode.Container; port: number; inner: EngineClient };

  it("answers /version over verified TLS after certificates were copied in before start", async () => {
    first = await startHost(`${id}-a`);
    const version = (await first.inner.docker.version()) as { Version?: string; ApiVersion?: string };
    assert.match(version.Version ?? "", /^\d+\.\d+/);
    const info = (await first.inner.docker.info()) as { Driver?: string };
    assert.equal(info.Driver, "overlay2", "the nested engine uses overlay2 on the cache volume");
  });

  it("refuses a client without a certificate", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect(
        { host: "127.0.0.1", port: first.port, ca: caPem, servername: "localhost" },
        () => {
          // TLS 1.3 reports the missing client certificate after the handshake: try a request.
          socket.write("GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
        },
      );
      socket.on("data", (d: Buffer) => resolve(`answered: ${d.toString().split("\r\n")[0]}`));
      socket.on("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
      socket.on("close", () => resolve("refused: closed"));
    });
    assert.match(outcome, /^refused/);
  });

  it("refuses a client certificate from another CA", async () => {
    const otherCa = await createCertificateAuthority();
    const stranger = await issueClientCertificate(otherCa);
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect(
        {
          host: "127.0.0.1",
          port: first.port,
          ca: caPem,
          cert: stranger.certPem,
          key: stranger.keyPem,
          servername: "localhost",
        },
        () => socket.write("GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n"),
      );
      socket.on("data", (d: Buffer) => resolve(`answered: ${d.toString().split("\r\n")[0]}`));
      socket.on("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
      socket.on("close", () => resolve("refused: closed"));
    });
    assert.match(outcome, /^refused/);
  });

  it("does not speak plain HTTP", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: "127.0.0.1", port: first.port, path: "/_ping", timeout: 5000 }, (res) => {
        resolve(`status ${res.statusCode}`);
        res.resume();
      });
      req.on("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
      req.end();
    });
    // dockerd answers plain HTTP on a TLS port with 400 "client sent an HTTP request to an HTTPS server".
    assert.ok(outcome.startsWith("refused") || outcome === "status 400", outcome);
  });

  it("keeps images in the cache volume across a new container", async () => {
    // A tiny image made from the host image's static tini, imported into the nested engine.
    const tiniTar = (await await first.container.getArchive({
      path: "/usr/bin/tini-static",
    })) as NodeJS.ReadableStream;
    const [repo, tag] = TINY_IMAGE.split(":") as [string, string];
    await new Promise<void>((resolve, reject) => {
      first.inner.docker.importImage(tiniTar, { repo, tag }, (err, stream) => {
        if (err || !stream) return reject(err ?? new Error("no import stream"));
        first.inner.docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve()));
      });
    });
    await first.inner.docker.getImage(TINY_IMAGE).inspect();

    await first.container.stop({ t: 10 });
    await first.container.remove();

    const second = await startHost(`${id}-b`);
    await second.inner.docker.getImage(TINY_IMAGE).inspect(); // still there
    const run = await second.inner.docker.createContainer({
      Image: TINY_IMAGE,
      Entrypoint: ["/tini-static", "--version"],
    });
    await run.start();
    const { StatusCode } = (await run.wait()) as { StatusCode: number };
    const logs = (await run.logs({ stdout: true, stderr: true })).toString();
    assert.equal(StatusCode, 0);
    assert.match(logs, /tini version/);
    await second.container.stop({ t: 10 });
  });
});
