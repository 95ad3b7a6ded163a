import { existsSync } from "node:fs";
import { join } from "node:path";
import { EndpointError } from "../errors.js";
import { currentContextName, dockerConfigDir, readDockerContext } from "../store/docker-context.js";
import {
  DEFAULT_SOCKET,
  parseHostUrl,
  type Endpoint,
  type EndpointSource,
  type TlsFiles,
} from "./endpoint.js";

/** What the user gave on the command line; all optional. */
export interface EndpointFlags {
  endpoint?: string;
  /** Verify the server against the CA (default on when TLS files are given). */
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/**
 * Resolve the endpoint the way the docker CLI does: --endpoint flag, then DOCKER_HOST
 * (+ DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), then the current Docker CLI context
 * ($DOCKER_CONTEXT or config.json's currentContext), then the default unix socket.
 * The --tls* flags apply to --endpoint or DOCKER_HOST; with a context or the default socket they are refused.
 */
export function resolveEndpoint(flags: EndpointFlags = {}, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const tlsFromFlags = flagTls(flags);
  if (flags.endpoint !== undefined) {
    return build(flags.endpoint, "--endpoint", "flag", tlsFromFlags);
  }
  if (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== "") {
    // As with the docker CLI, --tls* flags win over DOCKER_TLS_VERIFY / DOCKER_CERT_PATH.
    return build(env.DOCKER_HOST, "DOCKER_HOST", "env", tlsFromFlags ?? envTls(env));
  }
  if (tlsFromFlags !== undefined) {
    // The docker CLI silently ignores them for a context (or dials tcp://localhost:2376): say so instead.
    throw new EndpointError("the --tls* flags need an endpoint given by --endpoint or DOCKER_HOST", {
      hint: "add --endpoint tcp://HOST:PORT, or drop the --tls* flags to use the current docker context",
    });
  }
  const configDir = dockerConfigDir(env);
  const contextName = currentContextName(configDir, env);
  if (contextName !== undefined && contextName !== "default") {
    const context = readDockerContext(configDir, contextName);
    // Like the docker CLI: TLS when the context has TLS files, or skips verification (TLS without files).
    const hasFiles = Object.keys(context.tls).length > 0;
    const tls: TlsFiles | undefined =
      hasFiles || context.skipTlsVerify ? { ...context.tls, verify: !context.skipTlsVerify } : undefined;
    return {
      ...build(context.host, `docker context "${contextName}"`, "context", tls),
      context: contextName,
    };
  }
  return build(`unix://${DEFAULT_SOCKET}`, "default socket", "default", undefined);
}

function build(raw: string, what: string, source: EndpointSource, tls: TlsFiles | undefined): Endpoint {
  const parsed = parseHostUrl(raw, what);
  if (parsed.protocol === "unix") {
    return { url: parsed.url, source, protocol: "unix", socketPath: parsed.socketPath };
  }
  // https:// means TLS even without explicit files (system CAs, as docker does).
  const effectiveTls = tls ?? (parsed.https ? { verify: true } : undefined);
  return {
    url: parsed.url,
    source,
    protocol: "tcp",
    host: parsed.host,
    port: parsed.port,
    ...(effectiveTls ? { tls: effectiveTls } : {}),
  };
}

function flagTls(flags: EndpointFlags): TlsFiles | undefined {
  const anyFile = flags.tlsCaCert ?? flags.tlsCert ?? flags.tlsKey;
  if (anyFile === undefined && flags.tlsVerify === undefined) return undefined;
  if (flags.tlsVerify !== false && flags.tlsCaCert === undefined) {
    throw new EndpointError(
      "verifying the server (--tlsverify, on by default with --tls* flags) needs --tlscacert",
      {
        hint: "give the CA file, or --tlsverify=false to skip verification",
      },
    );
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new EndpointError("--tlscert and --tlskey go together", { hint: "give both or neither" });
  }
  return {
    verify: flags.tlsVerify !== false,
    ...(flags.tlsCaCert ? { ca: flags.tlsCaCert } : {}),
    ...(flags.tlsCert ? { cert: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { key: flags.tlsKey } : {}),
  };
}

/**
 * docker's rules: DOCKER_TLS_VERIFY non-empty (even "0") = verify; DOCKER_TLS non-empty = TLS without
 * verify. Files come from DOCKER_CERT_PATH (default: the config folder); cert.pem and key.pem are used
 * only when present (a server need not ask for a client certificate); ca.pem is required only to verify.
 */
function envTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "";
  const tls = verify || (env.DOCKER_TLS !== undefined && env.DOCKER_TLS !== "");
  if (!tls) return undefined;
  const certPath =
    env.DOCKER_CERT_PATH && env.DOCKER_CERT_PATH !== "" ? env.DOCKER_CERT_PATH : dockerConfigDir(env);
  const ca = join(certPath, "ca.pem");
  const cert = join(certPath, "cert.pem");
  const key = join(certPath, "key.pem");
  return {
    verify,
    ...(verify || existsSync(ca) ? { ca } : {}),
    ...(existsSync(cert) ? { cert } : {}),
    ...(existsSync(key) ? { key } : {}),
  };
}
