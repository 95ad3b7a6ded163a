/**
 * The WebSocket channel protocols of exec and attach (v4.channel.k8s.io, v5.channel.k8s.io):
 * every binary message starts with its channel — 0 stdin, 1 stdout, 2 stderr, 3 error,
 * 4 resize — and v5 adds 255 <channel>, "this channel is closed" (how a client ends stdin).
 * At the end the error channel carries a v4 Status: Success, or NonZeroExitCode with the exit
 * code as its ExitCode cause, which is how kubectl learns the exit status.
 */
import type { Readable } from "node:stream";
import type { RawData, WebSocket } from "ws";
import { errorMessage } from "../../errors.js";
import type { ContainerSession, StreamOptions, TerminalSize } from "../provider-api.js";

export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
export type ChannelProtocol = (typeof CHANNEL_PROTOCOLS)[number];

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

/** Sends queued before a stream is paused: output faster than the client reads waits here. */
const MAX_PENDING_SENDS = 32;

/** The first protocol the client offers that this kubelet speaks (client order decides). */
export function chooseProtocol(offered: Iterable<string>): ChannelProtocol | undefined {
  for (const p of offered) {
    const found = CHANNEL_PROTOCOLS.find((c) => c === p.trim());
    if (found) return found;
  }
  return undefined;
}

export interface V4Status {
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes: Array<{ reason: string; message: string }> };
}

export function successStatus(): V4Status {
  return { metadata: {}, status: "Success" };
}

export function exitStatus(exitCode: number): V4Status {
  if (exitCode === 0) return successStatus();
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

export function failureStatus(message: string): V4Status {
  return { metadata: {}, status: "Failure", message, reason: "InternalError", code: 500 };
}

export function frame(channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from([channel]), body]);
}

/** A resize message's payload, `{"Width":80,"Height":24}`; undefined when malformed. */
export function parseResize(payload: Buffer): TerminalSize | undefined {
  try {
    const value = JSON.parse(payload.toString("utf8")) as { Width?: unknown; Height?: unknown };
    const width = Number(value.Width);
    const height = Number(value.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Relay one session over an open WebSocket until the process ends (then the status on the error
 * channel and a normal close) or the client goes away (then the session is abandoned).
 */
export async function relaySession(
  ws: WebSocket,
  protocol: ChannelProtocol,
  session: ContainerSession,
  options: StreamOptions,
): Promise<void> {
  let pending = 0;
  const paused = new Set<Readable>();
  const send = (data: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    pending++;
    ws.send(data, { binary: true }, () => {
      pending--;
      if (pending < MAX_PENDING_SENDS / 2) for (const s of paused) s.resume();
      if (pending < MAX_PENDING_SENDS / 2) paused.clear();
    });
  };
  const pump = (stream: Readable | undefined, channel: number) =>
    new Promise<void>((resolve) => {
      if (!stream) return resolve();
      stream.on("data", (chunk: Buffer) => {
        send(frame(channel, chunk));
        if (pending >= MAX_PENDING_SENDS) {
          stream.pause();
          paused.add(stream);
        }
      });
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", resolve);
    });

  const clientGone = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  ws.on("message", (data: RawData) => {
    const message = asBuffer(data);
    if (message.length === 0) return;
    const channel = message[0];
    const payload = message.subarray(1);
    if (channel === STDIN && session.stdin && options.stdin) {
      if (!session.stdin.write(payload)) {
        ws.pause();
        session.stdin.once("drain", () => ws.resume());
      }
    } else if (channel === RESIZE) {
      const size = parseResize(payload);
      if (size) session.resize(size).catch(() => undefined);
    } else if (channel === CLOSE && protocol === "v5.channel.k8s.io" && payload[0] === STDIN) {
      session.stdin?.end();
    }
  });
  ws.once("close", () => {
    session.stdin?.end();
    session.close();
  });

  // The lowest writable channel gets an empty message: "the streams are up" (as the kubelet does).
  send(frame(options.stdout ? STDOUT : options.stderr ? STDERR : ERROR));
  const finished = Promise.all([pump(session.stdout, STDOUT), pump(session.stderr, STDERR)]).then(
    () => session.done,
  );
  const outcome = await Promise.race([
    finished.then(
      (result) => ({ status: result.exitCode === undefined ? successStatus() : exitStatus(result.exitCode) }),
      (err: unknown) => ({ status: failureStatus(errorMessage(err)) }),
    ),
    clientGone.then(() => undefined),
  ]);
  if (!outcome || ws.readyState !== ws.OPEN) return;
  send(frame(ERROR, JSON.stringify(outcome.status)));
  ws.close(1000);
}
