// The kubelet personality's module (examples/kubelet-host/README.md, docs/personalities.md):
// turns the host's `--engine-opt` flags into `dinv kubelet` flags, and delivers the files they
// name on this machine (the cluster's kubeconfig, the endpoint's client certificates, the API
// server's client CA) into the container, read again at every regenerate-certs and upgrade.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const DIR = "/etc/dinv-kubelet";
/** Options the module turns into other flags and files, never passed through as they are. */
const LOCAL = new Set(["kubeconfig", "endpoint", "endpoint-certs", "client-ca"]);
/** Options the kubelet host sets itself (create refuses host and the tls* flags already). */
const FIXED = new Set(["listen", "tls-cert", "tls-key"]);

/** The --engine-opt KEY=VALUE pairs, as create stored them (`--KEY=VALUE`). */
function options(config) {
  const pairs = new Map();
  const passed = [];
  for (const flag of config.engineOptions.flags) {
    const match = /^--([a-z][a-z0-9-]*)=(.*)$/s.exec(flag);
    if (!match) continue;
    const [, key, value] = match;
    if (FIXED.has(key))
      throw new Error(`kubelet host ${config.name}: --engine-opt ${key} is set by the personality`);
    if (LOCAL.has(key)) pairs.set(key, value);
    // A switch of the kubelet's (authn-webhook, anonymous-auth) takes no value.
    else passed.push(value === "true" ? `--${key}` : flag);
  }
  const missing = ["kubeconfig", "endpoint", "node-name"].find(
    (key) => !pairs.has(key) && !passed.some((f) => f.startsWith(`--${key}=`)),
  );
  if (missing)
    throw new Error(
      `kubelet host ${config.name}: give --engine-opt ${missing}=… (examples/kubelet-host/README.md)`,
    );
  return { pairs, passed };
}

function read(config, what, path) {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`kubelet host ${config.name}: cannot read ${what} ${path} (${err.code ?? err.message})`);
  }
}

export default (base) => ({
  ...base,
  command: (config) => {
    const { pairs, passed } = options(config);
    const certs = pairs.has("endpoint-certs")
      ? [
          "--tlsverify",
          ...["ca", "cert", "key"].map((f) => `--tls${f === "ca" ? "cacert" : f}=${DIR}/endpoint/${f}.pem`),
        ]
      : [];
    // Reached at its own address on a container network: that is the node's address too.
    const nodeIp =
      config.network.mode === "network" && !passed.some((f) => f.startsWith("--node-ip="))
        ? [`--node-ip=${config.network.address}`]
        : [];
    return [
      `--kubeconfig=${DIR}/kubeconfig`,
      `--endpoint=${pairs.get("endpoint")}`,
      ...certs,
      "--listen=0.0.0.0:10250",
      "--tls-cert=/certs/server/cert.pem",
      "--tls-key=/certs/server/key.pem",
      `--client-ca=${DIR}/client-ca.pem`,
      ...nodeIp,
      ...passed,
    ];
  },
  archive: (config, files) => {
    const { pairs } = options(config);
    const extra = [
      { path: `${DIR}/kubeconfig`, mode: 0o600, body: read(config, "kubeconfig", pairs.get("kubeconfig")) },
      // dinv's own CA always (its readiness check and `curl` with the host's key), and the API
      // server's kubelet-client CA when given (logs, exec and port-forward through the cluster).
      {
        path: `${DIR}/client-ca.pem`,
        mode: 0o644,
        body: files.caPem + (pairs.has("client-ca") ? read(config, "client CA", pairs.get("client-ca")) : ""),
      },
    ];
    if (pairs.has("endpoint-certs")) {
      const dir = pairs.get("endpoint-certs");
      for (const f of ["ca", "cert", "key"])
        extra.push({
          path: `${DIR}/endpoint/${f}.pem`,
          mode: f === "key" ? 0o600 : 0o644,
          body: read(config, "endpoint certificate", join(dir, `${f}.pem`)),
        });
    }
    return base.archive(config, { ...files, extra: [...(files.extra ?? []), ...extra] });
  },
});
