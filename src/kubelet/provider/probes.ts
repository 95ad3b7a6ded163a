/**
 * One run of a container probe, as a kubelet runs it: exec through the engine (exit 0 is
 * success), tcpSocket (a connection is success) and httpGet (200–399 is success; HTTPS is not
 * verified, as a kubelet does not). tcpSocket and httpGet dial the pod's IP (or the probe's
 * host) from the kubelet, so they need the pod network to be routable from it: true for a VCH's
 * container networks and for an engine on the kubelet's machine. gRPC probes are not run.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { errorMessage } from "../../errors.js";
import type { Container, Probe } from "../kube/types.js";
import type { StreamingEngine } from "./engine.js";
import { connectWithin } from "./pod-ports.js";

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed (the command's output, the HTTP status, the connection error). */
  message: string;
}

export interface ProbeTarget {
  containerId: string;
  container: Container;
  /** Where tcpSocket and httpGet probes dial when they name no host. */
  podIP: string | undefined;
  /** In relay mode (pod-relay.ts): a connection to a port inside the pod's network, used instead of podIP. */
  dial?: (port: number, timeoutMs: number) => Promise<Duplex>;
}

/** Output kept from an exec probe (a kubelet keeps 10 KiB). */
const MAX_OUTPUT = 10 * 1024;

export function timeoutMsOf(probe: Probe): number {
  return Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
}

export function runProbe(
  engine: Pick<StreamingEngine, "exec">,
  probe: Probe,
  target: ProbeTarget,
): Promise<ProbeOutcome> {
  return runHandler(engine, probe, target, timeoutMsOf(probe));
}

/** One exec, httpGet or tcpSocket handler (a probe's, or a lifecycle hook's) within timeoutMs. */
export async function runHandler(
  engine: Pick<StreamingEngine, "exec">,
  probe: Pick<Probe, "exec" | "httpGet" | "tcpSocket" | "grpc">,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  if (probe.exec) return execProbe(engine, target.containerId, probe.exec.command ?? [], timeoutMs);
  if (probe.tcpSocket || probe.httpGet) {
    const spec = (probe.tcpSocket ?? probe.httpGet) as { port: number | string; host?: string };
    const port = resolvePort(spec.port, target.container);
    if (port === undefined) return { ok: false, message: `port ${spec.port} is not a port of the container` };
    const dial = spec.host ? undefined : target.dial;
    const host = spec.host ?? (dial ? "localhost" : target.podIP);
    if (!host) return { ok: false, message: "the pod has no IP address yet" };
    return probe.httpGet
      ? httpProbe(probe.httpGet, host, port, timeoutMs, dial)
      : tcpProbe(host, port, timeoutMs, dial);
  }
  // gRPC: not run. It counts as passing (the manager says so once in an event) rather than
  // holding the pod unready or restarting it for a check that never ran.
  return { ok: true, message: "" };
}

/** A number, or the name of one of the container's ports. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === "number") return port > 0 && port < 65536 ? port : undefined;
  if (/^\d+$/.test(port)) return resolvePort(Number(port), container);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

async function execProbe(
  engine: Pick<StreamingEngine, "exec">,
  containerId: string,
  command: string[],
  timeoutMs: number,
): Promise<ProbeOutcome> {
  if (command.length === 0) return { ok: false, message: "exec probe without a command" };
  let timer: NodeJS.Timeout | undefined;
  try {
    const session = await engine.exec(containerId, command, {
      stdin: false,
      stdout: true,
      stderr: true,
      tty: true, // one plain stream (stdout and stderr merged), as the probe's message shows it
    });
    const output = new Promise<string>((resolve, reject) => {
      let text = "";
      session.stream.on("data", (chunk: Buffer) => {
        if (text.length < MAX_OUTPUT) text += chunk.toString("utf8");
      });
      session.stream.on("end", () => resolve(text.slice(0, MAX_OUTPUT)));
      session.stream.on("close", () => resolve(text.slice(0, MAX_OUTPUT)));
      session.stream.on("error", reject);
    });
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const text = await Promise.race([output, timedOut]);
    if (text === "timeout") {
      session.stream.destroy();
      return { ok: false, message: `command timed out after ${timeoutMs / 1000}s` };
    }
    const code = await session.exitCode();
    return code === 0
      ? { ok: true, message: text.trim() }
      : { ok: false, message: text.trim() || `command exited with code ${code ?? "unknown"}` };
  } catch (err) {
    return { ok: false, message: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  dial: ProbeTarget["dial"],
): Promise<ProbeOutcome> {
  try {
    (await (dial ? dial(port, timeoutMs) : connectWithin(host, port, timeoutMs))).destroy();
    return { ok: true, message: "" };
  } catch (err) {
    const { code, message } = err as Error & { code?: string };
    return {
      ok: false,
      message: `dial tcp ${host}:${port}: ${code === "ETIMEDOUT" ? "i/o timeout" : message}`,
    };
  }
}

function httpProbe(
  spec: NonNullable<Probe["httpGet"]>,
  host: string,
  port: number,
  timeoutMs: number,
  dial?: ProbeTarget["dial"],
): Promise<ProbeOutcome> {
  const https = spec.scheme === "HTTPS";
  const headers: Record<string, string> = { "User-Agent": "kube-probe/dinv", Accept: "*/*" };
  for (const h of spec.httpHeaders ?? []) headers[h.name] = h.value;
  const path = spec.path ? (spec.path.startsWith("/") ? spec.path : `/${spec.path}`) : "/";
  const url = `${https ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
  return new Promise((resolve) => {
    // Through the relay: the request rides the exec's stdin/stdout (TLS on top for HTTPS).
    const createConnection = dial
      ? (_opts: unknown, done: (err: Error | null, socket: Duplex) => void) => {
          dial(port, timeoutMs).then(
            (conn) => done(null, https ? tlsConnect({ socket: conn, rejectUnauthorized: false }) : conn),
            // Node passes no socket with an error.
            (err: Error) => done(err, undefined as unknown as Duplex),
          );
          return undefined;
        }
      : undefined;
    const options = {
      host,
      port,
      path,
      method: "GET",
      headers,
      // Node uses createConnection only without an agent (agent: false would make one of its own).
      ...(createConnection ? { createConnection } : { agent: false as const }),
    };
    const req = (https ? httpsRequest({ ...options, rejectUnauthorized: false }) : httpRequest(options)).on(
      "response",
      (res) => {
        clearTimeout(deadline);
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(
          status >= 200 && status < 400
            ? { ok: true, message: "" }
            : { ok: false, message: `HTTP probe failed with statuscode: ${status}` },
        );
      },
    );
    // A deadline of its own, not the socket's idle timeout: the relay's connection is no net.Socket.
    const deadline = setTimeout(() => req.destroy(new Error("context deadline exceeded")), timeoutMs);
    req.on("error", (err) => {
      clearTimeout(deadline);
      resolve({ ok: false, message: `Get "${url}": ${err.message}` });
    });
    req.end();
  });
}
