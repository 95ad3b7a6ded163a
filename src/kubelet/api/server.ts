/**
 * The kubelet API on --listen: HTTPS only, every request authenticated (client certificate or
 * bearer token; anonymous only with --anonymous-auth) and authorized before it is routed.
 * Plain requests are answered here. Upgrades of exec/attach and port-forward: SPDY/3.1 (what API
 * servers send) is served by spdy-exec.ts and port-forward.ts, WebSocket (direct clients, and
 * API servers that pass it through) by channels.ts and port-forward.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex, Readable } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { errorMessage } from "../../errors.js";
import {
  StreamingError,
  type ContainerRef,
  type ContainerSession,
  type PodRef,
  type PodStreamingProvider,
  type StreamOptions,
} from "../provider-api.js";
import { WS_TOKEN_PREFIX, type Authenticator, type UserInfo } from "./authn.js";
import { requestAttributes, type Authorizer } from "./authz.js";
import { chooseProtocol, relaySession } from "./channels.js";
import { resourceMetrics } from "./metrics.js";
import { BadRequest, execCommand, forwardPorts, logOptions, runCommand, streamOptions } from "./params.js";
import {
  PORT_FORWARD_PROTOCOL,
  relayWebSocketPortForward,
  serveSpdyPortForward,
  WS_PORT_FORWARD_PROTOCOLS,
} from "./port-forward.js";
import { SpdyConnection } from "./spdy/connection.js";
import { relaySpdySession, SPDY_EXEC_PROTOCOLS } from "./spdy-exec.js";
import { matchRoute, type Route } from "./routes.js";
import type { ServingMaterial } from "./tls.js";

export interface KubeletApiOptions {
  host: string;
  port: number;
  tls: ServingMaterial;
  authenticator: Authenticator;
  authorizer: Authorizer;
  nodeName: string;
  healthy: () => boolean;
  provider: PodStreamingProvider;
  log?: (message: string) => void;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

/** An answer that is not a success: status and plain-text message. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Array<[string, string]> = [],
  ) {
    super(message);
  }
}

const RUN_OUTPUT_LIMIT = 16 * 2 ** 20;

function failureOf(err: unknown): HttpFailure {
  if (err instanceof HttpFailure) return err;
  if (err instanceof BadRequest) return new HttpFailure(400, err.message);
  if (err instanceof StreamingError) return new HttpFailure(err.status, err.message);
  return new HttpFailure(500, errorMessage(err));
}

export async function startKubeletServer(options: KubeletApiOptions): Promise<KubeletServer> {
  const api = new KubeletApi(options);
  const server: Server = createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      // Client certificates are asked for (not required: tokens are the other way in) and
      // verified against the client CA; the TLS layer sets socket.authorized for authn.ts.
      ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true } : {}),
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (req, res) => void api.request(req, res),
  );
  server.on(
    "upgrade",
    (req: IncomingMessage, socket: Duplex, head: Buffer) => void api.upgrade(req, socket as Socket, head),
  );
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        api.closeSessions();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class KubeletApi {
  private readonly wss = new WebSocketServer({
    noServer: true,
    // Port-forward speaks v4 only; exec and attach prefer what the client lists first.
    handleProtocols: (protocols, request) =>
      (isPortForward(request)
        ? WS_PORT_FORWARD_PROTOCOLS.find((p) => protocols.has(p))
        : chooseProtocol(protocols)) ?? false,
    perMessageDeflate: false,
  });
  private readonly sockets = new Set<WebSocket>();
  private readonly spdyConnections = new Set<SpdyConnection>();

  constructor(private readonly options: KubeletApiOptions) {}

  closeSessions(): void {
    for (const ws of this.sockets) ws.terminate();
    for (const connection of this.spdyConnections) connection.destroy();
  }

  /** Authenticate and authorize; the route when both pass, else the failure to answer with. */
  private async admit(req: IncomingMessage, path: string): Promise<{ route: Route; user: UserInfo }> {
    const authn = await this.options.authenticator.authenticate(req);
    if (!authn.user) throw new HttpFailure(401, "Unauthorized");
    const method = req.method ?? "GET";
    const attributes = requestAttributes(method, path, this.options.nodeName);
    const decision = await this.options.authorizer.authorize(authn.user, attributes);
    if (!decision.allowed) {
      throw new HttpFailure(
        403,
        `Forbidden (user=${authn.user.username}, verb=${attributes.verb}, resource=${attributes.resource}, subresource(s)=[${attributes.subresource}])${decision.reason ? `: ${decision.reason}` : ""}`,
      );
    }
    const match = matchRoute(path);
    if (!match) throw new HttpFailure(404, `404 page not found: ${path}`);
    if (!match.methods.includes(method))
      throw new HttpFailure(405, `${method} is not allowed on ${path} (use ${match.methods.join(" or ")})`);
    return { route: match.route, user: authn.user };
  }

  async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    try {
      const { route } = await this.admit(req, url.pathname);
      await this.serve(route, url.searchParams, req, res);
    } catch (err) {
      const failure = failureOf(err);
      if (failure.status >= 500)
        this.options.log?.(`kubelet API ${req.method} ${url.pathname}: ${failure.message}`);
      if (res.headersSent) res.destroy();
      else
        res
          .writeHead(failure.status, { "Content-Type": "text/plain; charset=utf-8" })
          .end(`${failure.message}\n`);
    }
  }

  private async serve(
    route: Route,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const provider = this.options.provider;
    switch (route.kind) {
      case "healthz": {
        const ok = this.options.healthy();
        res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok" : "not ready");
        return;
      }
      case "pods": {
        const items = await provider.listPods();
        json(res, { kind: "PodList", apiVersion: "v1", metadata: {}, items });
        return;
      }
      case "containerLogs": {
        const stream = await provider.containerLogs(route.ref, logOptions(q));
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" });
        res.flushHeaders();
        res.on("close", () => stream.destroy());
        stream.on("error", () => res.destroy());
        stream.pipe(res);
        return;
      }
      case "run": {
        const form = await formParams(req);
        const command = runCommand(merge(q, form));
        await this.run(route.ref, command, res);
        return;
      }
      case "exec":
      case "attach":
        throw new HttpFailure(
          400,
          "Upgrade request required (SPDY/3.1 with v4.channel.k8s.io, or WebSocket with v5.channel.k8s.io or v4.channel.k8s.io)",
        );
      case "portForward":
        throw new HttpFailure(
          400,
          "Upgrade request required (SPDY/3.1 with portforward.k8s.io, or WebSocket with v4.channel.k8s.io)",
        );
      case "statsSummary":
        json(res, await provider.statsSummary());
        return;
      case "metricsResource": {
        const summary = await provider.statsSummary().catch(() => undefined);
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }).end(
          resourceMetrics(
            summary ?? {
              node: { nodeName: this.options.nodeName, startTime: new Date().toISOString() },
              pods: [],
            },
            !summary,
          ),
        );
        return;
      }
    }
  }

  /** /run: the command's stdout and stderr together; a non-zero exit is a 500, as on a kubelet. */
  private async run(ref: ContainerRef, command: string[], res: ServerResponse): Promise<void> {
    const session = await this.options.provider.exec(ref, command, {
      stdin: false,
      stdout: true,
      stderr: true,
      tty: false,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      if (size < RUN_OUTPUT_LIMIT) chunks.push(chunk.subarray(0, RUN_OUTPUT_LIMIT - size));
      size += chunk.length;
    };
    res.on("close", () => session.close());
    await Promise.all([drain(session.stdout, collect), drain(session.stderr, collect)]);
    const { exitCode } = await session.done;
    const output = Buffer.concat(chunks);
    if (exitCode !== undefined && exitCode !== 0) {
      throw new HttpFailure(
        500,
        `command '${command.join(" ")}' exited with ${exitCode}: ${output.toString("utf8")}`,
      );
    }
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end(output);
  }

  async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on("error", () => undefined);
    const url = new URL(req.url ?? "/", "https://kubelet");
    try {
      const { route } = await this.admit(req, url.pathname);
      if (route.kind !== "exec" && route.kind !== "attach" && route.kind !== "portForward")
        throw new HttpFailure(400, `${url.pathname} cannot be upgraded`);
      const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
      if (upgrade !== "websocket" && upgrade !== "spdy/3.1") {
        throw new HttpFailure(
          400,
          `unsupported upgrade "${req.headers.upgrade ?? ""}": this kubelet speaks SPDY/3.1 and WebSocket`,
        );
      }
      const spdy = upgrade === "spdy/3.1";
      if (route.kind === "portForward") {
        if (spdy) await this.spdyPortForward(route.ref, req, socket, head);
        else await this.webSocketPortForward(route.ref, url.searchParams, req, socket, head);
      } else if (spdy) await this.spdySession(route.kind, route.ref, url.searchParams, req, socket, head);
      else await this.webSocketSession(route.kind, route.ref, url.searchParams, req, socket, head);
    } catch (err) {
      const failure = failureOf(err);
      const body = `${failure.message}\n`;
      const extra = failure.headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");
      socket.end(
        `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ""}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  }

  /** Start exec or attach (an unknown pod or a bad command fails here, before any upgrade). */
  private startSession(
    kind: "exec" | "attach",
    ref: ContainerRef,
    q: URLSearchParams,
  ): { options: StreamOptions; session: Promise<ContainerSession> } {
    const options = streamOptions(q);
    const provider = this.options.provider;
    const session =
      kind === "exec" ? provider.exec(ref, execCommand(q), options) : provider.attach(ref, options);
    return { options, session };
  }

  private logFailure(what: string, ref: PodRef, err: unknown): void {
    this.options.log?.(`kubelet API ${what} ${ref.namespace}/${ref.pod}: ${errorMessage(err)}`);
  }

  private async webSocketSession(
    kind: "exec" | "attach",
    ref: ContainerRef,
    q: URLSearchParams,
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    const offered = String(req.headers["sec-websocket-protocol"] ?? "").split(",");
    const protocol = chooseProtocol(offered);
    if (!protocol)
      throw new HttpFailure(
        400,
        `no supported subprotocol in [${offered.join(",")}]: use v5.channel.k8s.io or v4.channel.k8s.io`,
      );
    const started = this.startSession(kind, ref, q);
    const session = await started.session;
    this.acceptWebSocket(
      req,
      socket,
      head,
      () => session.close(),
      (ws) =>
        relaySession(ws, protocol, session, started.options).catch((err: unknown) => {
          this.logFailure(kind, ref, err);
          ws.terminate();
        }),
    );
  }

  private async spdySession(
    kind: "exec" | "attach",
    ref: ContainerRef,
    q: URLSearchParams,
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    const protocol = negotiateStreamProtocol(req, SPDY_EXEC_PROTOCOLS);
    const started = this.startSession(kind, ref, q);
    const session = await started.session;
    const connection = this.acceptSpdy(socket, head, protocol, () => session.close());
    if (!connection) return;
    relaySpdySession(connection, protocol, session, started.options).catch((err: unknown) =>
      this.logFailure(kind, ref, err),
    );
  }

  private async webSocketPortForward(
    ref: PodRef,
    q: URLSearchParams,
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    const offered = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "" && !p.startsWith(WS_TOKEN_PREFIX));
    if (
      offered.length > 0 &&
      !offered.some((p) => (WS_PORT_FORWARD_PROTOCOLS as readonly string[]).includes(p))
    )
      throw new HttpFailure(
        400,
        `no supported subprotocol in [${offered.join(",")}]: port-forward over WebSocket speaks ${WS_PORT_FORWARD_PROTOCOLS.join(", ")}`,
      );
    const list = forwardPorts(q);
    const ports = await this.options.provider.portForward(ref);
    this.acceptWebSocket(
      req,
      socket,
      head,
      () => undefined,
      (ws) =>
        relayWebSocketPortForward(ws, ref, ports, list).catch((err: unknown) => {
          this.logFailure("port-forward", ref, err);
          ws.terminate();
        }),
    );
  }

  private async spdyPortForward(
    ref: PodRef,
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    negotiateStreamProtocol(req, [PORT_FORWARD_PROTOCOL]);
    const ports = await this.options.provider.portForward(ref);
    const connection = this.acceptSpdy(socket, head, PORT_FORWARD_PROTOCOL, () => undefined);
    if (connection) serveSpdyPortForward(connection, ref, ports);
  }

  /** Complete a WebSocket handshake; `release` runs if the handshake never completes. */
  private acceptWebSocket(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    release: () => void,
    onOpen: (ws: WebSocket) => void,
  ): void {
    if (socket.destroyed) return release();
    // A handshake the WebSocket layer rejects never reaches the callback: release the session then.
    let upgraded = false;
    socket.once("close", () => {
      if (!upgraded) release();
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      this.sockets.add(ws);
      ws.on("error", () => undefined);
      ws.once("close", () => this.sockets.delete(ws));
      onOpen(ws);
    });
  }

  /** Answer 101 Switching Protocols with the negotiated protocol and speak SPDY/3.1 from there. */
  private acceptSpdy(
    socket: Socket,
    head: Buffer,
    protocol: string,
    release: () => void,
  ): SpdyConnection | undefined {
    if (socket.destroyed) {
      release();
      return undefined;
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    const connection = new SpdyConnection(socket, "server", head);
    this.spdyConnections.add(connection);
    connection.once("close", () => this.spdyConnections.delete(connection));
    return connection;
  }
}

function isPortForward(req: IncomingMessage): boolean {
  return new URL(req.url ?? "/", "https://kubelet").pathname.startsWith("/portForward/");
}

/**
 * The first of the client's X-Stream-Protocol-Version offers (in its order) that this kubelet
 * speaks; 400 without offers and 403 without a match, as the kubelet's handshake answers.
 */
function negotiateStreamProtocol<P extends string>(req: IncomingMessage, supported: readonly P[]): P {
  const offered = req.headersDistinct["x-stream-protocol-version"]?.flatMap((v) => v.split(",")) ?? [];
  const clean = offered.map((p) => p.trim()).filter((p) => p !== "");
  if (clean.length === 0)
    throw new HttpFailure(400, "unable to upgrade: X-Stream-Protocol-Version is required");
  const found = clean.map((p) => supported.find((s) => s === p)).find((p) => p !== undefined);
  if (found) return found;
  throw new HttpFailure(
    403,
    `unable to upgrade: unable to negotiate protocol: client supports [${clean.join(" ")}], server accepts [${supported.join(" ")}]`,
    supported.map((p) => ["X-Accepted-Stream-Protocol-Versions", p]),
  );
}

/** Read a stream to its end (or failure), handing every chunk over. */
function drain(stream: Readable | undefined, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve) => {
    if (!stream) return resolve();
    stream.on("data", onChunk);
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) })
    .end(text);
}

/** An application/x-www-form-urlencoded body (the kubelet reads /run's cmd from the form too). */
async function formParams(req: IncomingMessage): Promise<URLSearchParams> {
  const type = String(req.headers["content-type"] ?? "")
    .split(";")[0]
    ?.trim();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1 << 20) throw new HttpFailure(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  if (type !== "application/x-www-form-urlencoded") return new URLSearchParams();
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function merge(a: URLSearchParams, b: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams(a);
  for (const [k, v] of b) out.append(k, v);
  return out;
}
