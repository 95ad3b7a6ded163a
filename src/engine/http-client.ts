/**
 * A small engine client on node:http/https for the commands that run in shell prompts
 * (env, config, url, status, version NAME, ls): each makes one or two GETs, and loading
 * dockerode for them cost more than the rest of the command (see BENCHMARKS.md).
 * Streams, archives and everything else stay with dockerode (client.ts).
 *
 * Connections are as explicit as connect()'s: only the endpoint given is used, never
 * DOCKER_HOST/DOCKER_CERT_PATH from the environment; TLS uses the same files with the same
 * key-mode refusal, and verification follows the endpoint's verify flag.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import {
  Agent as HttpsAgent,
  request as httpsRequest,
  type RequestOptions as HttpsRequestOptions,
} from "node:https";
import { createSecureContext, type SecureContext } from "node:tls";
import { call, type CallTarget } from "./engine-errors.js";
import type { Endpoint } from "./endpoint.js";
import { readTlsFiles } from "./tls-files.js";

/** An engine answer with an error status: shaped like dockerode's, so describeEngineError and 404 checks apply. */
export class EngineHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: { message?: string } | undefined,
    readonly reason: string,
  ) {
    super(`(HTTP code ${statusCode}) ${json?.message ?? reason}`);
  }
}

export interface EngineHttpClient extends CallTarget {
  /** GET a JSON document; engine errors and transport failures are translated (call()). */
  get<T>(path: string, query?: Record<string, string | boolean>): Promise<T>;
  /**
   * GET /_ping's Server header ("Docker/20.10.24 (linux)"): the engine's version for the price
   * of a ping (/version also asks containerd and the runtimes).
   */
  pingServer(): Promise<string | undefined>;
}

/**
 * Hosts of one store carry the same CA and client pair: build each distinct TLS context once
 * (creating one parses the key and the CA, the largest cost of many TLS calls).
 */
const contexts = new Map<string, SecureContext>();

function secureContextFor(endpoint: Endpoint & { protocol: "tcp" }): SecureContext | undefined {
  if (!endpoint.tls) return undefined;
  const material = readTlsFiles(endpoint.tls, endpoint.url);
  const key = [material.ca, material.cert, material.key].map((b) => b?.toString("latin1") ?? "").join("\0");
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext(material);
    contexts.set(key, context);
  }
  return context;
}

/** A client for one endpoint; every request must finish within timeoutMs (0: no limit). */
export function engineHttp(endpoint: Endpoint, options: { timeoutMs?: number } = {}): EngineHttpClient {
  const timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : undefined;
  let base: HttpsRequestOptions;
  let send: typeof httpRequest;
  if (endpoint.protocol === "unix") {
    base = { socketPath: endpoint.socketPath, servername: "", agent: new HttpAgent({ keepAlive: true }) };
    send = httpRequest;
  } else if (!endpoint.tls) {
    base = {
      host: endpoint.host,
      port: endpoint.port,
      servername: "",
      agent: new HttpAgent({ keepAlive: true }),
    };
    send = httpRequest;
  } else {
    const secureContext = secureContextFor(endpoint);
    const rejectUnauthorized = endpoint.tls.verify;
    base = {
      host: endpoint.host,
      port: endpoint.port,
      servername: serverName(endpoint.host),
      agent: new HttpsAgent({ keepAlive: true, secureContext, rejectUnauthorized }),
    };
    send = httpsRequest;
  }
  const client: EngineHttpClient = {
    endpoint,
    timeoutMs,
    get: <T>(path: string, query?: Record<string, string | boolean>) =>
      call(
        client,
        async () => (await getJson<T>(send, { ...base, path: withQuery(path, query) }, timeoutMs)).body,
      ),
    pingServer: () =>
      call(client, async () => {
        const server = (await getJson(send, { ...base, path: "/_ping" }, timeoutMs)).headers.server;
        return typeof server === "string" ? server : undefined;
      }),
  };
  return client;
}

/**
 * SNI name: none for an IP address. Given explicitly because Node's agent otherwise works it
 * out with net.isIP, whose IPv6 pattern costs tens of ms to compile on first use (that was a
 * tenth of `dinv env`). The certificate is checked against the host either way.
 */
function serverName(host: string): string {
  return host.includes(":") || /^[\d.]+$/.test(host) ? "" : host;
}

function withQuery(path: string, query: Record<string, string | boolean> | undefined): string {
  if (!query) return path;
  const search = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return search ? `${path}?${search}` : path;
}

/** One GET with a hard deadline for the whole exchange (a socket idle timer misses a stalled TLS handshake). */
function getJson<T>(
  send: typeof httpRequest,
  options: RequestOptions,
  timeoutMs: number | undefined,
): Promise<{ body: T; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    const req = send({ ...options, method: "GET", headers: { Accept: "application/json" } });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const err = Object.assign(new Error("timed out"), { code: "ETIMEDOUT" });
            reject(err);
            req.destroy(err);
          }, timeoutMs);
    const settle = () => clearTimeout(timer);
    req.on("error", (err) => {
      settle();
      reject(err);
    });
    req.on("response", (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", (err) => {
        settle();
        reject(err);
      });
      res.on("end", () => {
        settle();
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve({ body: body as T, headers: res.headers });
        else
          reject(
            new EngineHttpError(
              status,
              body as { message?: string } | undefined,
              text.trim() || res.statusMessage || "",
            ),
          );
      });
    });
    req.end();
  });
}
