import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { connect, call } from "../engine/client.js";
import type { Endpoint } from "../engine/endpoint.js";
import { detectEngine } from "../engine/flavor.js";
import { choosePrivilegeMode } from "../engine/privilege.js";
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { waitForPing } from "../engine/wait.js";
import { DinvError } from "../errors.js";
import { DockerDriver, LABEL_HOST, LABEL_ROLE } from "../drivers/docker.js";
import {
  containerOptions,
  DEFAULT_HOST_IMAGE,
  DOCKER_PERSONALITY,
  filesArchive,
  serverSans,
} from "../personalities/docker/personality.js";
import { issueServerCertificate } from "../pki/certificates.js";
import { classifySan } from "../pki/sans.js";
import { HOST_CONFIG_VERSION, type HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { validateHostName } from "../store/names.js";
import { HOST_FILES } from "../store/paths.js";
import { ensurePrivateDir, writePrivateFile, writePublicFile } from "../store/secure-fs.js";
import { hostEngineEndpoint } from "./connection.js";
import { registerContext, unregisterContext } from "./context.js";
import { localPortFree, pickPort, usedPorts } from "./port.js";
import type { Progress } from "./progress.js";

export interface CreateOptions {
  name: string;
  endpoint: EndpointFlags;
  image?: string;
  tlsSans?: string[];
  publishAddress?: string;
  /** Bound for the whole wait until the host answers, in seconds. */
  timeoutSeconds: number;
  keepOnFailure: boolean;
  dockerContext: boolean;
}

export class CreateError extends DinvError {}

const PORT_ATTEMPTS = 5;
const PORT_TAKEN = /port is already allocated|address already in use|bind for .* failed/i;

/** Names of a host's resources on its endpoint. */
export function machineNames(name: string): { container: string; volume: string } {
  return { container: `dinv-${name}`, volume: `dinv-${name}-cache` };
}

/**
 * Create a host: endpoint check, cache volume, container, server certificate, files copied in
 * before start, start, TLS-verified readiness, config saved, docker context registered.
 * On failure everything created is removed again (unless keepOnFailure) and the step is named.
 */
export async function createHost(
  store: HostStore,
  options: CreateOptions,
  progress: Progress,
): Promise<HostConfig> {
  const name = validateHostName(options.name);
  const extraSans = (options.tlsSans ?? []).map((san) => {
    classifySan(san);
    return san;
  });
  const endpoint = resolveEndpoint(options.endpoint);
  const hostDir = store.claim(name);
  const undo: Array<{ what: string; run: () => Promise<void> | void }> = [
    { what: "host folder", run: () => store.remove(name) },
  ];
  let current = "starting";
  try {
    current = `checking endpoint ${endpoint.url}`;
    progress.step(current);
    const client = connect(endpoint, { timeoutMs: Math.max(5_000, options.timeoutSeconds * 1000) });
    const profile = await detectEngine(client);
    const image = options.image ?? DEFAULT_HOST_IMAGE;
    await call(client, () => client.docker.getImage(image).inspect()).catch((err: unknown) => {
      throw new CreateError(`image ${image} is not on ${endpoint.url}`, {
        cause: err,
        hint: "build it with images/dinv/build-offline.sh (or load it there), or pick one with --image",
      });
    });
    progress.done(`${profile.flavor} ${profile.version}`);

    current = "preparing certificates";
    progress.step(current);
    const certs = await store.certificates();
    const address = clientAddress(endpoint);
    const sans = serverSans(address, extraSans);
    const server = await issueServerCertificate(certs.ca, name, sans);
    await writePublicFile(join(hostDir, HOST_FILES.ca), certs.ca.certPem);
    await writePublicFile(join(hostDir, HOST_FILES.clientCert), certs.client.certPem);
    await writePrivateFile(join(hostDir, HOST_FILES.clientKey), certs.client.keyPem);
    await writePublicFile(join(hostDir, HOST_FILES.serverCert), server.certPem);
    await writePrivateFile(join(hostDir, HOST_FILES.serverKey), server.keyPem);
    const endpointTls = copyEndpointTls(endpoint, hostDir);
    progress.done();

    current = "choosing how to run the nested engine";
    progress.step(current);
    const privilege = await choosePrivilegeMode(client, profile, image);
    progress.done(privilege);

    const names = machineNames(name);
    const driver = new DockerDriver(client, names);
    const labels = { [LABEL_HOST]: name, "io.dinv.personality": DOCKER_PERSONALITY };
    current = `checking that ${names.container} is free on ${endpoint.url}`;
    if (await call(client, () => driver.inspect())) {
      throw new CreateError(`a container named ${names.container} already exists on ${endpoint.url}`, {
        hint: `it belongs to another dinv store or was left behind: remove it (docker rm -f ${names.container}) or pick another name`,
      });
    }
    const existingVolume = await driver.inspectVolume();
    if (existingVolume) {
      // A cache kept by `rm --keep-cache` is reused; anything else with that name is not ours to touch.
      if (existingVolume.Labels?.[LABEL_HOST] !== name) {
        throw new CreateError(
          `a volume named ${names.volume} already exists on ${endpoint.url} and is not this host's cache`,
          {
            hint: "remove it or pick another name",
          },
        );
      }
      progress.warn(`reusing the image cache kept in volume ${names.volume}`);
    } else {
      current = `creating cache volume ${names.volume}`;
      progress.step(current);
      await driver.createVolume({ ...labels, [LABEL_ROLE]: "cache" });
      undo.push({ what: `volume ${names.volume}`, run: () => driver.removeVolume() });
      progress.done();
    }

    const publishAddress = options.publishAddress ?? (endpoint.protocol === "unix" ? "127.0.0.1" : "0.0.0.0");
    const known = store
      .list()
      .filter((h) => h.config?.endpoint.url === endpoint.url)
      .map((h) => h.config?.network.port ?? 0);
    const archive = await filesArchive(certs.ca.certPem, server.certPem, server.keyPem);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      current = "creating the host container";
      progress.step(current);
      const used = await usedPorts(client, known);
      const isLocal =
        endpoint.protocol === "unix" || ["127.0.0.1", "localhost", "::1"].includes(endpoint.host);
      const picked = await pickPort(used, (p) =>
        isLocal ? localPortFree(p, publishAddress) : Promise.resolve(true),
      );
      if (picked === undefined) throw new CreateError(`no free port left on ${endpoint.url} for the host`);
      port = picked;
      const containerId = await driver.createContainer(
        containerOptions({
          hostName: name,
          containerName: names.container,
          volumeName: names.volume,
          image,
          privilege,
          publishAddress,
          port,
          labels: { ...labels, [LABEL_ROLE]: "host" },
        }),
      );
      const containerUndo = {
        what: `container ${names.container}`,
        run: () => driver.removeContainer(containerId),
      };
      undo.push(containerUndo);
      progress.done(names.container);
      current = "copying certificates into the host";
      progress.step(current);
      await driver.copyIn(archive);
      progress.done();
      current = "starting the host";
      progress.step(current);
      try {
        await driver.start();
        progress.done(`port ${port}`);
        break;
      } catch (err) {
        if (attempt >= PORT_ATTEMPTS || !PORT_TAKEN.test((err as Error).message)) throw err;
        progress.warn(`port ${port} was taken meanwhile; trying another`);
        await driver.removeContainer(containerId);
        undo.splice(undo.indexOf(containerUndo), 1);
      }
    }

    const config: HostConfig = {
      version: HOST_CONFIG_VERSION,
      name,
      driver: "docker",
      personality: DOCKER_PERSONALITY,
      createdAt: new Date().toISOString(),
      endpoint: { url: endpoint.url, ...(endpointTls ? { tls: endpointTls } : {}) },
      engine: { flavor: profile.flavor, version: profile.version },
      container: { name: names.container, volume: names.volume, image, privilege },
      network: { address, publishAddress, port },
      tls: { keyType: certs.ca.keyType, sans, extraSans },
      files: {
        ca: HOST_FILES.ca,
        clientCert: HOST_FILES.clientCert,
        clientKey: HOST_FILES.clientKey,
        serverCert: HOST_FILES.serverCert,
        serverKey: HOST_FILES.serverKey,
      },
    };

    current = "waiting for the host's Docker engine (TLS)";
    progress.step(current);
    const inner = connect(hostEngineEndpoint(config, hostDir), { timeoutMs: 5_000 });
    await waitForPing(inner, { timeoutMs: options.timeoutSeconds * 1000 }).catch(async (err: unknown) => {
      throw new CreateError(`${(err as Error).message}${await logTail(driver)}`, { cause: err });
    });
    progress.done();

    current = "saving the host";
    await store.save(config);
    if (options.dockerContext) {
      current = "registering the docker context";
      await registerContext(store, config);
      undo.push({ what: "docker context", run: () => unregisterContext(name) });
    }
    return config;
  } catch (err) {
    const reason = err instanceof DinvError ? err.userMessage : (err as Error).message;
    if (options.keepOnFailure) {
      throw new CreateError(`creating host "${name}" failed while ${current}: ${reason}`, {
        cause: err,
        hint: "kept what was created (--keep-on-failure); remove it with `dinv rm -f " + name + "`",
      });
    }
    const leftovers: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch {
        leftovers.push(step.what);
      }
    }
    const tail = leftovers.length ? ` (could not remove: ${leftovers.join(", ")})` : "";
    throw new CreateError(`creating host "${name}" failed while ${current}: ${reason}${tail}`, {
      cause: err,
    });
  }
}

