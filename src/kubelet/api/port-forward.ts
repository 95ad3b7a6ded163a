/**
 * Port-forward (/portForward/{ns}/{pod}), both ways a kubelet serves it:
 * - SPDY/3.1 (`portforward.k8s.io`, what API servers send): the client opens a pair of streams
 *   per forwarded connection — `streamType` error and data, the same `port` and `requestID` — and
 *   every complete pair becomes one connection to the pod's port. A failure is reported on the
 *   pair's error stream as the kubelet does ({"message": …, "closeConnection": …}).
 * - WebSocket (`v4.channel.k8s.io`, or no subprotocol; for direct clients): the `ports` query
 *   names the ports, port i gets data channel 2i and error channel 2i+1, and the first message on
 *   each channel is the port number (16 bits, little-endian). The socket closes when every
 *   port's connection has ended.
 * The API layer knows nothing of engines: PodPorts.dial is the provider's way to the pod.
 */
import { PassThrough, type Duplex } from "node:stream";
import type { RawData, WebSocket } from "ws";
import { errorMessage } from "../../errors.js";
import type { PodPorts, PodRef } from "../provider-api.js";
import { frame } from "./channels.js";
import { parsePort } from "./params.js";
import type { SpdyConnection, SpdyStream } from "./spdy/connection.js";
import { STREAM_CREATION_TIMEOUT_MS } from "./spdy-exec.js";

export const PORT_FORWARD_PROTOCOL = "portforward.k8s.io";
export const WS_PORT_FORWARD_PROTOCOLS = ["v4.channel.k8s.io"] as const;

/** WebSocket output queued before the pod's side is paused. */
const MAX_BUFFERED = 1 << 20;

function failureText(port: number, ref: PodRef, uid: string, err: unknown): string {
  return `error forwarding port ${port} to pod ${ref.namespace}/${ref.pod}, uid ${uid}: ${errorMessage(err)}`;
}

/** A connection the pod's side reset or stopped reading: the kubelet keeps the forwarding up. */
function isConnectionDrop(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}

/**
 * Bytes both ways between the client's side and the pod's connection until the pod's side
 * closes; resolves with the error that ended it, if any.
 */
function relay(client: Duplex, target: Duplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let failure: Error | undefined;
    client.pipe(target);
    target.pipe(client);
    target.once("error", (err: Error) => (failure = err));
    target.once("close", () => resolve(failure));
    client.once("error", () => target.destroy());
    client.once("close", () => target.destroy());
  });
}

interface StreamPair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Serve port-forward streams on an upgraded SPDY connection until the client closes it. */
export function serveSpdyPortForward(
  connection: SpdyConnection,
  ref: PodRef,
  ports: PodPorts,
  timeoutMs = STREAM_CREATION_TIMEOUT_MS,
): void {
  const pairs = new Map<string, StreamPair>();

  const forward = async (port: number, data: SpdyStream, error: SpdyStream) => {
    error.resume();
    let failure: unknown;
    try {
      failure = await relay(data, await ports.dial(port));
    } catch (err) {
      failure = err;
    }
    if (failure !== undefined) {
      const answer = {
        message: failureText(port, ref, ports.uid, failure),
        closeConnection: !isConnectionDrop(failure),
      };
      error.write(JSON.stringify(answer) + "\n");
    }
    error.end();
    if (!data.writableEnded) data.end();
  };

  connection.on("stream", (stream) => {
    const type = stream.header("streamtype");
    const port = parsePort(stream.header("port"));
    if (port === undefined || (type !== "data" && type !== "error")) {
      stream.destroy();
      return;
    }
    // Clients that predate requestID: an error stream and the data stream right after it pair up.
    const requestId = stream.header("requestid") ?? String(type === "error" ? stream.id : stream.id - 2);
    void stream.reply().catch(() => undefined);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestId);
        pair?.error?.end(`timed out waiting for the data and error streams of request ${requestId}`);
        pair?.data?.destroy();
      }, timeoutMs);
      pair = { timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      pair.error?.write(`error processing stream for request ${requestId}: ${type} stream already assigned`);
      stream.destroy();
      return;
    }
    pair[type] = stream;
    const { data, error } = pair;
    if (data && error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(port, data, error);
    }
  });
  connection.once("close", () => {
    for (const pair of pairs.values()) clearTimeout(pair.timer);
  });
}

/** Serve the ports of a WebSocket port-forward; resolves once every port's connection ended. */
export async function relayWebSocketPortForward(
  ws: WebSocket,
  ref: PodRef,
  ports: PodPorts,
  list: number[],
): Promise<void> {
  // What the client sends before (or while) a port's connection is being made waits here.
  const inbound = list.map(() => new PassThrough());
  const targets: Duplex[] = [];
  const send = (data: Buffer, source?: Duplex) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(data, { binary: true }, () => {
      if (ws.bufferedAmount < MAX_BUFFERED / 2) source?.resume();
    });
    if (ws.bufferedAmount >= MAX_BUFFERED) source?.pause();
  };
  ws.on("message", (message: RawData) => {
    const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message as ArrayBuffer);
    const channel = bytes[0];
    if (channel === undefined || channel % 2 !== 0) return;
    inbound[channel / 2]?.write(bytes.subarray(1));
  });
  ws.once("close", () => {
    for (const stream of [...inbound, ...targets]) stream.destroy();
  });

  list.forEach((port, i) => {
    const number = Buffer.alloc(2);
    number.writeUInt16LE(port);
    send(frame(2 * i, number));
    send(frame(2 * i + 1, number));
  });
  await Promise.all(
    list.map(async (port, i) => {
      let failure: unknown;
      try {
        const target = await ports.dial(port);
        targets.push(target);
        const input = inbound[i] as PassThrough;
        input.pipe(target);
        target.on("data", (chunk: Buffer) => send(frame(2 * i, chunk), target));
        failure = await new Promise<Error | undefined>((resolve) => {
          let error: Error | undefined;
          target.once("error", (err: Error) => (error = err));
          target.once("close", () => resolve(error));
        });
      } catch (err) {
        failure = err;
      }
      if (failure !== undefined) send(frame(2 * i + 1, failureText(port, ref, ports.uid, failure)));
    }),
  );
  if (ws.readyState === ws.OPEN) ws.close(1000);
}
