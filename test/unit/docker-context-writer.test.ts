/**
 * Docker CLI contexts written without the CLI, then read by the REAL docker CLI: it lists and
 * inspects them, and connects with their TLS files to a TLS server that demands a client
 * certificate. Removal takes both folders, spares other contexts and clears currentContext.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { contextPaths } from "../../src/store/docker-context.js";
import { DinvError } from "../../src/errors.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  type CertificateAuthority,
  type CertifiedKey,
} from "../../src/pki/certificates.js";
import {
  dockerContextOwner,
  removeDockerContext,
  writeDockerContext,
} from "../../src/store/docker-context-writer.js";

const run = promisify(execFile);
const DOCKER = existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : "docker";
const mode = (path: string) => statSync(path).mode & 0o777;

describe("docker context writer, read by the real docker CLI", () => {
  const configDir = mkdtempSync(join(tmpdir(), "dinv-docker-config-"));
  const docker = async (...args: string[]) =>
    (await run(DOCKER, args, { env: { PATH: process.env.PATH, HOME: configDir, DOCKER_CONFIG: configDir } }))
      .stdout;
  let ca: CertificateAuthority;
  let client: CertifiedKey;
  let server: Server;
  let port: number;
  const seenClients: string[] = [];

  before(async () => {
    ca = await createCertificateAuthority();
    client = await issueClientCertificate(ca);
    const serverCert = await issueServerCertificate(ca, "test", ["127.0.0.1", "localhost"]);
    // A stand-in engine that only talks to clients holding a certificate from the CA.
    server = createServer(
      {
        key: serverCert.keyPem,
        cert: serverCert.certPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        seenClients.push(String(socket.getPeerCertificate().subject?.CN ?? ""));
        res.setHeader("Api-Version", "1.50");
        res.setHeader("Content-Type", req.url?.endsWith("/version") ? "application/json" : "text/plain");
        if (req.url?.endsWith("/version")) {
          res.end(
            JSON.stringify({
              Version: "99.0.0-dinv-test",
              ApiVersion: "1.50",
              MinAPIVersion: "1.24",
              Os: "linux",
              Arch: "amd64",
            }),
          );
        } else {
          res.end("OK");
        }
      },
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
    // An unrelated context, made by the CLI itself.
    await docker("context", "create", "unrelated", "--docker", "host=tcp://192.0.2.1:2376");
    writeFileSync(
      join(configDir, "config.json"),
      JSON.stringify(
        { auths: { "registry.example": { auth: "dXNlcjpwYXNz" } }, psFormat: "table {{.ID}}" },
        null,
        "\t",
      ),
      { mode: 0o600 },
    );
  });

  after(() => {
    server.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const spec = () => ({
    name: "dinv-dev",
    host: `tcp://127.0.0.1:${port}`,
    ca: ca.certPem,
    cert: client.certPem,
    key: client.keyPem,
    description: "dinv host dinv-dev",
  });

  it("writes meta.json as the CLI does, with dinv's mark, and private files", async () => {
    assert.equal(dockerContextOwner(configDir, "dinv-dev"), "none");
    await writeDockerContext(configDir, spec());
    const { metaDir, tlsDir } = contextPaths(configDir, "dinv-dev");
    const meta = JSON.parse(readFileSync(join(metaDir, "meta.json"), "utf8")) as unknown;
    assert.deepEqual(meta, {
      Name: "dinv-dev",
      Metadata: { Description: "dinv host dinv-dev", dinv: true },
      Endpoints: { docker: { Host: `tcp://127.0.0.1:${port}`, SkipTLSVerify: false } },
    });
    for (const dir of [metaDir, tlsDir, join(tlsDir, "docker")]) assert.equal(mode(dir), 0o700, dir);
    assert.equal(mode(join(metaDir, "meta.json")), 0o600);
    for (const file of ["ca.pem", "cert.pem", "key.pem"]) {
      assert.equal(mode(join(tlsDir, "docker", file)), 0o600, file);
    }
    assert.equal(readFileSync(join(tlsDir, "docker", "key.pem"), "utf8"), client.keyPem);
    assert.equal(dockerContextOwner(configDir, "dinv-dev"), "dinv");
    assert.equal(dockerContextOwner(configDir, "unrelated"), "other");
  });

  it("docker context inspect and ls show it, with its TLS material", async () => {
    const [inspected] = JSON.parse(await docker("context", "inspect", "dinv-dev")) as Array<{
      Name: string;
      Metadata: { Description: string };
      Endpoints: { docker: { Host: string } };
      TLSMaterial: { docker?: string[] };
    }>;
    assert.equal(inspected?.Name, "dinv-dev");
    assert.equal(inspected?.Endpoints.docker.Host, `tcp://127.0.0.1:${port}`);
    assert.equal(inspected?.Metadata.Description, "dinv host dinv-dev");
    assert.deepEqual([...(inspected?.TLSMaterial.docker ?? [])].sort(), ["ca.pem", "cert.pem", "key.pem"]);
    const listed = (await docker("context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}}")).split("\n");
    assert.ok(listed.includes(`dinv-dev tcp://127.0.0.1:${port}`), listed.join("\n"));
    assert.ok(listed.includes("unrelated tcp://192.0.2.1:2376"), listed.join("\n"));
  });

  it("docker --context NAME connects with the context's client certificate", async () => {
    const version = await docker("--context", "dinv-dev", "version", "--format", "{{.Server.Version}}");
    assert.equal(version.trim(), "99.0.0-dinv-test");
    assert.ok(
      seenClients.length > 0 && seenClients.every((cn) => cn === "dinv client"),
      seenClients.join(","),
    );
  });

  it("rewrites its own context, and refuses to overwrite someone else's", async () => {
    await writeDockerContext(configDir, { ...spec(), description: "rewritten" });
    assert.match(await docker("context", "inspect", "dinv-dev"), /"Description": "rewritten"/);
    await assert.rejects(
      writeDockerContext(configDir, { ...spec(), name: "unrelated" }),
      (err: unknown) => err instanceof DinvError && /not created by dinv/.test(err.message),
    );
    assert.match(
      await docker("context", "inspect", "unrelated", "--format", "{{.Endpoints.docker.Host}}"),
      /192\.0\.2\.1/,
    );
  });

  it("leaves a context that is not dinv's alone when only its own may go", async () => {
    const result = await removeDockerContext(configDir, "unrelated", { onlyIfOwned: true });
    assert.deepEqual(result, { owner: "other", removed: false, clearedCurrent: false });
    assert.equal(dockerContextOwner(configDir, "unrelated"), "other");
  });

  it("removes both folders, clears currentContext and keeps the rest of config.json", async () => {
    await docker("context", "use", "dinv-dev");
    assert.equal(
      (JSON.parse(readFileSync(join(configDir, "config.json"), "utf8")) as { currentContext?: string })
        .currentContext,
      "dinv-dev",
    );
    const { metaDir, tlsDir } = contextPaths(configDir, "dinv-dev");
    const result = await removeDockerContext(configDir, "dinv-dev", { onlyIfOwned: true });
    assert.deepEqual(result, { owner: "dinv", removed: true, clearedCurrent: true });
    assert.equal(existsSync(metaDir), false);
    assert.equal(existsSync(tlsDir), false);
    const config = JSON.parse(readFileSync(join(configDir, "config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    assert.deepEqual(config, {
      auths: { "registry.example": { auth: "dXNlcjpwYXNz" } },
      psFormat: "table {{.ID}}",
    });
    assert.equal(mode(join(configDir, "config.json")), 0o600);
    const listed = (await docker("context", "ls", "--format", "{{.Name}}")).trim().split("\n");
    assert.deepEqual(listed.sort(), ["default", "unrelated"]);
    assert.match(await docker("context", "show"), /^default$/m);
    assert.equal(dockerContextOwner(configDir, "dinv-dev"), "none");
    const again = await removeDockerContext(configDir, "dinv-dev", { onlyIfOwned: true });
    assert.deepEqual(again, { owner: "none", removed: false, clearedCurrent: false });
  });

  it("writes into a docker config folder that does not exist yet, private", async () => {
    const fresh = join(configDir, "fresh", "docker");
    await writeDockerContext(fresh, spec());
    assert.equal(mode(join(fresh, "contexts", "meta")), 0o700);
    assert.equal(dockerContextOwner(fresh, "dinv-dev"), "dinv");
    await removeDockerContext(fresh, "dinv-dev", { onlyIfOwned: true });
    assert.equal(dockerContextOwner(fresh, "dinv-dev"), "none");
  });
});
