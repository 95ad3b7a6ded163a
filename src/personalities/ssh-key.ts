import { X509Certificate } from "node:crypto";
import { DinvError } from "../errors.js";

/**
 * The public key of a certificate as an OpenSSH authorized_keys line (RFC 4253 and RFC 5656
 * wire formats), so the host's client key dinv issued also opens SSH in a host that runs sshd.
 */
export function sshAuthorizedKey(certPem: string, comment: string): string {
  const key = new X509Certificate(certPem).publicKey;
  const jwk = key.export({ format: "jwk" });
  if (jwk.kty === "EC" && jwk.crv === "P-256" && jwk.x && jwk.y) {
    const point = Buffer.concat([Buffer.from([4]), b64url(jwk.x), b64url(jwk.y)]);
    return line(
      "ecdsa-sha2-nistp256",
      [text("ecdsa-sha2-nistp256"), text("nistp256"), bytes(point)],
      comment,
    );
  }
  if (jwk.kty === "RSA" && jwk.e && jwk.n) {
    return line("ssh-rsa", [text("ssh-rsa"), mpint(b64url(jwk.e)), mpint(b64url(jwk.n))], comment);
  }
  throw new DinvError(`no OpenSSH form for a ${jwk.kty ?? "unknown"} key`, {
    hint: "use the store's ECDSA P-256 or RSA client key",
  });
}

const b64url = (value: string) => Buffer.from(value, "base64url");
const text = (value: string) => bytes(Buffer.from(value, "utf8"));

function bytes(value: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  return Buffer.concat([length, value]);
}

/** A positive integer: big-endian, with a leading zero when its top bit is set. */
function mpint(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  return bytes((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function line(type: string, parts: Buffer[], comment: string): string {
  return `${type} ${Buffer.concat(parts).toString("base64")} ${comment}\n`;
}
