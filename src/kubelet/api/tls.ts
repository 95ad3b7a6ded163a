/**
 * The kubelet API's TLS material: the serving certificate from --tls-cert/--tls-key, or issued
 * at start from dinv's CA (clients then trust the store's ca.pem); and the client CA
 * (--client-ca, the API server's kubelet-client CA) whose certificates authenticate callers.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { PkiError } from "../../errors.js";
import { issueServerCertificate, type CertificateAuthority } from "../../pki/certificates.js";
import { classifySan } from "../../pki/sans.js";

export interface ServingOptions {
  certFile?: string;
  keyFile?: string;
  clientCaFile?: string;
  nodeName: string;
  /** Names the issued certificate covers besides the node name, localhost and 127.0.0.1. */
  sans: string[];
  /** The CA that issues a serving certificate when no files are given (dinv's store CA). */
  issuer?: () => Promise<CertificateAuthority>;
}

export interface ServingMaterial {
  cert: string;
  key: string;
  clientCa?: string;
  /** Where the serving certificate came from, for the start-up log. */
  source: string;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new PkiError(
      `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

/** SANs worth putting in an issued certificate: valid names and addresses other than wildcards. */
export function servingSans(nodeName: string, extra: readonly string[]): string[] {
  const candidates = [nodeName, ...extra, "localhost", "127.0.0.1"];
  return [
    ...new Set(
      candidates.filter((v) => {
        if (v === "" || v === "0.0.0.0" || v === "::") return false;
        try {
          classifySan(v);
          return true;
        } catch {
          return isIP(v) !== 0;
        }
      }),
    ),
  ];
}

export async function servingMaterial(options: ServingOptions): Promise<ServingMaterial> {
  const clientCa = options.clientCaFile ? readPem(options.clientCaFile, "client CA") : undefined;
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new PkiError("give --tls-cert and --tls-key together");
  }
  if (options.certFile && options.keyFile) {
    return {
      cert: readPem(options.certFile, "serving certificate"),
      key: readPem(options.keyFile, "serving key"),
      ...(clientCa ? { clientCa } : {}),
      source: options.certFile,
    };
  }
  if (!options.issuer) {
    throw new PkiError("no serving certificate", { hint: "give --tls-cert and --tls-key" });
  }
  const ca = await options.issuer();
  const sans = servingSans(options.nodeName, options.sans);
  const issued = await issueServerCertificate(ca, options.nodeName, sans);
  return {
    cert: issued.certPem,
    key: issued.keyPem,
    ...(clientCa ? { clientCa } : {}),
    source: `issued by dinv's CA for ${sans.join(", ")}`,
  };
}
