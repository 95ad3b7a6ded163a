import "reflect-metadata"; // @peculiar/x509's dependency injection needs the Reflect polyfill
import { randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { PkiError } from "../errors.js";
import {
  DEFAULT_KEY_TYPE,
  generateKeyPair,
  importPrivateKey,
  privateKeyToPem,
  signingAlgorithmFor,
  type KeyType,
} from "./keys.js";
import { splitSans } from "./sans.js";

// Node's WebCrypto is structurally the DOM Crypto the library types against.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const DEFAULT_CA_DAYS = 1080;
export const DEFAULT_CLIENT_DAYS = 1080;
export const DEFAULT_SERVER_DAYS = 825;
/** Certificates start 5 minutes in the past, so small clock skews between machines do not matter. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  keyType?: KeyType;
  validityDays?: number;
  organization?: string;
  /** A client certificate's common name (default "<organization> client"): a share names its person. */
  commonName?: string;
  /** For tests of expiry handling: when the certificate starts being valid. */
  notBefore?: Date;
}

/** A CA able to sign: its certificate, its key type and its private key. */
export interface CertificateAuthority extends CertifiedKey {
  keyType: KeyType;
}

const DEFAULT_ORG = "dinv";

function validity(options: IssueOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = options.validityDays ?? defaultDays;
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new PkiError(`validity of ${days} days is out of range`, { hint: "use 1 to 36500 days" });
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

/** Positive serial numbers of 16 random bytes (high bit cleared, as RFC 5280 wants). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function dn(commonName: string, organization: string): string {
  const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, "\\$1");
  return `CN=${escape(commonName)}, O=${escape(organization)}`;
}

export function keyTypeOfCertificate(certPem: string): KeyType {
  const cert = new x509.X509Certificate(certPem);
  const name = cert.publicKey.algorithm.name;
  if (name === "ECDSA") return "ecdsa-p256";
  if (name.startsWith("RSA")) return "rsa-2048";
  throw new PkiError(`unsupported CA key algorithm ${name}`);
}

export async function createCertificateAuthority(options: IssueOptions = {}): Promise<CertificateAuthority> {
  const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
  const keys = await generateKeyPair(keyType);
  const org = options.organization ?? DEFAULT_ORG;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: dn(`${org} CA`, org),
    ...validity(options, DEFAULT_CA_DAYS),
    signingAlgorithm: signingAlgorithmFor(keyType),
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey), keyType };
}

async function issueLeaf(
  ca: CertificateAuthority,
  commonName: string,
  usage: "server" | "client",
  extraExtensions: x509.Extension[],
  options: IssueOptions,
  defaultDays: number,
): Promise<CertifiedKey> {
  const keyType = options.keyType ?? ca.keyType;
  const keys = await generateKeyPair(keyType);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importPrivateKey(ca.keyPem, ca.keyType);
  const org = options.organization ?? DEFAULT_ORG;
  // RSA keys encipher the TLS key exchange; EC keys only sign.
  const keyUsage =
    x509.KeyUsageFlags.digitalSignature | (keyType === "rsa-2048" ? x509.KeyUsageFlags.keyEncipherment : 0);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: dn(commonName, org),
    // The CA's own subject bytes: a re-encoded name (PrintableString for UTF8String) breaks Go's
    // chain building, which matches issuer to subject byte for byte (a CA made by openssl).
    issuer: caCert.subjectName,
    ...validity(options, defaultDays),
    signingAlgorithm: signingAlgorithmFor(ca.keyType),
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsage, true),
      new x509.ExtendedKeyUsageExtension([
        usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...extraExtensions,
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey) };
}

export async function issueClientCertificate(
  ca: CertificateAuthority,
  options: IssueOptions = {},
): Promise<CertifiedKey> {
  return issueLeaf(
    ca,
    options.commonName ?? `${options.organization ?? DEFAULT_ORG} client`,
    "client",
    [],
    options,
    DEFAULT_CLIENT_DAYS,
  );
}

/**
 * A server certificate for a host. `sans` mixes IP addresses and DNS names; they are
 * validated and deduplicated. The common name is the host's name (informational: clients check SANs).
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  hostName: string,
  sans: Iterable<string>,
  options: IssueOptions = {},
): Promise<CertifiedKey> {
  const { dns, ips } = splitSans(sans);
  if (dns.length === 0 && ips.length === 0) {
    throw new PkiError(`no subject alternative names for the server certificate of ${hostName}`);
  }
  const names: x509.JsonGeneralName[] = [
    ...dns.map((value) => ({ type: "dns" as const, value })),
    ...ips.map((value) => ({ type: "ip" as const, value })),
  ];
  return issueLeaf(
    ca,
    hostName,
    "server",
    [new x509.SubjectAlternativeNameExtension(names)],
    options,
    DEFAULT_SERVER_DAYS,
  );
}

/** Facts about a certificate that day-2 operations need (expiry, SANs). */
export interface CertificateFacts {
  notAfter: Date;
  dns: string[];
  ips: string[];
}

export function readCertificateFacts(certPem: string): CertificateFacts {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (err) {
    throw new PkiError("not a valid PEM certificate", { cause: err });
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  return {
    notAfter: cert.notAfter,
    dns: names.filter((n) => n.type === "dns").map((n) => n.value),
    ips: names.filter((n) => n.type === "ip").map((n) => n.value),
  };
}
