import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { connect } from "../engine/client.js";
import { hostEngineEndpoint, hostUrl } from "../engine/host-endpoints.js";
import { waitForPing } from "../engine/wait.js";
import { DinvError } from "../errors.js";
import type { HostConfig } from "../store/host-config.js";
import type { ReadyCheck } from "./manifest.js";
import type { ServiceProtocol } from "./personality.js";

/** The readiness check a manifest without `ready` gets, by its protocol. */
export function defaultReadyCheck(protocol: ServiceProtocol): ReadyCheck {
  if (protocol === "docker") return { check: "docker-ping" };
  if (protocol === "https") return { check: "https", path: "/", status: [200] };
  return { check: "tls" };
}

/** Resolve once the host's service passes the check, over TLS verified against the store's CA. */
export async function waitUntilReady(
  check: ReadyCheck,
  config: HostConfig,
  hostDir: string,
  timeoutMs: number,
): Promise<void> {
  if (check.check === "docker-ping") {
    return waitForPing(connect(hostEngineEndpoint(config, hostDir), { timeoutMs: 5_000 }), { timeoutMs });
  }
  const tls = {
    ca: readFileSync(join(hostDir, config.files.ca)),
    cert: readFileSync(join(hostDir, config.files.clientCert)),
    key: readFileSync(join(hostDir, config.files.clientKey)),
  };
  const target = { host: config.network.address, port: config.network.port, tls };
  const probe =
    check.check === "https"
      ? async () => {
          const status = await httpsGet(target, check.path, 5_000);
          if (!check.status.includes(status)) throw new Error(`GET ${check.path} answered ${status}`);
        }
      : () => tlsHandshake(target, 5_000);
  const deadline = Date.now() + timeoutMs;
  let interval = 25;
  let last = "no answer yet";
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + interval > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 200);
  }
  const url = hostUrl(config).replace(/^tcp:/, "https:");
  throw new DinvError(
    `the service at ${url} did not answer within ${Math.round(timeoutMs / 1000)}s (last: ${last})`,
    { hint: `see its log with \`dinv logs ${config.name}\`` },
  );
}

interface Target {
  host: string;
  port: number;
  tls: { ca: Buffer; cert: Buffer; key: Buffer };
}

function httpsGet(target: Target, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.port,
        path,
        method: "GET",
        ...target.tls,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

function tlsHandshake(target: Target, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: target.host, port: target.port, ...target.tls, timeout: timeoutMs },
      () => {
        socket.end();
        resolve();
      },
    );
    socket.on("timeout", () => socket.destroy(new Error(`no handshake within ${timeoutMs} ms`)));
    socket.on("error", reject);
  });
}
