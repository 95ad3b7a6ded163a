import type { HostConfig } from "../../src/store/host-config.js";

/** A stored host as create leaves it (host "h1" on a local Docker Engine), for unit tests. */
export function sampleHostConfig(): HostConfig {
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