/** The address clients use to reach hosts on this endpoint. */
export function clientAddress(endpoint: Endpoint): string {
  return endpoint.protocol === "unix" ? "127.0.0.1" : endpoint.host;
}

/** Copy the endpoint's TLS files into the host folder, so the store holds relative paths only. */
function copyEndpointTls(endpoint: Endpoint, hostDir: string): HostConfig["endpoint"]["tls"] {
  if (endpoint.protocol !== "tcp" || !endpoint.tls) return undefined;
  const dir = join(hostDir, HOST_FILES.endpointDir);
  ensurePrivateDir(dir);
  const out: NonNullable<HostConfig["endpoint"]["tls"]> = { verify: endpoint.tls.verify };
  for (const kind of ["ca", "cert", "key"] as const) {
    const source = endpoint.tls[kind];
    if (!source) continue;
    const relative = join(HOST_FILES.endpointDir, `${kind}.pem`);
    copyFileSync(source, join(hostDir, relative));
    out[kind] = relative;
  }
  return out;
}

async function logTail(driver: DockerDriver): Promise<string> {
  try {
    const logs = await driver.logs({ tail: 5 });
    const chunks: Buffer[] = [];
    for await (const chunk of logs) chunks.push(Buffer.from(chunk as Buffer));
    const text = stripDockerStreamHeaders(Buffer.concat(chunks)).trim();
    return text ? `; the host's last log lines: ${text.split("\n").slice(-3).join(" | ")}` : "";
  } catch {
    return "";
  }
}

/** Container logs without a TTY carry 8-byte frame headers; drop them for display. */
export function stripDockerStreamHeaders(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (
    offset + 8 <= buffer.length &&
    buffer[offset + 1] === 0 &&
    buffer[offset + 2] === 0 &&
    buffer[offset + 3] === 0
  ) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return offset === 0 ? buffer.toString("utf8") : Buffer.concat(parts).toString("utf8");
}
