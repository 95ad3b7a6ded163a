import type Dockerode from "dockerode";
import type { EngineClient } from "../engine/client.js";
import { call, engineStatus } from "../engine/engine-errors.js";
import { EngineError } from "../errors.js";
import type { Driver, HostState, MachineState } from "./driver.js";

/** Labels every resource dinv creates carries (io.dinv.host=<name> plus its role). */
export const LABEL_HOST = "io.dinv.host";
export const LABEL_ROLE = "io.dinv.role";

export interface MachineNames {
  container: string;
  /** The cache volume (an adopted host may have none). */
  volume?: string;
}

/** docker container state -> docker-machine state names. */
export function hostStateOf(state: string | undefined, restarting = false): HostState {
  if (restarting) return "Starting";
  switch (state) {
    case "running":
      return "Running";
    case "paused":
      return "Paused";
    case "restarting":
      return "Starting";
    case "removing":
      return "Stopping";
    case "created":
    case "exited":
      return "Stopped";
    default:
      return "Error";
  }
}

/** A host as a container (plus its cache volume) on a Docker API endpoint: Docker Engine, Podman, VIC. */
export class DockerDriver implements Driver {
  readonly name = "docker";

  constructor(
    readonly client: EngineClient,
    readonly names: MachineNames,
  ) {}

  private get container(): Dockerode.Container {
    return this.client.docker.getContainer(this.names.container);
  }

  private get volumeName(): string {
    if (!this.names.volume) throw new EngineError(`container ${this.names.container} has no cache volume`);
    return this.names.volume;
  }

  async createVolume(labels: Record<string, string>, driverOpts: Record<string, string> = {}): Promise<void> {
    await call(this.client, () =>
      this.client.docker.createVolume({ Name: this.volumeName, Labels: labels, DriverOpts: driverOpts }),
    );
  }

  async inspectVolume(): Promise<Dockerode.VolumeInspectInfo | undefined> {
    try {
      return await call(this.client, () => this.client.docker.getVolume(this.volumeName).inspect());
    } catch (err) {
      if (engineStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async removeVolume(): Promise<void> {
    await call(this.client, () => this.client.docker.getVolume(this.volumeName).remove()).catch(
      ignoreStatus(404),
    );
  }

  /** Remove one container by id (never by name: a name may have been taken over meanwhile). */
  async removeContainer(id: string): Promise<void> {
    await call(this.client, () =>
      // v: anonymous volumes only (a personality whose data is not at the image's declared
      // /var/lib/docker gets one); the named cache volume is never removed by it.
      this.client.docker.getContainer(id).remove({ force: true, v: true }),
    ).catch(ignoreStatus(404));
  }

  async createContainer(options: Dockerode.ContainerCreateOptions): Promise<string> {
    const container = await call(this.client, () => this.client.docker.createContainer(options));
    return container.id;
  }

  /** Extract a tar (rooted at "/") into the container; works before the first start. */
  async copyIn(archive: Buffer): Promise<void> {
    await call(this.client, () => this.container.putArchive(archive, { path: "/" }));
  }

  async inspect(): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.container.inspect();
    } catch (err) {
      if (engineStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async state(): Promise<MachineState> {
    const info = await call(this.client, () => this.inspect());
    if (!info)
      return {
        state: "Error",
        error: `container ${this.names.container} is missing on ${this.client.endpoint.url}`,
      };
    return machineStateOf(info.State.Status, info.State.Restarting, info.NetworkSettings?.Ports);
  }

  async start(): Promise<void> {
    await call(this.client, () => this.container.start()).catch(ignoreStatus(304));
  }

  async stop(timeoutSeconds: number): Promise<void> {
    await call(this.client, () => this.container.stop({ t: timeoutSeconds })).catch(ignoreStatus(304));
  }

  async kill(): Promise<void> {
    await call(this.client, () => this.container.kill()).catch(ignoreStatus(409));
  }

  async restart(timeoutSeconds: number): Promise<void> {
    await call(this.client, () => this.container.restart({ t: timeoutSeconds }));
  }

  async remove({ keepCache }: { keepCache: boolean }): Promise<void> {
    // v: anonymous volumes only, as removeContainer; the cache goes with removeVolume, or stays.
    await call(this.client, () => this.container.remove({ force: true, v: true })).catch(ignoreStatus(404));
    if (!keepCache && this.names.volume) await this.removeVolume();
  }

  async logs(options: { tail?: number; follow?: boolean }): Promise<NodeJS.ReadableStream> {
    const common = {
      stdout: true,
      stderr: true,
      timestamps: false,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
    };
    if (options.follow) return call(this.client, () => this.container.logs({ ...common, follow: true }));
    const buffer = await call(this.client, () => this.container.logs({ ...common, follow: false }));
    const { Readable } = await import("node:stream");
    return Readable.from([buffer]);
  }
}

export function machineStateOf(
  status: string | undefined,
  restarting: boolean | undefined,
  ports: Dockerode.ContainerInspectInfo["NetworkSettings"]["Ports"] | undefined,
): MachineState {
  const state = hostStateOf(status, restarting ?? false);
  const hostPort = Object.values(ports ?? {})
    .flatMap((bindings) => bindings ?? [])
    .map((b) => Number(b.HostPort))
    .find((p) => p > 0);
  return { state, ...(hostPort ? { port: hostPort } : {}) };
}

/** Treat an engine answer with this HTTP status as success (already started, already gone…). */
function ignoreStatus(status: number): (err: unknown) => void {
  return (err: unknown) => {
    if (engineStatus(err) === status) return;
    throw err;
  };
}
