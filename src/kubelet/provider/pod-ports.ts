/**
 * Port-forward's way into a pod. The container holding the pod's network namespace (its infra
 * container, else its one container; on a VCH, its first container) has the IP that reaches every
 * container's ports. The kubelet dials that IP:port itself, which works wherever the engine's
 * container network is routable from the kubelet — the engine on the same machine, or a route to
 * its bridge. Elsewhere the dial fails, and the error says so instead of hanging; with
 * `--pod-network relay` connections go through a forwarder exec'd in that container instead
 * (pod-relay.ts).
 */
import { connect, type Socket } from "node:net";
import { StreamingError, type PodPorts, type PodRef } from "../provider-api.js";
import type { PodEngine } from "./engine.js";
import { networkHolder, type PodCache } from "./pod-cache.js";
import { findPod } from "./pod-streams.js";
import { RelayConnectError, type PodRelay } from "./pod-relay.js";
import { errorMessage } from "../../errors.js";

const CONNECT_TIMEOUT_MS = 5_000;
const UNREACHABLE = new Set(["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);

export class PodPortDialer {
  constructor(
    private readonly engine: PodEngine,
    private readonly cache: PodCache,
    /** Relay mode: connections go through a forwarder exec'd in the pod (pod-relay.ts), not to its IP. */
    private readonly relay?: PodRelay,
    private readonly connectTimeoutMs = CONNECT_TIMEOUT_MS,
  ) {}

  async open(ref: PodRef): Promise<PodPorts> {
    const entry = findPod(this.cache, ref);
    const holder = networkHolder(entry);
    const details = holder ? await this.engine.inspectContainer(holder) : undefined;
    if (!details || details.state.status !== "running")
      throw new StreamingError(`pod "${ref.pod}" is not running: port-forward needs a running pod`, 400);
    const relay = this.relay;
    if (relay && holder) {
      return {
        uid: entry.uid,
        dial: (port) =>
          relay.dial(holder, port, this.connectTimeoutMs).catch((err: unknown) => {
            throw new StreamingError(relayFailure(port, err), 503, { cause: err });
          }),
      };
    }
    const ip = details.ipAddress;
    if (!ip) throw new StreamingError(`pod "${ref.pod}" has no IP address on the engine's networks`, 400);
    return { uid: entry.uid, dial: (port) => dial(ip, port, this.connectTimeoutMs) };
  }
}

async function dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
  try {
    return await connectWithin(host, port, timeoutMs);
  } catch (err) {
    const cause = err as Error & { code?: string };
    throw new StreamingError(dialFailure(host, port, cause), 503, { cause });
  }
}

/** A TCP connection to host:port, or the connection error (ETIMEDOUT after timeoutMs). */
export function connectWithin(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(
      () => fail(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" })),
      timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

function relayFailure(port: number, err: unknown): string {
  if (err instanceof RelayConnectError && err.errno === 111)
    return `nothing listens on port ${port} in the pod (refused, through the relay)`;
  return `through the relay: ${errorMessage(err)}`;
}

function dialFailure(host: string, port: number, err: Error & { code?: string }): string {
  if (err.code === "ECONNREFUSED")
    return `nothing listens on port ${port} in the pod (${host}:${port} refused)`;
  if (err.code && UNREACHABLE.has(err.code))
    return (
      `the pod's IP ${host} is not reachable from this kubelet (${err.code}): port-forward dials the pod ` +
      "directly, so the kubelet must run where the engine's container network is routable (e.g. on the engine's machine)"
    );
  return `dial ${host}:${port}: ${err.message}`;
}
