// Stands in for the ssh2 package in the CLI bundle (scripts/bundle.mjs). docker-modem requires
// ssh2 when it loads, but dinv never speaks SSH: ssh:// endpoints are refused with a clear line
// (src/engine/endpoint.ts) and every client names its protocol (src/engine/client.ts). Loading
// the real package (22 files, and cpu-features' native addon) cost every engine command time.
class Client {
  constructor() {
    throw new Error("ssh:// endpoints are not supported by dinv; expose the API on a TLS port instead");
  }
}
module.exports = { Client };
