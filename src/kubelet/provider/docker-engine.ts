/** PodEngine over the engine layer: dockerode calls wrapped by call() so errors name the endpoint. */
import type Dockerode from "dockerode";
import { call, describeEngineError, type EngineClient } from "../../engine/client.js";
import {
  engineStatus,
  ImagePullError,
  type CreateContainerSpec,
  type EngineContainerDetails,
  type EngineContainerEvent,
  type EngineContainerState,
  type EngineContainerSummary,
  type EventSubscription,
  type PodEngine,
} from "./engine.js";

function labelFilters(labels: Record<string, string>): string {
  return JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
}

function ignoring(...statuses: number[]): (err: unknown) => void {
  return (err) => {
    const status = engineStatus(err);
    if (status !== undefined && statuses.includes(status)) return;
    throw err;
  };
}

export class DockerPodEngine implements PodEngine {
  constructor(readonly client: EngineClient) {}

  private get docker(): Dockerode {
    return this.client.docker;
  }

  async listContainers(labels: Record<string, string>): Promise<EngineContainerSummary[]> {
    const list = await call(this.client, () =>
      this.docker.listContainers({ all: true, filters: labelFilters(labels) }),
    );
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, state: c.State }));
  }

  async inspectContainer(id: string): Promise<EngineContainerDetails | undefined> {
    try {
      const info = await call(this.client, () => this.docker.getContainer(id).inspect());
      const networks = Object.values(info.NetworkSettings?.Networks ?? {});
      const ip = networks.map((n) => n.IPAddress).find((a) => a !== undefined && a !== "");
      return {
        id: info.Id,
        image: info.Config.Image,
        imageId: info.Image,
        labels: info.Config.Labels ?? {},
        created: info.Created,
        state: {
          status: info.State.Status as EngineContainerState,
          exitCode: info.State.ExitCode,
          error: info.State.Error,
          oomKilled: info.State.OOMKilled,
          startedAt: info.State.StartedAt,
          finishedAt: info.State.FinishedAt,
        },
        restartCount: info.RestartCount,
        ...(ip ? { ipAddress: ip } : {}),
      };
    } catch (err) {
      if (engineStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await call(this.client, () => this.docker.getImage(ref).inspect());
      return true;
    } catch (err) {
      if (engineStatus(err) === 404) return false;
      throw err;
    }
  }

  async pullImage(ref: string): Promise<void> {
    const stream = await call(this.client, () => this.docker.pull(ref) as Promise<NodeJS.ReadableStream>);
    // Failures such as "manifest unknown" arrive inside the progress stream, not as an HTTP status.
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null) => {
        if (err) reject(new ImagePullError(`${this.client.endpoint.url}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  async createContainer(spec: CreateContainerSpec): Promise<string> {
    const container = await call(this.client, () => this.docker.createContainer(spec));
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await call(this.client, () => this.docker.getContainer(id).start()).catch(ignoring(304));
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await call(this.client, () => this.docker.getContainer(id).stop({ t: timeoutSeconds })).catch(
      ignoring(304, 404),
    );
  }

  async removeContainer(id: string): Promise<void> {
    // 409 "removal already in progress" means someone else is already doing it.
    await call(this.client, () => this.docker.getContainer(id).remove({ force: true, v: true })).catch(
      ignoring(404, 409),
    );
  }

  async importImage(tarball: Buffer, ref: string): Promise<void> {
    const [repo, tag] = splitTag(ref);
    const { Readable } = await import("node:stream");
    const stream = await call(
      this.client,
      () =>
        this.docker.importImage(Readable.from([tarball]), {
          repo,
          tag,
        }) as Promise<NodeJS.ReadableStream>,
    );
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null) =>
        err ? reject(describeEngineError(err, this.client.endpoint)) : resolve(),
      );
    });
  }

  async watchEvents(
    labels: Record<string, string>,
    onEvent: (event: EngineContainerEvent) => void,
    onEnd: (err?: Error) => void,
  ): Promise<EventSubscription> {
    const filters = { type: ["container"], label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    const stream = (await call(this.client, () =>
      this.docker.getEvents({ filters: JSON.stringify(filters) }),
    )) as NodeJS.ReadableStream & { destroy(): void };
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let newline: number;
      // The engine writes one JSON document per line.
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line !== "") deliver(line, onEvent);
      }
    });
    stream.on("error", (err: Error) => end(describeEngineError(err, this.client.endpoint)));
    stream.on("end", () => end());
    stream.on("close", () => end());
    return {
      close: () => {
        ended = true;
        stream.destroy();
      },
    };
  }
}

function deliver(line: string, onEvent: (event: EngineContainerEvent) => void): void {
  let raw: {
    Action?: string;
    status?: string;
    id?: string;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return;
  }
  const attributes = raw.Actor?.Attributes ?? {};
  const id = raw.Actor?.ID ?? raw.id;
  const action = (raw.Action ?? raw.status ?? "").split(":")[0] ?? "";
  if (!id || action === "") return;
  // Attributes mix the container's labels with name/image/exitCode; labels are what we filter on.
  const exit = attributes.exitCode;
  onEvent({ action, id, labels: attributes, ...(exit !== undefined ? { exitCode: Number(exit) } : {}) });
}

/** "repo:tag" → [repo, tag]; a port in the registry host is not a tag. */
export function splitTag(ref: string): [string, string] {
  const at = ref.indexOf("@");
  if (at >= 0) return [ref.slice(0, at), ref.slice(at + 1)];
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, "latest"];
}
