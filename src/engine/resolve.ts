import { join } from "node:path";
import { EndpointError } from "../errors.js";
import { currentContextName, dockerConfigDir, readDockerContext } from "./docker-context.js";
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
 */
export function resolveEndpoint(flags: EndpointFlags = {}, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (flags.endpoint !== undefined) {
    return build(flags.endpoint, "--endpoint", "flag", flagTls(flags));
  }
  if (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== "") {
    return build(env.DOCKER_HOST, "DOCKER_HOST", "env", envTls(env));
  }
  const configDir = dockerConfigDir(env);
  const contextName = currentContextName(configDir, env);
  if (contextName !== undefined && contextName !== "default") {
    const context = readDockerContext(configDir, contextName);
    const tls: TlsFiles | undefined =
      context.tls.ca || context.tls.cert ? { ...context.tls, verify: !context.skipTlsVerify } : undefined;
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
    throw new EndpointError("--tlsverify needs --tlscacert", {
      hint: "give the CA file or --tlsverify=false",
    });
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

/** docker's rules: DOCKER_TLS_VERIFY non-empty = verify; DOCKER_TLS non-empty = TLS without verify. */
function envTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "";
  const tls = verify || (env.DOCKER_TLS !== undefined && env.DOCKER_TLS !== "");
  if (!tls) return undefined;
  const certPath =
    env.DOCKER_CERT_PATH && env.DOCKER_CERT_PATH !== "" ? env.DOCKER_CERT_PATH : dockerConfigDir(env);
  return {
    verify,
    ca: join(certPath, "ca.pem"),
    cert: join(certPath, "cert.pem"),
    key: join(certPath, "key.pem"),
  };
}
