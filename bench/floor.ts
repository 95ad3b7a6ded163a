/**
 * The floor: the least work that makes the same host as `dinv create`, on the raw engine
 * API with no library in between — openssl for an EC server certificate, volume create,
 * container create (same image, same explicit privilege flags, a published loopback port),
 * archive copy of the files before start, start, then a TLS-verified /_ping polled every
 * 10 ms until it answers. Run as its own process (`node dist/bench/floor.js create '<json>'`)
 * so that it is timed the same way as the CLI, from spawn to exit; it prints its step times.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { pathToFileURL } from "node:url";
import { EXPLICIT_PRIVILEGE } from "../src/engine/container-rights.js";
import { daemonJson } from "../src/personalities/daemon-json.js";
import { rawEngine, type RawEngine } from "./lib/engine.js";
import { issueFloorServer, type FloorPki } from "./lib/pki.js";
import { tar } from "./lib/tar.js";

export const FLOOR_LABEL = "io.dinv.bench";

export interface FloorCreateInput {
  engine: string;
  runId: string;
  name: string;
  image: string;
  pki: FloorPki;
  /** Per-host folder for the server certificate. */
  dir: string;
  /** The cache volume exists already (a re-create over a kept cache). */
  reuseVolume?: boolean;
  privilege?: "explicit" | "privileged";
}

export interface FloorStartInput {
  engine: string;
  container: string;
  port: number;
  pki: FloorPki;
}

export interface FloorResult {
  /** Milliseconds since the process started, when the floor's own code began. */
  startup: number;
  steps: Record<string, number>;
  container?: string;
  volume?: string;
  port?: number;
  /** TLS pings sent until one answered. */
  polls?: number;
}

/** The same defaults dinv writes into a host's daemon.json. */
export const DAEMON_JSON = daemonJson({ daemon: {}, flags: [], env: {} });

export function floorNames(name: string): { container: string; volume: string } {
  return { container: `floor-${name}`, volume: `floor-${name}-cache` };
}

function stepper() {
  const steps: Record<string, number> = {};
  let last = performance.now();
  return {
    steps,
    mark(step: string) {
      const now = performance.now();
      steps[step] = now - last;
      last = now;
    },
  };
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** One TLS-verified GET /_ping; resolves true on 200. */
function pingOnce(port: number, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/_ping", ...tls, agent: false, timeout: 1_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

async function waitForTls(port: number, pki: FloorPki, timeoutMs = 60_000): Promise<number> {
  const tls = {
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
  };
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    if (await pingOnce(port, tls)) return attempts;
    if (Date.now() > deadline)
      throw new Error(`127.0.0.1:${port} did not answer over TLS in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function floorCreate(input: FloorCreateInput, engine?: RawEngine): Promise<FloorResult> {
  const startup = performance.now();
  const api = engine ?? rawEngine(input.engine);
  const { steps, mark } = stepper();
  const names = floorNames(input.name);
  const labels = {
    "io.dinv.host": input.name,
    "io.dinv.personality": "docker",
    [FLOOR_LABEL]: input.runId,
  };
  try {
    const server = await issueFloorServer(input.pki, input.dir);
    const port = await freeLoopbackPort();
    mark("certificate");
    if (!input.reuseVolume) {
      await api.call("POST", "/volumes/create", {
        Name: names.volume,
        Labels: { ...labels, "io.dinv.role": "cache" },
      });
      mark("volume");
    }
    const created = await api.call<{ Id: string }>("POST", `/containers/create?name=${names.container}`, {
      Image: input.image,
      Labels: { ...labels, "io.dinv.role": "host" },
      Env: [],
      Hostname: input.name,
      ExposedPorts: { "2376/tcp": {} },
      HostConfig: {
        ...(input.privilege === "privileged" ? { Privileged: true } : EXPLICIT_PRIVILEGE),
        Mounts: [{ Type: "volume", Source: names.volume, Target: "/var/lib/docker" }],
        RestartPolicy: { Name: "unless-stopped" },
        Init: false,
        PortBindings: { "2376/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
      },
    });
    mark("container create");
    const archive = tar([
      { name: "etc/", mode: 0o755 },
      { name: "etc/docker/", mode: 0o755 },
      { name: "etc/docker/daemon.json", mode: 0o644, body: `${JSON.stringify(DAEMON_JSON, null, 2)}\n` },
      { name: "etc/docker/dockerd.env", mode: 0o600, body: "" },
      { name: "certs/", mode: 0o700 },
      { name: "certs/server/", mode: 0o700 },
      { name: "certs/server/ca.pem", mode: 0o644, body: readFileSync(input.pki.ca) },
      { name: "certs/server/cert.pem", mode: 0o644, body: readFileSync(server.cert) },
      { name: "certs/server/key.pem", mode: 0o600, body: readFileSync(server.key) },
    ]);
    await api.call("PUT", `/containers/${created.Id}/archive?path=/`, archive);
    mark("archive copy");
    await api.call("POST", `/containers/${created.Id}/start`);
    mark("start");
    const polls = await waitForTls(port, input.pki);
    mark("TLS ping");
    return { startup, steps, container: created.Id, volume: names.volume, port, polls };
  } finally {
    if (!engine) api.close();
  }
}

export async function floorStart(input: FloorStartInput, engine?: RawEngine): Promise<FloorResult> {
  const startup = performance.now();
  const api = engine ?? rawEngine(input.engine);
  const { steps, mark } = stepper();
  try {
    await api.call("POST", `/containers/${input.container}/start`);
    mark("start");
    const polls = await waitForTls(input.port, input.pki);
    mark("TLS ping");
    return { startup, steps, container: input.container, port: input.port, polls };
  } finally {
    if (!engine) api.close();
  }
}

async function cli(argv: string[]): Promise<void> {
  const [command, json] = argv;
  if (!json || (command !== "create" && command !== "start")) {
    process.stderr.write("usage: floor.js create|start '<json input>'\n");
    process.exitCode = 2;
    return;
  }
  const result =
    command === "create"
      ? await floorCreate(JSON.parse(json) as FloorCreateInput)
      : await floorStart(JSON.parse(json) as FloorStartInput);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`floor: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
