import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { expiryWarnings } from "../../src/host/status.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
} from "../../src/pki/certificates.js";
import { cachedEngineVersion, rememberEngineVersion } from "../../src/store/engine-version-cache.js";
import { writePublicFile } from "../../src/store/secure-fs.js";
import { sampleHostConfig } from "../helpers/host-config.js";

const DAY = 86_400_000;

const config = sampleHostConfig;

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

describe("the engine version kept with its container", () => {
  const dir = mkdtempSync(join(tmpdir(), "dinv-version-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is kept 0600 for that container only, and a missing or broken file is a miss", async () => {
    assert.equal(cachedEngineVersion(dir, "c1"), undefined, "nothing kept yet");
    await rememberEngineVersion(dir, "c1", "20.10.24");
    assert.equal(cachedEngineVersion(dir, "c1"), "20.10.24");
    assert.equal(cachedEngineVersion(dir, "c2"), undefined, "another container (after an upgrade)");
    assert.equal(statSync(join(dir, ".engine-version.json")).mode & 0o777, 0o600);
    writeFileSync(join(dir, ".engine-version.json"), '{"container": "c1", "version": ');
    assert.equal(cachedEngineVersion(dir, "c1"), undefined, "a broken file");
  });

  it("is not written where the host's folder is gone, and says nothing of it", async () => {
    await rememberEngineVersion(join(dir, "removed-host"), "c1", "20.10.24");
    assert.equal(cachedEngineVersion(join(dir, "removed-host"), "c1"), undefined);
  });
});
