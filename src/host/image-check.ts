/**
 * `dinv image check IMAGE`: does an image keep the host image contract (docs/host-image.md)?
 * What its config says (labels, port, volume, init), then what it does on the endpoint: it
 * refuses to serve without certificates and says why, serves TLS only with them, applies
 * daemon.json, keeps its engine on the cache volume, and stops on SIGTERM in time. The
 * behaviour is checked with a throw-away host in a store of its own, removed afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, call } from "../engine/client.js";
import { ulimitsHostConfig } from "../engine/container-rights.js";
import { detectEngine } from "../engine/flavor.js";
import { chooseUlimits } from "../engine/privilege.js";
import { engineHttp } from "../engine/http-client.js";
import { hostEngineEndpoint } from "../engine/host-endpoints.js";
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { errorMessage } from "../errors.js";
import { HostStore } from "../store/host-store.js";
import { createHost } from "./create.js";
import { ensureImage } from "./image-pull.js";
import { silentProgress, type Progress } from "./progress.js";
import { removeHost } from "./remove.js";

/** The contract versions this dinv drives (the image's io.dinv.image.contract label). */
export const SUPPORTED_CONTRACTS = ["1"];
const TLS_PORT = "2376/tcp";
const DATA_DIR = "/var/lib/docker";
const INITS = /(^|\/)(tini|tini-static|dumb-init|docker-init|catatonit)$/;

export interface CheckResult {
  check: string;
  ok: boolean;
  detail?: string;
}

interface ImageConfig {
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown> | null;
  Volumes?: Record<string, unknown> | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
}

/** The contract's static part, from the image's config alone. */
export function checkImageConfig(config: ImageConfig): CheckResult[] {
  const contract = config.Labels?.["io.dinv.image.contract"];
  const first = (config.Entrypoint?.[0] ?? config.Cmd?.[0] ?? "").trim();
  return [
    {
      check: "label io.dinv.image.contract names a contract this dinv drives",
      ok: contract !== undefined && SUPPORTED_CONTRACTS.includes(contract),
      detail:
        contract === undefined
          ? "no such label"
          : `contract ${contract}; supported: ${SUPPORTED_CONTRACTS.join(", ")}`,
    },
    {
      check: `exposes ${TLS_PORT} (dockerd's TLS port)`,
      ok: Object.keys(config.ExposedPorts ?? {}).includes(TLS_PORT),
      detail: `exposes ${Object.keys(config.ExposedPorts ?? {}).join(", ") || "nothing"}`,
    },
    {
      check: `declares ${DATA_DIR} a volume (the image cache)`,
      ok: Object.keys(config.Volumes ?? {}).includes(DATA_DIR),
      detail: `volumes: ${Object.keys(config.Volumes ?? {}).join(", ") || "none"}`,
    },
    {
      check: "runs an init as PID 1 that forwards signals (tini or the like)",
      ok: INITS.test(first),
      detail: `PID 1 would be ${first || "nothing"}`,
    },
  ];
}

/** A plain-HTTP request to the TLS port must not be served (the contract has no plain 2375/2376). */
function plainHttpRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: "/_ping", timeout: 5_000 }, (res) => {
      res.resume();
      // Go's TLS server answers an HTTP request with 400 "Client sent an HTTP request to an HTTPS server".
      resolve(res.statusCode === 400);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(true));
    req.end();
  });
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
}

/** Every check, in order; a failed behaviour check ends the run where later ones make no sense. */
export async function checkImage(
  image: string,
  endpointFlags: EndpointFlags,
  progress: Progress = silentProgress,
): Promise<CheckResult[]> {
  const endpoint = resolveEndpoint(endpointFlags);
  const client = connect(endpoint, { timeoutMs: 60_000 });
  const profile = await detectEngine(client);
  const inspected = await ensureImage(client, image, profile, progress);
  const results = checkImageConfig(inspected.Config as ImageConfig);
  const root = mkdtempSync(join(tmpdir(), "dinv-image-check-"));
  const store = new HostStore(root);
  const name = `check-${process.pid}`;
  const add = (check: string, ok: boolean, detail?: string) =>
    results.push({ check, ok, ...(detail ? { detail } : {}) });
  try {
    // Without certificates: it must exit on its own, saying why, rather than serve without TLS.
    // With the limits dinv's hosts get where the engine's defaults exceed the host's (Podman here).
    const ulimits = await chooseUlimits(client, profile, image);
    const bare = await call(client, () =>
      client.docker.createContainer({
        Image: image,
        Env: ["DINV_CERT_WAIT=2"],
        Labels: { "io.dinv.image-check": name },
        HostConfig: ulimitsHostConfig(ulimits),
      }),
    );
    try {
      await call(client, () => bare.start());
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        bare.wait() as Promise<{ StatusCode: number }>,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 20_000))),
      ]).finally(() => clearTimeout(timer));
      const logs = (await bare.logs({ stdout: true, stderr: true })).toString("utf8");
      add(
        "without certificates it exits, naming what is missing",
        exit !== undefined && exit.StatusCode !== 0 && /cert/i.test(logs),
        exit === undefined ? "still running after 20 s" : `exit ${exit.StatusCode}`,
      );
    } finally {
      await bare.remove({ force: true, v: true }).catch(() => undefined);
    }

    progress.step("creating a throw-away host from the image");
    const { value: config, ms: createMs } = await timed(() =>
      createHost(
        store,
        {
          name,
          endpoint: endpointFlags,
          image,
          engine: { engineLabel: ["io.dinv.image-check=1"] },
          timeoutSeconds: 60,
          keepOnFailure: false,
          dockerContext: false,
        },
        silentProgress,
      ),
    );
    progress.done(`${createMs} ms`);
    add(
      "with certificates copied in it serves the Docker API over verified TLS",
      true,
      `ready ${createMs} ms after create began`,
    );
    const hostDir = store.hostDir(name);
    const engine = engineHttp(hostEngineEndpoint(config, hostDir), { timeoutMs: 10_000 });
    const info = await engine.get<{ Labels?: string[]; Driver?: string }>("/info");
    add(
      "reads its engine options from /etc/docker/daemon.json",
      (info.Labels ?? []).includes("io.dinv.image-check=1"),
      `labels: ${(info.Labels ?? []).join(", ")}`,
    );
    add(
      `keeps its engine's data on the ${DATA_DIR} volume (not vfs)`,
      info.Driver !== undefined && info.Driver !== "vfs",
      `storage driver ${info.Driver ?? "unknown"}`,
    );
    add(
      "refuses plain HTTP on its TLS port",
      await plainHttpRefused(config.network.address, config.network.port),
    );
    const container = client.docker.getContainer(config.container.name);
    const { ms: stopMs } = await timed(() => call(client, () => container.stop({ t: 20 })));
    const state = await container.inspect();
    add(
      "stops on SIGTERM before the 20 s grace runs out",
      stopMs < 19_000 && state.State.ExitCode !== 137,
      `stopped in ${stopMs} ms, exit ${state.State.ExitCode}`,
    );
  } catch (err) {
    add("the image ran as a host on the endpoint", false, errorMessage(err));
  } finally {
    if (store.exists(name))
      await removeHost(store, name, { force: true, keepCache: false, fallbackEndpoint: endpointFlags }).catch(
        () => undefined,
      );
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}
