/**
 * Endpoints that fail in the ways real ones do — refusing, hanging, presenting a certificate
 * from another CA, presenting an expired certificate: `dinv create` names the endpoint and
 * the cause in one line, within its timeout, and leaves nothing behind. Servers listen on
 * 127.0.0.1 only and close at the end.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { after, before, describe, it } from "node:test";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
} from "../../src/pki/certificates.js";
import { assertCleanFailure } from "../helpers/assert.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";

const DAY = 86_400_000;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

describe("failing endpoints give one clear line, within the timeout", () => {
  let box: Sandbox;
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  let hangPort = 0;
  let otherCaPort = 0;
  let expiredPort = 0;
  let tlsFlags: string[] = [];

  before(async () => {
    box = sandbox();
    const ca = await createCertificateAuthority();
    const client = await issueClientCertificate(ca);
    const dir = join(box.store, "..");
    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    writeFileSync(join(dir, "cert.pem"), client.certPem);
    writeFileSync(join(dir, "key.pem"), client.keyPem, { mode: 0o600 });
    tlsFlags = [
      "--tlsverify",
      "--tlscacert",
      join(dir, "ca.pem"),
      "--tlscert",
      join(dir, "cert.pem"),
      "--tlskey",
      join(dir, "key.pem"),
    ];

    // Accepts connections and never says a word.
    const hang = createServer((socket) => sockets.push(socket));
    servers.push(hang);
    hangPort = await listen(hang);

    const stranger = await issueServerCertificate(await createCertificateAuthority(), "stranger", [
      "127.0.0.1",
    ]);
    const otherCa = createTlsServer({ cert: stranger.certPem, key: stranger.keyPem }, (s) => s.end());
    servers.push(otherCa);
    otherCaPort = await listen(otherCa);

    const old = await issueServerCertificate(ca, "old", ["127.0.0.1"], {
      validityDays: 1,
      notBefore: new Date(Date.now() - 3 * DAY),
    });
    const expired = createTlsServer({ cert: old.certPem, key: old.keyPem }, (s) => s.end());
    servers.push(expired);
    expiredPort = await listen(expired);
  });

  after(() => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) server.close();
    box.cleanup();
  });

  async function createAgainst(endpoint: string, extra: string[] = []) {
    const result = await box.dinv(["create", "--endpoint", endpoint, ...extra, "--timeout", "3", "f1"]);
    assert.ok(!existsSync(join(box.store, "hosts", "f1")), "nothing left in the store");
    return result;
  }

  it("an endpoint that refuses", async () => {
    const result = await createAgainst("tcp://127.0.0.1:1");
    assertCleanFailure(result, /tcp:\/\/127\.0\.0\.1:1 refused the connection/);
  });

  it("an endpoint that accepts and never answers: the timeout, once", async () => {
    const result = await createAgainst(`tcp://127.0.0.1:${hangPort}`);
    assertCleanFailure(result, new RegExp(`tcp://127\\.0\\.0\\.1:${hangPort} did not answer in time`));
    assert.ok(result.ms < 12_000, `took ${result.ms} ms`);
  });

  it("an endpoint whose certificate comes from another CA", async () => {
    const result = await createAgainst(`tcp://127.0.0.1:${otherCaPort}`, tlsFlags);
    assertCleanFailure(
      result,
      new RegExp(`127\\.0\\.0\\.1:${otherCaPort} presented a certificate not signed by the expected CA`),
    );
  });

  it("an endpoint presenting an expired certificate", async () => {
    const result = await createAgainst(`tcp://127.0.0.1:${expiredPort}`, tlsFlags);
    assertCleanFailure(result, new RegExp(`127\\.0\\.0\\.1:${expiredPort} presented an expired certificate`));
  });
});
