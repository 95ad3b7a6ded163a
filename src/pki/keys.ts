import { webcrypto } from "node:crypto";
import { PkiError } from "../errors.js";

export type KeyType = "ecdsa-p256" | "rsa-2048";
export const KEY_TYPES: readonly KeyType[] = ["ecdsa-p256", "rsa-2048"];
export const DEFAULT_KEY_TYPE: KeyType = "ecdsa-p256";

const subtle = webcrypto.subtle;

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type KeyAlgorithm = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;

function algorithmFor(type: KeyType): KeyAlgorithm {
  return type === "rsa-2048"
    ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
    : { name: "ECDSA", namedCurve: "P-256" };
}

/** The signature algorithm a key of this type signs certificates with. */
export function signingAlgorithmFor(type: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return type === "rsa-2048" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" };
}

export function parseKeyType(value: string): KeyType {
  if ((KEY_TYPES as readonly string[]).includes(value)) return value as KeyType;
  throw new PkiError(`unknown key type "${value}"`, { hint: `use one of ${KEY_TYPES.join(", ")}` });
}

export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  const algorithm =
    type === "rsa-2048"
      ? { ...algorithmFor(type), modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }
      : algorithmFor(type);
  return (await subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** PKCS#8 PEM ("PRIVATE KEY"), which dockerd and Node read for both key types. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey("pkcs8", key));
  return pem("PRIVATE KEY", der);
}

export async function importPrivateKey(pemText: string, type: KeyType): Promise<CryptoKey> {
  const der = pemBody(pemText, "PRIVATE KEY");
  try {
    return await subtle.importKey("pkcs8", der, algorithmFor(type), true, ["sign"]);
  } catch (err) {
    throw new PkiError(`the private key is not a valid ${type} PKCS#8 key`, { cause: err });
  }
}

export function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function pemBody(text: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (!match?.[1]) throw new PkiError(`expected a PEM "${label}" block`);
  return Buffer.from(match[1].replace(/\s+/g, ""), "base64");
}
