import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Endpoint } from "../../src/engine/endpoint.js";
import { engineHttp } from "../../src/engine/http-client.js";
import { EndpointError, EngineError } from "../../src/errors.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
} from "../../src/pki/certificates.js";

const dir = mkdtempSync(join(tmpdir(), "dinv-http-client-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
}

function tcp(port: number, tls?: Extract<Endpoint, { protocol: "tcp" }>["tls"]): Endpoint {
  return { url: `tcp://127.0.0.1:${port}`, source: "flag", protocol: "tcp", host: "127.0.0.1", port, tls };
}

const engine: RequestListener = (req, res) => {
  if (req.url === "/version") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ Version: "99.0", path: req.url }));
  } else {
    res.statusCode = 404;
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ message: "No such container: nope" }));
  }
};

describe("the plain engine client (http-client.ts)", () => {
  it("reaches a unix socket and ignores DOCKER_HOST / DOCKER_TLS_VERIFY from the environment", async () => {
    const socketPath = join(dir, "engine.sock");
    const server = createHttpServer(engine);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const saved = { DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_TLS_VERIFY: process.env.DOCKER_TLS_VERIFY };
    process.env.DOCKER_HOST = "tcp://127.0.0.1:1";
    process.env.DOCKER_TLS_VERIFY = "1";
    try {
      const client = engineHttp({
        url: `unix://${socketPath}`,
        source: "flag",
        protocol: "unix",
        socketPath,
      });
      assert.deepEqual(await client.get("/version"), { Version: "99.0", path: "/version" });
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      server.close();
    }
  });

  it("keeps the engine's own message and status for an error answer", async () => {
    const server = createHttpServer(engine);
    await listen(server);
    try {
      const client = engineHttp(tcp((server.address() as AddressInfo).port));
      await assert.rejects(
        client.get("/containers/nope/json"),
        (err: unknown) =>
          err instanceof EngineError &&
          /No such container: nope \(HTTP 404\)/.test(err.message) &&
          (err.cause as { statusCode?: number }).statusCode === 404,
      );
    } finally {
      server.close();
    }
  });

  it("gives up on an endpoint that accepts and never answers at its deadline, and says so", async () => {
    const sockets: Socket[] = [];
    const server = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const tls of [undefined, { verify: false }]) {
        const started = Date.now();
        await assert.rejects(
          engineHttp(tcp(port, tls), { timeoutMs: 300 }).get("/version"),
          (err: unknown) => err instanceof EngineError && /did not answer in time/.test(err.message),
        );
        // A hard deadline: not the socket idle timer, which a stalled TLS handshake makes fire twice as late.
        assert.ok(Date.now() - started < 550, `took ${Date.now() - started} ms`);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  describe("over TLS", () => {
    let files: { ca: string; cert: string; key: string };
    let server: Server;
    let port: number;
    before(async () => {
      const ca = await createCertificateAuthority();
      const serverPair = await issueServerCertificate(ca, "h", ["127.0.0.1"]);
      const client = await issueClientCertificate(ca);
      files = { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
      writeFileSync(files.ca, ca.certPem);
      writeFileSync(files.cert, client.certPem);
      writeFileSync(files.key, client.keyPem, { mode: 0o600 });
      server = createHttpsServer(
        { ca: ca.certPem, cert: serverPair.certPem, key: serverPair.keyPem, requestCert: true },
        engine,
      );
      await listen(server);
      port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    it("verifies the server against the CA and presents the client certificate", async () => {
      const client = engineHttp(tcp(port, { verify: true, ...files }));
      assert.equal((await client.get<{ Version: string }>("/version")).Version, "99.0");
    });

    it("refuses a server certificate from another CA", async () => {
      const other = await createCertificateAuthority();
      const otherCa = join(dir, "other-ca.pem");
      writeFileSync(otherCa, other.certPem);
      await assert.rejects(
        engineHttp(tcp(port, { verify: true, ...files, ca: otherCa })).get("/version"),
        (err: unknown) => err instanceof EngineError && /not signed by the expected CA/.test(err.message),
      );
    });

    it("refuses a client key others can read, naming the chmod that fixes it", () => {
      const loose = join(dir, "loose-key.pem");
      writeFileSync(loose, "x");
      chmodSync(loose, 0o644);
      assert.throws(
        () => engineHttp(tcp(port, { verify: true, ...files, key: loose })),
        (err: unknown) => err instanceof EndpointError && /chmod 600 .*loose-key\.pem/.test(err.hint ?? ""),
      );
    });
  });
});
