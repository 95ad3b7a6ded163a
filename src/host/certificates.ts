import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { serverSans } from "../personalities/docker/personality.js";
import type { CertificateAuthority } from "../pki/certificates.js";
import type { HostConfig } from "../store/host-config.js";
import { HOST_FILES } from "../store/paths.js";
import type { StoreCertificates } from "../store/certificates.js";
import {
  privateFile,
  publicFile,
  readPublicFile,
  writeFilesAtomically,
  type FileToWrite,
} from "../store/secure-fs.js";

/**
 * The host's server certificate (none for an adopted host: its maker keeps it). Node's built-in
 * parser: enough for SANs and expiry, and far cheaper to load than a PKI library.
 */
export function readServerCertificate(hostDir: string, config: HostConfig): X509Certificate | undefined {
  const file = config.files.serverCert;
  return file ? new X509Certificate(readPublicFile(join(hostDir, file))) : undefined;
}

/** Does the host's server certificate cover the address clients use? */
export function coversAddress(cert: X509Certificate, address: string): boolean {
  return address.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(address)
    ? cert.checkIP(address) !== undefined
    : cert.checkHost(address) !== undefined;
}

/** The store's CA certificate and client pair as a host folder holds them. */
export function clientFiles(hostDir: string, certs: Pick<StoreCertificates, "ca" | "client">): FileToWrite[] {
  return [
    publicFile(join(hostDir, HOST_FILES.ca), certs.ca.certPem),
    publicFile(join(hostDir, HOST_FILES.clientCert), certs.client.certPem),
    privateFile(join(hostDir, HOST_FILES.clientKey), certs.client.keyPem),
  ];
}

/** Issue a new server certificate for the host's current address and SANs, and store it with its key (both or neither). */
export async function reissueServerCertificate(
  config: HostConfig,
  hostDir: string,
  ca: CertificateAuthority,
): Promise<string[]> {
  const { issueServerCertificate } = await import("../pki/certificates.js");
  const sans = serverSans(config.network.address, config.tls.extraSans, config.network.ip);
  const server = await issueServerCertificate(ca, config.name, sans, { keyType: config.tls.keyType });
  await writeFilesAtomically([
    publicFile(join(hostDir, HOST_FILES.serverCert), server.certPem),
    privateFile(join(hostDir, HOST_FILES.serverKey), server.keyPem),
  ]);
  config.tls.sans = sans;
  return sans;
}

/** The certificate a TLS server presents (fingerprint), to see when a reload took effect. */
export function servedFingerprint(
  host: string,
  port: number,
  timeoutMs = 2_000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      rejectUnauthorized: false,
      servername: /^[\d.:]+$/.test(host) ? undefined : host,
    });
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(value: string | undefined) {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    }
    socket.once("secureConnect", () => finish(socket.getPeerCertificate().fingerprint256));
    socket.once("error", () => finish(undefined));
  });
}
