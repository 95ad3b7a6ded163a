/**
 * Logs, exec and attach for the kubelet API: a pod's container is found through the pod cache
 * (namespace/name, so one namespace never reaches another's pods), then the engine streams.
 * Errors carry the status and wording a kubelet gives (404 unknown pod or container, 400 a
 * container that is not running yet).
 */
import { pipeline, type Readable, type Transform } from "node:stream";
import type {
  ContainerLogOptions,
  ContainerRef,
  ContainerSession,
  PodRef,
  StreamOptions,
} from "../provider-api.js";
import { StreamingError } from "../provider-api.js";
import type { EngineContainerDetails, EngineSession, PodEngine, StreamingEngine } from "./engine.js";
import { engineLogQuery } from "./log-query.js";
import { cacheKey, type CachedPod, type PodCache } from "./pod-cache.js";
import { ByteLimit, MergedFrames, splitStreams } from "../../engine/stdcopy.js";

/** The pod behind namespace/pod (and uid, when the path names one); 404 as a kubelet answers. */
export function findPod(cache: PodCache, ref: PodRef): CachedPod {
  const entry = cache.get(cacheKey(ref.namespace, ref.pod));
  if (!entry || (ref.uid !== undefined && entry.uid !== ref.uid))
    throw new StreamingError(`pod "${ref.pod}" not found in namespace "${ref.namespace}"`, 404);
  return entry;
}

interface Located {
  id: string;
  details: EngineContainerDetails;
}

export class PodStreams {
  constructor(
    private readonly engine: PodEngine & StreamingEngine,
    private readonly cache: PodCache,
  ) {}

  /** The engine container behind namespace/pod/container, inspected. */
  async locate(ref: ContainerRef): Promise<Located> {
    const entry = findPod(this.cache, ref);
    const known = entry.containers.get(ref.container) ?? entry.initContainers?.get(ref.container);
    if (!known) {
      const spec = entry.pod?.spec;
      const declared = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some(
        (c) => c.name === ref.container,
      );
      if (declared) {
        const why = entry.failure?.reason ?? entry.waiting?.reason ?? "ContainerCreating";
        throw new StreamingError(
          `container "${ref.container}" in pod "${ref.pod}" is waiting to start: ${why}`,
          400,
        );
      }
      throw new StreamingError(`container ${ref.container} is not valid for pod ${ref.pod}`, 404);
    }
    const details = await this.engine.inspectContainer(known.id);
    if (!details) throw new StreamingError(`container "${ref.container}" in pod "${ref.pod}" is gone`, 404);
    return { id: known.id, details };
  }

  async containerLogs(ref: ContainerRef, options: ContainerLogOptions): Promise<Readable> {
    const { id, details } = await this.locate(ref);
    if (details.state.status === "created" && !options.previous) {
      throw new StreamingError(
        `container "${ref.container}" in pod "${ref.pod}" is waiting to start: ContainerCreating`,
        400,
      );
    }
    const query = engineLogQuery(
      options,
      { startedAt: details.state.startedAt, restartCount: details.restartCount },
      ref,
    );
    const raw = await this.engine.containerLogs(id, query);
    const stages: Transform[] = [];
    if (!details.tty) stages.push(new MergedFrames());
    if (options.limitBytes !== undefined) {
      const limit = new ByteLimit(options.limitBytes);
      limit.once("limit", () => raw.destroy());
      stages.push(limit);
    }
    const last = stages[stages.length - 1];
    if (!last) return raw;
    // Errors and early ends travel both ways: a reader going away releases the engine's stream.
    pipeline([raw, ...stages], () => undefined);
    return last;
  }

  async exec(ref: ContainerRef, command: string[], options: StreamOptions): Promise<ContainerSession> {
    const { id, details } = await this.locate(ref);
    this.mustRun(ref, details);
    const session = await this.engine.exec(id, command, options);
    return this.sessionOf(session, options.tty, options);
  }

  async attach(ref: ContainerRef, options: StreamOptions): Promise<ContainerSession> {
    const { id, details } = await this.locate(ref);
    this.mustRun(ref, details);
    if (options.stdin && !details.openStdin) {
      throw new StreamingError(
        `container "${ref.container}" in pod "${ref.pod}" was not created with stdin: true; attach without stdin`,
        400,
      );
    }
    const session = await this.engine.attach(id, options);
    // The container's terminal decides the stream format, whatever the client asked.
    return this.sessionOf(session, details.tty === true, options);
  }

  private mustRun(ref: ContainerRef, details: EngineContainerDetails): void {
    if (details.state.status !== "running") {
      throw new StreamingError(
        `container "${ref.container}" in pod "${ref.pod}" is not running (${details.state.status})`,
        400,
      );
    }
  }

  private sessionOf(session: EngineSession, tty: boolean, options: StreamOptions): ContainerSession {
    const { stdout, stderr, ended } = splitStreams(session.stream, tty, options);
    return {
      ...(options.stdin ? { stdin: session.stream } : {}),
      ...(stdout ? { stdout } : {}),
      ...(stderr ? { stderr } : {}),
      resize: (size) => session.resize(size),
      done: ended.then(async () => {
        const exitCode = await session.exitCode();
        return exitCode === undefined ? {} : { exitCode };
      }),
      close: () => session.stream.destroy(),
    };
  }
}
