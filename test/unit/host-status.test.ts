import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { expiryWarnings } from "../../src/host/status.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
} from "../../src/pki/certificates.js";
import type { HostConfig } from "../../src/store/host-config.js";
import { writePublicFile } from "../../src/store/secure-fs.js";

const DAY = 86_400_000;

function config(): HostConfig {
  return {
    version: 1,
    name: "h1",
    driver: "docker",
    personality: "docker",
    createdAt: new Date().toISOString(),
    endpoint: { url: "unix:///var/run/docker.sock" },
    engine: { flavor: "docker", version: "20.10" },
    container: { name: "dinv-h1", volume: "dinv-h1-cache", image: "dinv/host:latest", privilege: "explicit" },
    network: { mode: "publish", address: "127.0.0.1", publishAddress: "127.0.0.1", port: 22400 },
    engineOptions: { daemon: {}, flags: [], env: {} },
    resources: {},
    tls: { keyType: "ecdsa-p256", sans: ["127.0.0.1"], extraSans: [] },
    files: {
      ca: "ca.pem",
      clientCert: "cert.pem",
      clientKey: "key.pem",
      serverCert: "server.pem",
      serverKey: "server-key.pem",
    },
  };
}

describe("ls certificate expiry warnings", () => {
  const dir = mkdtempSync(join(tmpdir(), "dinv-status-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function writeCerts(serverDays: number, serverStartDaysAgo = 0): Promise<void> {
    const ca = await createCertificateAuthority();
    const client = await issueClientCertificate(ca);
    const server = await issueServerCertificate(ca, "h1", ["127.0.0.1"], {
      validityDays: serverDays,
      notBefore: new Date(Date.now() - serverStartDaysAgo * DAY),
    });
    await writePublicFile(join(dir, "ca.pem"), ca.certPem);
    await writePublicFile(join(dir, "cert.pem"), client.certPem);
    await writePublicFile(join(dir, "server.pem"), server.certPem);
  }

  it("says nothing for certificates with years left", async () => {
    await writeCerts(825);
    assert.deepEqual(expiryWarnings(config(), dir), []);
  });

  it("warns within 30 days, naming the fix", async () => {
    await writeCerts(10);
    const [warning, ...rest] = expiryWarnings(config(), dir);
    assert.equal(rest.length, 0);
    assert.match(warning ?? "", /^server certificate expires in 9 days: run `dinv regenerate-certs h1`$/);
  });

  it("says when it has expired", async () => {
    await writeCerts(5, 10);
    assert.match(expiryWarnings(config(), dir)[0] ?? "", /^server certificate expired/);
  });
});
