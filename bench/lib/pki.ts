import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runOk } from "./proc.js";

/**
 * Certificates for the floor, made with openssl (the tool of the trade): EC P-256 like dinv's.
 * The CA and client pair are made once per run (untimed, as dinv's store keeps them); the
 * server certificate is part of every timed create.
 */
export interface FloorPki {
  dir: string;
  ca: string;
  caKey: string;
  clientCert: string;
  clientKey: string;
  serverConfig: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export async function makeFloorPki(dir: string): Promise<FloorPki> {
  const file = (name: string) => join(dir, name);
  const config = (name: string, extensions: string) => {
    writeFileSync(
      file(name),
      `[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[dn]\nO = dinv-bench\n[ext]\n${extensions}\n`,
    );
    return file(name);
  };
  const caConfig = config(
    "ca.cnf",
    "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash",
  );
  const clientConfig = config(
    "client.cnf",
    "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth",
  );
  const serverConfig = config(
    "server.cnf",
    "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost",
  );
  await runOk("openssl", [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    file("ca-key.pem"),
    "-out",
    file("ca.pem"),
    "-days",
    "30",
    "-config",
    caConfig,
  ]);
  await runOk("openssl", [
    "req",
    ...EC,
    "-keyout",
    file("key.pem"),
    "-out",
    file("cert.pem"),
    "-days",
    "30",
    "-config",
    clientConfig,
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca-key.pem"),
  ]);
  return {
    dir,
    ca: file("ca.pem"),
    caKey: file("ca-key.pem"),
    clientCert: file("cert.pem"),
    clientKey: file("key.pem"),
    serverConfig,
  };
}

/** One openssl call: a new EC key and a server certificate signed by the CA (the timed part). */
export async function issueFloorServer(
  pki: FloorPki,
  outDir: string,
): Promise<{ cert: string; key: string }> {
  const cert = join(outDir, "server.pem");
  const key = join(outDir, "server-key.pem");
  await runOk("openssl", [
    "req",
    ...EC,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1080",
    "-config",
    pki.serverConfig,
    "-CA",
    pki.ca,
    "-CAkey",
    pki.caKey,
  ]);
  return { cert, key };
}
