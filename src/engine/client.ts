import { Agent } from "node:https";
import Dockerode from "dockerode";
import type { Endpoint, TlsFiles } from "./endpoint.js";
import { readTlsFiles } from "./tls-files.js";

// Kept importable from here; they live apart so that callers need not load dockerode.
export { call, describeEngineError, engineStatus } from "./engine-errors.js";

export interface ConnectOptions {
  /** Idle timeout of each request, in milliseconds (0: none). */
  timeoutMs?: number;
}

/** A dockerode client bound to one endpoint, with errors that name the endpoint. */
export interface EngineClient {
  readonly endpoint: Endpoint;
  readonly docker: Dockerode;
  /** The per-request idle timeout, to tell a timeout from a reset (both surface as ECONNRESET). */
  readonly timeoutMs?: number;
}

export function connect(endpoint: Endpoint, options: ConnectOptions = {}): EngineClient {
  const timeout = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : undefined;
  const common = { timeout, version: undefined, pathPrefix: undefined };
  const docker =
    endpoint.protocol === "unix"
      ? new Dockerode(explicit({ ...common, socketPath: endpoint.socketPath }))
      : !endpoint.tls
        ? new Dockerode(explicit({ ...common, host: endpoint.host, port: endpoint.port, protocol: "http" }))
        : tlsClient(endpoint.tls, endpoint, common);
  return { endpoint, timeoutMs: timeout, docker };
}

function tlsClient(tls: TlsFiles, endpoint: Endpoint & { protocol: "tcp" }, common: object): Dockerode {
  const material = readTlsFiles(tls, endpoint.url);
  // docker-modem accepts an agent (typed options lack it): it carries verify on/off and keep-alive.
  const agent = new Agent({ ...material, rejectUnauthorized: tls.verify, keepAlive: true });
  return new Dockerode(
    explicit({ ...common, host: endpoint.host, port: endpoint.port, protocol: "https", ...material, agent }),
  );
}

/**
 * docker-modem merges DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH from the environment
 * *under* the options it is given: name every connection field, so the environment
 * (which may point at a dinv host after `eval $(dinv env …)`) never redirects a client.
 */
function explicit(options: Record<string, unknown>): Dockerode.DockerOptions {
  const fields = [
    "socketPath",
    "host",
    "port",
    "protocol",
    "ca",
    "cert",
    "key",
    "agent",
    "username",
    "sshOptions",
  ];
  const blank = Object.fromEntries(fields.map((field) => [field, undefined]));
  return { ...blank, ...options } as Dockerode.DockerOptions;
}
