import "reflect-metadata";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import {
  DEFAULT_CA_DAYS,
  DEFAULT_CLIENT_DAYS,
  DEFAULT_SERVER_DAYS,
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  keyTypeOfCertificate,
  readCertificateFacts,
  type CertificateAuthority,
  type CertifiedKey,
} from "../../src/pki/certificates.js";
import { splitSans } from "../../src/pki/sans.js";
import { PkiError } from "../../src/errors.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const DAY_MS = 24 * 60 * 60 * 1000;
const BACKDATE_MS = 5 * 60 * 1000;

let startedAt: number;
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let server: CertifiedKey;
let client: CertifiedKey;
let foreignClient: CertifiedKey;

before(async () => {
  startedAt = Date.now();
  ca = await createCertificateAuthority();
  otherCa = await createCertificateAuthority({ organization: "someone else" });
  server = await issueServerCertificate(ca, "host-1", [
    "localhost",
    "127.0.0.1",
    "::1",
    "Docker.Example.com",
    "docker.example.com",
    " 127.0.0.1 ",
    "[0:0:0:0:0:0:0:1]",
  ]);
  client = await issueClientCertificate(ca);
  foreignClient = await issueClientCertificate(otherCa);
});

const x = (pem: string) => new X509Certificate(pem);
const validity = (pem: string) => {
  const cert = x(pem);
  return { from: new Date(cert.validFrom).getTime(), to: new Date(cert.validTo).getTime() };
};

