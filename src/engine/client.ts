import { readFileSync, statSync } from "node:fs";
import { Agent } from "node:https";
import Dockerode from "dockerode";
import { EndpointError, EngineError } from "../errors.js";
import type { Endpoint, TlsFiles } from "./endpoint.js";

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

function readTlsFiles(tls: TlsFiles, url: string): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const kind of ["ca", "cert", "key"] as const) {
    const path = tls[kind];
    if (path === undefined) continue;
    try {
      out[kind] = readFileSync(path);
      // As ssh does: a private key others can read is refused, with the fix.
      const mode = kind === "key" ? statSync(path).mode & 0o077 : 0;
      if (mode !== 0) {
        throw new EndpointError(`the TLS key for ${url} (${path}) is readable by others`, {
          hint: `run: chmod 600 ${path}`,
        });
      }
    } catch (err) {
      if (err instanceof EndpointError) throw err;
      throw new EndpointError(
        `cannot read the TLS ${kind} file for ${url} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          hint: "check DOCKER_CERT_PATH or the --tls* flags",
        },
      );
    }
  }
  return out;
}

/**
 * Turn a low-level failure into one line naming the endpoint and the cause.
 * Engine-level HTTP errors (dockerode's statusCode) keep the engine's own message.
 */
export function describeEngineError(err: unknown, endpoint: Endpoint): EngineError {
  if (err instanceof EngineError) return err;
  const e = err as NodeJS.ErrnoException & {
    statusCode?: number;
    json?: { message?: string };
    reason?: string;
  };
  const where = endpoint.url;
  const code = e?.code ?? "";
  const message = e?.message ?? String(err);
  const cause = { cause: err };
  if (typeof e?.statusCode === "number") {
    const detail = e.json?.message ?? e.reason ?? message;
    return new EngineError(`${where}: ${detail} (HTTP ${e.statusCode})`, cause);
  }
  switch (code) {
    case "ECONNREFUSED":
      return new EngineError(`${where} refused the connection`, {
        ...cause,
        hint: "is the engine running and listening there?",
      });
    case "ENOENT":
      return new EngineError(`${where}: no such socket`, { ...cause, hint: "is the engine running?" });
    case "EACCES":
      return new EngineError(`${where}: permission denied`, {
        ...cause,
        hint: "run as a user allowed to use the socket",
      });
    case "ETIMEDOUT":
    case "ESOCKETTIMEDOUT":
      return new EngineError(`${where} did not answer in time`, {
        ...cause,
        hint: "is the endpoint up? raise --timeout if it is slow",
      });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new EngineError(`${where} cannot be reached (${code})`, { ...cause, hint: "check the address" });
    case "CERT_HAS_EXPIRED":
      return new EngineError(`${where} presented an expired certificate`, {
        ...cause,
        hint: "regenerate the server certificate",
      });
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_SIGNATURE_FAILURE":
      return new EngineError(`${where} presented a certificate not signed by the expected CA (${code})`, {
        ...cause,
        hint: "check the CA file, or regenerate the certificates",
      });
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return new EngineError(`${where}: the server certificate does not cover this address`, {
        ...cause,
        hint: "add the address with --tls-san and regenerate the certificates",
      });
    case "ECONNRESET":
    case "EPIPE":
      return new EngineError(`${where} closed the connection (${code})`, {
        ...cause,
        ...(endpoint.protocol === "tcp"
          ? { hint: endpoint.tls ? "does it accept this client certificate?" : "does it expect TLS?" }
          : {}),
      });
  }
  if (/timeout|timed out/i.test(message)) {
    return new EngineError(`${where} did not answer in time`, {
      ...cause,
      hint: "is the endpoint up? raise --timeout if it is slow",
    });
  }
  return new EngineError(`${where}: ${message}`, cause);
}

/** Run one engine call and translate its failure. */
export async function call<T>(client: EngineClient, action: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await action();
  } catch (err) {
    // docker-modem destroys the request on its idle timeout, which surfaces as ECONNRESET.
    const timedOut =
      client.timeoutMs !== undefined &&
      (err as NodeJS.ErrnoException)?.code === "ECONNRESET" &&
      Date.now() - started >= client.timeoutMs - 50;
    throw describeEngineError(
      timedOut ? Object.assign(new Error("timed out"), { code: "ETIMEDOUT" }) : err,
      client.endpoint,
    );
  }
}
