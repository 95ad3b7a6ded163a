/**
 * exec and attach over SPDY/3.1, as API servers reach kubelets: after the upgrade the client opens
 * one stream per channel, named by its `streamType` header (error, stdin, stdout, stderr, and
 * resize with a terminal from v3 on). Once every expected stream is there the session is relayed;
 * at the end the error stream carries the outcome — v4: a Status (NonZeroExitCode with the
 * ExitCode cause), older versions: the failure's text, nothing on success — and the connection
 * ends with GOAWAY.
 */
import { finished } from "node:stream/promises";
import type { Readable } from "node:stream";
import { errorMessage } from "../../errors.js";
import type { ContainerSession, StreamOptions } from "../provider-api.js";
import { exitStatus, failureStatus, parseResize, successStatus, type V4Status } from "./channels.js";
import type { SpdyConnection, SpdyStream } from "./spdy/connection.js";

/** The remote command protocols a kubelet accepts over SPDY, newest first. */
export const SPDY_EXEC_PROTOCOLS = [
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;
export type SpdyExecProtocol = (typeof SPDY_EXEC_PROTOCOLS)[number];

/** How long the client has to open its streams after the upgrade (the kubelet's default). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

type StreamType = "error" | "stdin" | "stdout" | "stderr" | "resize";

/** The streams this request needs: error always, the asked-for ones, resize with a tty from v3. */
export function expectedStreams(protocol: SpdyExecProtocol, options: StreamOptions): Set<StreamType> {
  const types = new Set<StreamType>(["error"]);
  if (options.stdin) types.add("stdin");
  if (options.stdout) types.add("stdout");
  if (options.stderr) types.add("stderr");
  if (options.tty && (protocol === "v4.channel.k8s.io" || protocol === "v3.channel.k8s.io"))
    types.add("resize");
  return types;
}

/** What the error stream says at the end, per protocol version; empty for a v1–v3 success. */
export function errorStreamText(protocol: SpdyExecProtocol, status: V4Status): string {
  if (protocol === "v4.channel.k8s.io") return JSON.stringify(status);
  return status.status === "Success" ? "" : (status.message ?? "error executing remote command");
}

/** Accept the client's streams until every expected one is there (or the time is up). */
function collectStreams(
  connection: SpdyConnection,
  expected: Set<StreamType>,
  timeoutMs: number,
): Promise<Map<StreamType, SpdyStream>> {
  const streams = new Map<StreamType, SpdyStream>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      const missing = [...expected].filter((t) => !streams.has(t));
      reject(
        Object.assign(
          new Error(`timed out waiting for the client to create streams: ${missing.join(", ")}`),
          { streams },
        ),
      );
    }, timeoutMs);
    const onClose = () => {
      cleanup();
      reject(Object.assign(new Error("the client went away before creating its streams"), { streams }));
    };
    const onStream = (stream: SpdyStream) => {
      const type = stream.header("streamtype") as StreamType | undefined;
      if (!type || !expected.has(type) || streams.has(type)) {
        stream.destroy();
        return;
      }
      void stream.reply().catch(() => undefined);
      streams.set(type, stream);
      if (streams.size === expected.size) {
        cleanup();
        resolve(streams);
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      connection.off("stream", onStream);
      connection.off("close", onClose);
    };
    connection.on("stream", onStream);
    connection.once("close", onClose);
  });
}

/** Terminal sizes on the resize stream: one JSON object per line ({"Width":80,"Height":24}). */
function followResizes(stream: SpdyStream, session: ContainerSession): void {
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const size = parseResize(Buffer.from(pending.slice(0, newline)));
      pending = pending.slice(newline + 1);
      if (size) session.resize(size).catch(() => undefined);
      newline = pending.indexOf("\n");
    }
  });
}

async function untilEnded(stream: Readable | undefined): Promise<void> {
  if (stream) await finished(stream).catch(() => undefined);
}

/**
 * Relay one exec/attach session over an upgraded SPDY connection until the process ends (then
 * the outcome on the error stream, FIN on every stream and GOAWAY) or the client goes away (then
 * the session is abandoned).
 */
export async function relaySpdySession(
  connection: SpdyConnection,
  protocol: SpdyExecProtocol,
  session: ContainerSession,
  options: StreamOptions,
  timeoutMs = STREAM_CREATION_TIMEOUT_MS,
): Promise<void> {
  connection.once("close", () => session.close());
  let streams: Map<StreamType, SpdyStream>;
  try {
    streams = await collectStreams(connection, expectedStreams(protocol, options), timeoutMs);
  } catch (err) {
    const error = (err as { streams?: Map<StreamType, SpdyStream> }).streams?.get("error");
    error?.end(errorStreamText(protocol, failureStatus(errorMessage(err))));
    session.close();
    await connection.close();
    throw err;
  }
  const stdin = streams.get("stdin");
  if (stdin && session.stdin) stdin.pipe(session.stdin);
  else stdin?.resume();
  const resize = streams.get("resize");
  if (resize) followResizes(resize, session);
  // Output streams: the client sends nothing on them, but their readable side must not fill up.
  for (const type of ["stdout", "stderr", "error"] as const) streams.get(type)?.resume();
  const stdout = streams.get("stdout");
  const stderr = streams.get("stderr");
  if (session.stdout && stdout) session.stdout.pipe(stdout);
  else stdout?.end();
  if (session.stderr && stderr) session.stderr.pipe(stderr);
  else stderr?.end();

  let status: V4Status;
  try {
    await Promise.all([untilEnded(session.stdout), untilEnded(session.stderr)]);
    const { exitCode } = await session.done;
    status = exitCode === undefined ? successStatus() : exitStatus(exitCode);
  } catch (err) {
    status = failureStatus(errorMessage(err));
  }
  if (connection.isClosed) return;
  // Output first: the client reads the outcome only after stdout and stderr ended.
  await Promise.all(
    [stdout, stderr].map((s) => (s ? finished(s, { readable: false }).catch(() => undefined) : undefined)),
  );
  streams.get("error")?.end(errorStreamText(protocol, status));
  resize?.end();
  stdin?.end();
  await connection.close();
}
