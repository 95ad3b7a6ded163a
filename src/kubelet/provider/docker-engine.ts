/** PodEngine over the engine layer: dockerode calls wrapped by call() so errors name the endpoint. */
import { Readable, type Duplex } from "node:stream";
import type Dockerode from "dockerode";
import { call, describeEngineError, type EngineClient } from "../../engine/client.js";
import type { StreamOptions, TerminalSize } from "../provider-api.js";
import {
  engineStatus,
  ImagePullError,
  type CreateContainerSpec,
  type EngineLogOptions,
  type EngineSession,
  type EngineStatsSample,
  type RegistryAuth,
  type StreamingEngine,
  type VolumeOptions,
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

/** Default deadline of one engine call that should answer at once (not pulls, streams or waits). */
export const ENGINE_CALL_TIMEOUT_MS = 60_000;

export class DockerPodEngine implements PodEngine, StreamingEngine {
  /**
   * callTimeoutMs bounds each unary call (0: none): a hung engine must fail a pod's step, not pin
   * the worker running it. The request is aborted when the deadline passes.
   */
  constructor(
    readonly client: EngineClient,
    private readonly callTimeoutMs = ENGINE_CALL_TIMEOUT_MS,
  ) {}

  private unary<T>(action: (abortSignal: AbortSignal) => Promise<T>, extraMs = 0): Promise<T> {
    const controller = new AbortController();
    if (this.callTimeoutMs <= 0) return call(this.client, () => action(controller.signal));
    const ms = this.callTimeoutMs + extraMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(Object.assign(new Error(`no answer within ${ms / 1000}s`), { code: "ETIMEDOUT" }));
      }, ms);
    });
    return call(this.client, () => Promise.race([action(controller.signal), expired])).finally(() =>
      clearTimeout(timer),
    );
  }

  private get docker(): Dockerode {
    return this.client.docker;
  }

  async listContainers(labels: Record<string, string>): Promise<EngineContainerSummary[]> {
    const list = await this.unary((abortSignal) =>
      this.docker.listContainers({ all: true, filters: labelFilters(labels), abortSignal }),
    );
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, state: c.State }));
  }

  async inspectContainer(id: string): Promise<EngineContainerDetails | undefined> {
    try {
      const info = await this.unary((abortSignal) => this.docker.getContainer(id).inspect({ abortSignal }));
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
        tty: info.Config.Tty === true,
        openStdin: info.Config.OpenStdin === true,
      };
    } catch (err) {
      if (engineStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.unary(() => this.docker.getImage(ref).inspect());
      return true;
    } catch (err) {
      if (engineStatus(err) === 404) return false;
      throw err;
    }
  }

  async imageUser(ref: string): Promise<string> {
    const info = await this.unary(() => this.docker.getImage(ref).inspect());
    return info.Config?.User ?? "";
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    const stream = await call(
      this.client,
      () => this.docker.pull(ref, auth ? { authconfig: auth } : {}) as Promise<NodeJS.ReadableStream>,
    );
    // Failures such as "manifest unknown" arrive inside the progress stream, not as an HTTP status.
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null) => {
        if (err) reject(new ImagePullError(`${this.client.endpoint.url}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  async createContainer(spec: CreateContainerSpec): Promise<string> {
    const container = await this.unary((abortSignal) =>
      this.docker.createContainer({ ...spec, abortSignal }),
    );
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.unary((abortSignal) => this.docker.getContainer(id).start({ abortSignal })).catch(
      ignoring(304),
    );
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.unary(
      (abortSignal) => this.docker.getContainer(id).stop({ t: timeoutSeconds, abortSignal }),
      // The engine answers once the grace period is over.
      timeoutSeconds * 1000,
    ).catch(ignoring(304, 404));
  }

  async killContainer(id: string, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    // 409: not running (any more), which is what the kill was for.
    await this.unary((abortSignal) => this.docker.getContainer(id).kill({ signal, abortSignal })).catch(
      ignoring(404, 409),
    );
  }

  async removeContainer(id: string): Promise<void> {
    // 409 "removal already in progress" means someone else is already doing it.
    await this.unary((abortSignal) =>
      this.docker.getContainer(id).remove({ force: true, v: true, abortSignal }),
    ).catch(ignoring(404, 409));
  }

  async createVolume(
    name: string,
    labels: Record<string, string>,
    options: VolumeOptions = {},
  ): Promise<void> {
    const tmpfs = options.tmpfs;
    await this.unary((abortSignal) =>
      this.docker.createVolume({
        abortSignal,
        Name: name,
        Labels: labels,
        ...(tmpfs
          ? {
              Driver: "local",
              DriverOpts: {
                type: "tmpfs",
                device: "tmpfs",
                ...(tmpfs.sizeBytes ? { o: `size=${tmpfs.sizeBytes}` } : {}),
              },
            }
          : options.capacityMB
            ? // VIC takes a bare number as MB; any other option would be refused.
              { DriverOpts: { Capacity: String(options.capacityMB) } }
            : {}),
      }),
    );
  }

  async removeVolume(name: string): Promise<void> {
    await this.unary((abortSignal) => this.docker.getVolume(name).remove({ force: true, abortSignal })).catch(
      ignoring(404),
    );
  }

  async listVolumes(labels: Record<string, string>): Promise<string[]> {
    const answer = await this.unary((abortSignal) =>
      this.docker.listVolumes({ filters: labelFilters(labels), abortSignal }),
    );
    return (answer.Volumes ?? []).map((v) => v.Name);
  }

  async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
    await this.unary((abortSignal) => this.docker.getContainer(id).putArchive(tar, { path, abortSignal }));
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

  async containerLogs(id: string, options: EngineLogOptions): Promise<Readable> {
    const query = {
      stdout: true,
      stderr: true,
      follow: options.follow,
      timestamps: options.timestamps,
      tail: options.tail === undefined ? "all" : String(options.tail),
      ...(options.since !== undefined ? { since: options.since } : {}),
      ...(options.until !== undefined ? { until: options.until } : {}),
    };
    // dockerode answers a Buffer without follow and a stream with it.
    const result = (await call(this.client, () =>
      this.docker
        .getContainer(id)
        .logs(query as unknown as Dockerode.ContainerLogsOptions & { follow: true }),
    )) as unknown;
    return Buffer.isBuffer(result) ? Readable.from([result]) : (result as Readable);
  }

  async exec(id: string, command: string[], options: StreamOptions): Promise<EngineSession> {
    const exec = await call(this.client, () =>
      this.docker.getContainer(id).exec({
        Cmd: command,
        AttachStdin: options.stdin,
        AttachStdout: options.stdout,
        AttachStderr: options.stderr,
        Tty: options.tty,
      }),
    );
    const stream = (await call(this.client, () =>
      exec.start({ hijack: true, stdin: options.stdin, Tty: options.tty }),
    )) as Duplex;
    return {
      stream,
      resize: async (size: TerminalSize) => {
        await call(this.client, () => exec.resize({ h: size.height, w: size.width }));
      },
      exitCode: async () => {
        // The stream may end a moment before the engine records the exit.
        for (let attempt = 0; attempt < 50; attempt++) {
          const info = await call(this.client, () => exec.inspect());
          if (!info.Running) return info.ExitCode ?? undefined;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return undefined;
      },
    };
  }

  async attach(id: string, options: StreamOptions): Promise<EngineSession> {
    const container = this.docker.getContainer(id);
    const stream = (await call(this.client, () =>
      container.attach({
        stream: true,
        hijack: true,
        stdin: options.stdin,
        stdout: options.stdout,
        stderr: options.stderr,
      }),
    )) as Duplex;
    return {
      stream,
      resize: async (size: TerminalSize) => {
        await call(this.client, () => container.resize({ h: size.height, w: size.width }));
      },
      exitCode: async () => undefined,
    };
  }

  async containerStats(id: string): Promise<EngineStatsSample | undefined> {
    let raw: DockerStats;
    try {
      raw = (await call(this.client, () =>
        this.docker.getContainer(id).stats({ stream: false }),
      )) as unknown as DockerStats;
    } catch (err) {
      if (engineStatus(err) === 404 || engineStatus(err) === 409) return undefined;
      throw err;
    }
    return statsSample(raw);
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

/** The fields of the engine's stats document that the summary uses (cgroup v1 and v2 names). */
interface DockerStats {
  read?: string;
  preread?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null } };
  precpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; rx_errors?: number; tx_bytes?: number; tx_errors?: number }>;
}

export function statsSample(raw: DockerStats): EngineStatsSample | undefined {
  if (!raw.read || raw.read.startsWith("0001-01-01")) return undefined;
  const mem = raw.memory_stats ?? {};
  const stats = mem.stats ?? {};
  // cgroup v1 reports total_* (hierarchical) counters; v2 plain names.
  const pick = (...names: string[]) => names.map((n) => stats[n]).find((v) => typeof v === "number");
  const inactiveFile = pick("total_inactive_file", "inactive_file") ?? 0;
  const usage = mem.usage;
  return {
    read: raw.read,
    preread: raw.preread ?? raw.read,
    cpuTotalNs: raw.cpu_stats?.cpu_usage?.total_usage ?? 0,
    preCpuTotalNs: raw.precpu_stats?.cpu_usage?.total_usage ?? 0,
    ...(raw.cpu_stats?.cpu_usage?.percpu_usage?.length
      ? { perCpuUsage: raw.cpu_stats.cpu_usage.percpu_usage }
      : {}),
    ...(usage !== undefined
      ? { memoryUsageBytes: usage, memoryWorkingSetBytes: Math.max(0, usage - inactiveFile) }
      : {}),
    ...optional("memoryRssBytes", pick("total_rss", "rss", "anon")),
    ...optional("pageFaults", pick("total_pgfault", "pgfault")),
    ...optional("majorPageFaults", pick("total_pgmajfault", "pgmajfault")),
    networks: Object.entries(raw.networks ?? {}).map(([name, n]) => ({
      name,
      rxBytes: n.rx_bytes ?? 0,
      rxErrors: n.rx_errors ?? 0,
      txBytes: n.tx_bytes ?? 0,
      txErrors: n.tx_errors ?? 0,
    })),
  };
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
