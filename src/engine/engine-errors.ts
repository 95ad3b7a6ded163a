import { EngineError } from "../errors.js";
import type { Endpoint } from "./endpoint.js";

/** What call() needs of a client: dockerode's (client.ts) and the plain one (http-client.ts) both fit. */
export interface CallTarget {
  readonly endpoint: Endpoint;
  /** The per-request timeout, to tell a timeout from a reset (both may surface as ECONNRESET). */
  readonly timeoutMs?: number;
}

/**
 * Turn a low-level failure into one line naming the endpoint and the cause.
 * Engine-level HTTP errors (a statusCode, as dockerode and http-client.ts set it) keep the engine's own message.
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
export async function call<T>(client: CallTarget, action: () => Promise<T>): Promise<T> {
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

/** The HTTP status the engine answered with, for an error from call() or straight from the client. */
export function engineStatus(err: unknown): number | undefined {
  const source = err instanceof EngineError ? err.cause : err;
  return (source as { statusCode?: number } | undefined)?.statusCode;
}
