import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { AdoptError, readUserCa, readUserClient } from "../../src/host/adopt.js";
import { createCertificateAuthority, issueClientCertificate } from "../../src/pki/certificates.js";
import { madeByDinv } from "../../src/store/host-config.js";
import { sampleHostConfig } from "../helpers/host-config.js";

describe("adopt: the user's CA and what an adopted host refuses", () => {
  const dir = mkdtempSync(join(tmpdir(), "dinv-adopt-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: string) => {
    writeFileSync(join(dir, name), body);
    return join(dir, name);
  };

  it("takes a CA whose key is in SEC1 or PKCS#8 form, and keeps it as PKCS#8", async () => {
    const ca = await createCertificateAuthority();
    const sec1 = createPrivateKey(ca.keyPem).export({ type: "sec1", format: "pem" }).toString();
    const read = readUserCa(file("ca.pem", ca.certPem), file("ca-key.pem", sec1));
    assert.equal(read.keyType, "ecdsa-p256");
    assert.match(read.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    const rsa = await createCertificateAuthority({ keyType: "rsa-2048" });
    assert.equal(
      readUserCa(file("rsa.pem", rsa.certPem), file("rsa-key.pem", rsa.keyPem)).keyType,
      "rsa-2048",
    );
  });

  it("refuses a certificate that is no CA, a key that is not the CA's, and a file that is no key", async () => {
    const ca = await createCertificateAuthority();
    const client = await issueClientCertificate(ca);
    assert.throws(
      () => readUserCa(file("client.pem", client.certPem), file("client-key.pem", client.keyPem)),
      (err: unknown) => err instanceof AdoptError && /is not a CA certificate/.test(err.message),
    );
    const other = await createCertificateAuthority();
    assert.throws(
      () => readUserCa(file("ca2.pem", ca.certPem), file("other-key.pem", other.keyPem)),
      /--tls-ca-key .* is not the key of --tls-ca-cert/,
    );
    assert.throws(
      () => readUserCa(file("ca3.pem", ca.certPem), file("junk.pem", "junk")),
      /is not a PEM private key/,
    );
    assert.throws(
      () => readUserCa(join(dir, "missing.pem"), join(dir, "junk.pem")),
      /cannot read --tls-ca-cert .*ENOENT/,
    );
  });

  it("keeps the user's own client pair only when the CA issued it and the key is its own", async () => {
    const ca = await createCertificateAuthority({ keyType: "rsa-2048" });
    const userCa = readUserCa(file("uca.pem", ca.certPem), file("uca-key.pem", ca.keyPem));
    const mine = await issueClientCertificate(ca);
    const kept = readUserClient(file("mine.pem", mine.certPem), file("mine-key.pem", mine.keyPem), userCa);
    assert.equal(kept.certPem.trim(), mine.certPem.trim());
    const stranger = await issueClientCertificate(await createCertificateAuthority({ keyType: "rsa-2048" }));
    assert.throws(
      () => readUserClient(file("s.pem", stranger.certPem), file("s-key.pem", stranger.keyPem), userCa),
      /--tls-cert .* was not issued by --tls-ca-cert/,
    );
    assert.throws(
      () => readUserClient(file("mine2.pem", mine.certPem), file("s-key2.pem", stranger.keyPem), userCa),
      /--tls-key .* is not the key of --tls-cert/,
    );
    assert.throws(() => readUserClient(join(dir, "mine.pem"), undefined, userCa), /go together/);
  });

  it("refuses to recreate or write into an adopted host, naming why", () => {
    const made = madeByDinv(sampleHostConfig(), "upgrade");
    assert.equal(made.volume, "dinv-h1-cache");
    const adopted = {
      ...sampleHostConfig(),
      files: { ca: "ca.pem", clientCert: "cert.pem", clientKey: "key.pem" },
      adopted: { at: "2026-01-01T00:00:00Z", caKey: "ca-key.pem", data: "volume" as const },
    };
    assert.throws(() => madeByDinv(adopted, "upgrade"), /dinv cannot upgrade "h1": the host was adopted/);
  });
});