describe("certificate authority", () => {
  it("is a self-signed CA allowed to sign certificates", () => {
    const cert = x(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.equal(cert.checkIssued(cert), true);
    const usages = new x509.X509Certificate(ca.certPem).getExtension(x509.KeyUsagesExtension);
    assert.ok(usages, "key usage extension present");
    assert.ok(usages.usages & x509.KeyUsageFlags.keyCertSign, "keyCertSign");
    assert.equal(usages.critical, true);
    const constraints = new x509.X509Certificate(ca.certPem).getExtension(x509.BasicConstraintsExtension);
    assert.equal(constraints?.ca, true);
    assert.equal(constraints?.critical, true);
    assert.match(cert.subject, /O=dinv/);
  });

  it("is ECDSA P-256 by default, with a PKCS#8 key Node loads and that matches the certificate", () => {
    const key = createPrivateKey(ca.keyPem);
    assert.equal(key.asymmetricKeyType, "ec");
    assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(ca.keyType, "ecdsa-p256");
    assert.equal(keyTypeOfCertificate(ca.certPem), "ecdsa-p256");
    const fromKey = createPublicKey(key).export({ type: "spki", format: "der" });
    assert.deepEqual(fromKey, x(ca.certPem).publicKey.export({ type: "spki", format: "der" }));
  });

  it(`is valid from 5 minutes ago for ${DEFAULT_CA_DAYS} days`, () => {
    const { from, to } = validity(ca.certPem);
    // Certificate times have whole seconds.
    assert.ok(
      Math.abs(from - (startedAt - BACKDATE_MS)) < 5_000,
      `notBefore ${new Date(from).toISOString()}`,
    );
    assert.equal(to - from, DEFAULT_CA_DAYS * DAY_MS);
    assert.equal(DEFAULT_CA_DAYS, 1080);
  });

  it("gets a fresh serial number each time", () => {
    assert.notEqual(x(ca.certPem).serialNumber, x(otherCa.certPem).serialNumber);
    assert.notEqual(x(server.certPem).serialNumber, x(client.certPem).serialNumber);
  });
});

describe("server certificate", () => {
  it("is signed by the CA, and not by another CA", () => {
    const cert = x(server.certPem);
    assert.equal(cert.verify(x(ca.certPem).publicKey), true);
    assert.equal(cert.checkIssued(x(ca.certPem)), true);
    assert.equal(cert.verify(x(otherCa.certPem).publicKey), false);
    assert.equal(cert.checkIssued(x(otherCa.certPem)), false);
    assert.equal(cert.ca, false);
  });

  it("covers its SANs and nothing else", () => {
    const cert = x(server.certPem);
    assert.equal(cert.checkHost("localhost"), "localhost");
    assert.equal(cert.checkHost("docker.example.com"), "docker.example.com");
    assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.ok(cert.checkIP("::1"));
    assert.equal(cert.checkHost("evil.example.com"), undefined);
    assert.equal(cert.checkHost("host-1"), undefined, "the common name is not a SAN");
    assert.equal(cert.checkIP("127.0.0.2"), undefined);
    assert.equal(cert.checkIP("10.0.0.1"), undefined);
  });

  it("carries each SAN once (IPs canonical, DNS names case-insensitive)", () => {
    const facts = readCertificateFacts(server.certPem);
    assert.deepEqual(facts.dns.sort(), ["docker.example.com", "localhost"]);
    assert.deepEqual(facts.ips.sort(), ["127.0.0.1", "::1"]);
    const altNames = x(server.certPem).subjectAltName?.split(", ") ?? [];
    assert.equal(altNames.length, 4, altNames.join(", "));
  });

  it("is for server authentication only", () => {
    const usage = x(server.certPem).keyUsage;
    assert.deepEqual(usage, [SERVER_AUTH]);
    const usages = new x509.X509Certificate(server.certPem).getExtension(x509.KeyUsagesExtension);
    assert.ok(usages && usages.usages & x509.KeyUsageFlags.digitalSignature);
    assert.equal(
      (usages?.usages ?? 0) & x509.KeyUsageFlags.keyCertSign,
      0,
      "a leaf cannot sign certificates",
    );
  });

  it(`is valid from 5 minutes ago for ${DEFAULT_SERVER_DAYS} days; readCertificateFacts agrees`, () => {
    const { from, to } = validity(server.certPem);
    assert.ok(Math.abs(from - (startedAt - BACKDATE_MS)) < 5_000);
    assert.equal(to - from, DEFAULT_SERVER_DAYS * DAY_MS);
    assert.equal(DEFAULT_SERVER_DAYS, 825);
    assert.equal(readCertificateFacts(server.certPem).notAfter.getTime(), to);
  });

  it("has a key Node loads, matching the certificate", () => {
    const key = createPrivateKey(server.keyPem);
    assert.equal(key.asymmetricKeyType, "ec");
    assert.deepEqual(
      createPublicKey(key).export({ type: "spki", format: "der" }),
      x(server.certPem).publicKey.export({ type: "spki", format: "der" }),
    );
  });

  it("takes a custom validity and start", async () => {
    const notBefore = new Date("2030-01-01T00:00:00Z");
    const short = await issueServerCertificate(ca, "h", ["localhost"], { validityDays: 30, notBefore });
    const { from, to } = validity(short.certPem);
    assert.equal(from, notBefore.getTime());
    assert.equal(to - from, 30 * DAY_MS);
  });

  it("refuses a validity out of range", async () => {
    for (const validityDays of [0, -1, 1.5, 36501]) {
      await assert.rejects(
        issueServerCertificate(ca, "h", ["localhost"], { validityDays }),
        (err: unknown) => err instanceof PkiError && /validity/.test(err.message),
        String(validityDays),
      );
    }
  });

  it("refuses invalid SANs and an empty SAN list", async () => {
    for (const san of ["a b", "-x", "../x", "", "   ", "host_name", "10.0.0.256", "1.2.3", "x..y"]) {
      await assert.rejects(
        issueServerCertificate(ca, "h", ["localhost", san]),
        (err: unknown) => err instanceof PkiError && err.message.includes(`"${san.trim()}"`),
        JSON.stringify(san),
      );
    }
    await assert.rejects(
      issueServerCertificate(ca, "h", []),
      (err: unknown) => err instanceof PkiError && /no subject alternative names/.test(err.message),
    );
  });
});

describe("client certificate", () => {
  it("is signed by the CA, for client authentication only", () => {
    const cert = x(client.certPem);
    assert.equal(cert.verify(x(ca.certPem).publicKey), true);
    assert.equal(cert.checkIssued(x(ca.certPem)), true);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
    assert.equal(x(foreignClient.certPem).verify(x(ca.certPem).publicKey), false);
  });

  it(`is valid from 5 minutes ago for ${DEFAULT_CLIENT_DAYS} days`, () => {
    const { from, to } = validity(client.certPem);
    assert.ok(Math.abs(from - (startedAt - BACKDATE_MS)) < 5_000);
    assert.equal(to - from, DEFAULT_CLIENT_DAYS * DAY_MS);
    assert.equal(DEFAULT_CLIENT_DAYS, 1080);
  });

  it("has a key Node loads", () => {
    assert.equal(createPrivateKey(client.keyPem).asymmetricKeyType, "ec");
  });
});

describe("rsa-2048", () => {
  it("makes an RSA 2048 CA and leaves that chain and verify", async () => {
    const rsaCa = await createCertificateAuthority({ keyType: "rsa-2048" });
    assert.equal(rsaCa.keyType, "rsa-2048");
    assert.equal(keyTypeOfCertificate(rsaCa.certPem), "rsa-2048");
    const caKey = createPrivateKey(rsaCa.keyPem);
    assert.equal(caKey.asymmetricKeyType, "rsa");
    assert.equal(caKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(x(rsaCa.certPem).ca, true);

    const leaf = await issueServerCertificate(rsaCa, "h", ["localhost", "127.0.0.1"]);
    const leafKey = createPrivateKey(leaf.keyPem);
    assert.equal(leafKey.asymmetricKeyType, "rsa", "leaves follow the CA's key type");
    assert.equal(leafKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(x(leaf.certPem).verify(x(rsaCa.certPem).publicKey), true);
    assert.equal(x(leaf.certPem).checkIP("127.0.0.1"), "127.0.0.1");
    // RSA keys may encipher the key exchange.
    const usages = new x509.X509Certificate(leaf.certPem).getExtension(x509.KeyUsagesExtension);
    assert.ok((usages?.usages ?? 0) & x509.KeyUsageFlags.keyEncipherment);

    // An ECDSA leaf under the RSA CA (key type per certificate).
    const ecLeaf = await issueClientCertificate(rsaCa, { keyType: "ecdsa-p256" });
    assert.equal(createPrivateKey(ecLeaf.keyPem).asymmetricKeyType, "ec");
    assert.equal(x(ecLeaf.certPem).verify(x(rsaCa.certPem).publicKey), true);
  });
});

describe("splitSans / readCertificateFacts", () => {
  it("deduplicates: IPs by canonical form, DNS names case-insensitively", () => {
    assert.deepEqual(
      splitSans([
        "Docker.Example.COM",
        "docker.example.com",
        "::1",
        "0:0:0:0:0:0:0:1",
        "[::1]",
        "2001:DB8::1",
        "2001:db8:0:0:0:0:0:1",
        "10.0.0.1",
        " 10.0.0.1 ",
        "*.hosts.example.com",
      ]),
      { dns: ["docker.example.com", "*.hosts.example.com"], ips: ["::1", "2001:db8::1", "10.0.0.1"] },
    );
  });

  it("refuses values that are neither an IP nor a host name", () => {
    for (const bad of ["a b", "-x", "../x", "", "x.-y", "a/b", "*", "example.com.", "http://x"]) {
      assert.throws(
        () => splitSans([bad]),
        (err: unknown) => err instanceof PkiError,
        JSON.stringify(bad),
      );
    }
  });

  it("refuses something that is not a certificate", () => {
    assert.throws(
      () => readCertificateFacts("not a certificate"),
      (err: unknown) => err instanceof PkiError,
    );
  });
});

describe("TLS handshake on 127.0.0.1", () => {
  /** A mutual-TLS server like dockerd --tlsverify: it greets authorized clients, counts refusals. */
  async function withServer(run: (port: number, refusals: () => number) => Promise<void>): Promise<void> {
    let refused = 0;
    const srv = tls.createServer(
      {
        key: server.keyPem,
        cert: server.certPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        socket.end(socket.authorized ? "hello" : "unauthorized");
      },
    );
    srv.on("tlsClientError", () => {
      refused += 1;
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    try {
      await run((srv.address() as AddressInfo).port, () => refused);
    } finally {
      srv.close();
    }
  }

  /** Connect and read until the end; resolves with what was read, or the error. */
  function talk(
    options: tls.ConnectionOptions,
  ): Promise<{ data: string; authorized: boolean; error?: NodeJS.ErrnoException }> {
    return new Promise((resolve) => {
      let data = "";
      let authorized = false;
      const socket = tls.connect(options, () => {
        authorized = socket.authorized;
      });
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (data += chunk));
      socket.on("error", (error: NodeJS.ErrnoException) => resolve({ data, authorized, error }));
      socket.on("close", () => resolve({ data, authorized }));
    });
  }

  it("lets the client with the CA's client certificate in, both sides verified", async () => {
    await withServer(async (port, refusals) => {
      const result = await talk({
        host: "127.0.0.1",
        port,
        ca: ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
      });
      assert.equal(result.error, undefined);
      assert.equal(result.authorized, true, "the client verified the server against the CA and its IP SAN");
      assert.equal(result.data, "hello");
      assert.equal(refusals(), 0);

      // By DNS name too.
      const byName = await talk({
        host: "127.0.0.1",
        servername: "localhost",
        port,
        ca: ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
      });
      assert.equal(byName.data, "hello");
    });
  });

  it("refuses a client without a certificate", async () => {
    await withServer(async (port, refusals) => {
      const result = await talk({ host: "127.0.0.1", port, ca: ca.certPem });
      assert.equal(result.data, "", "nothing served");
      assert.equal(refusals(), 1, "the server refused the handshake");
    });
  });

  it("refuses a client whose certificate comes from another CA", async () => {
    await withServer(async (port, refusals) => {
      const result = await talk({
        host: "127.0.0.1",
        port,
        ca: ca.certPem,
        cert: foreignClient.certPem,
        key: foreignClient.keyPem,
      });
      assert.equal(result.data, "", "nothing served");
      assert.equal(refusals(), 1, "the server refused the handshake");
    });
  });

  it("lets the client refuse a server name the certificate does not cover, or another CA", async () => {
    await withServer(async (port) => {
      const wrongName = await talk({
        host: "127.0.0.1",
        servername: "evil.example.com",
        port,
        ca: ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
      });
      assert.equal(wrongName.error?.code, "ERR_TLS_CERT_ALTNAME_INVALID");
      assert.notEqual(wrongName.data, "hello");

      const wrongCa = await talk({
        host: "127.0.0.1",
        port,
        ca: otherCa.certPem,
        cert: client.certPem,
        key: client.keyPem,
      });
      assert.ok(wrongCa.error, "not trusted");
      assert.notEqual(wrongCa.data, "hello");
    });
  });
});
