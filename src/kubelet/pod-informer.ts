/**
 * List + watch of the pods bound to this node, keeping a local store. The watch resumes from
 * the list's resourceVersion; a 410 Gone (history expired) or a dropped stream leads to a
 * fresh list, after which pods that vanished meanwhile are reported as deleted.
 */
import { errorMessage } from "../errors.js";
import type { KubeApi, WatchHandle } from "./kube/api.js";
import { podKey, type Pod } from "./kube/types.js";

export interface InformerOptions {
  /** Delay before re-listing after a failure; doubles up to 30 s. */
  retryMs?: number;
  log?: (message: string) => void;
}

export class PodInformer {
  private readonly store = new Map<string, Pod>();
  private resourceVersion = "";
  private watch: WatchHandle | undefined;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Counts of re-lists, for tests and logs. */
  relists = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly fieldSelector: string,
    private readonly onChange: (key: string, pod: Pod | undefined) => void,
    private readonly options: InformerOptions = {},
  ) {}

  get(key: string): Pod | undefined {
    return this.store.get(key);
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  /** Resolves after the first list (so the store is complete); watching goes on in the background. */
  async start(): Promise<void> {
    await this.list();
    await this.startWatch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.abort();
  }

  private async list(): Promise<void> {
    const list = await this.api.listPods(this.fieldSelector);
    const seen = new Set<string>();
    for (const pod of list.items) {
      const key = podKey(pod);
      seen.add(key);
      this.store.set(key, pod);
      this.onChange(key, pod);
    }
    for (const key of [...this.store.keys()]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.onChange(key, undefined);
      }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? "";
  }

  private async startWatch(): Promise<void> {
    if (this.stopped) return;
    let ended = false;
    const handle = await this.api
      .watchPods(
        this.fieldSelector,
        this.resourceVersion,
        (type, object) => {
          if (type === "ERROR") {
            const status = object as { code?: number; message?: string };
            this.options.log?.(`pod watch: ${status.message ?? "error"} (${status.code ?? "?"}); re-listing`);
            // 410 Gone: our resourceVersion is older than the server's history.
            this.resourceVersion = "";
            handle?.abort();
            return;
          }
          const pod = object as Pod;
          if (pod.metadata?.resourceVersion) this.resourceVersion = pod.metadata.resourceVersion;
          if (type === "BOOKMARK") return;
          this.failures = 0;
          const key = podKey(pod);
          if (type === "DELETED") this.store.delete(key);
          else this.store.set(key, pod);
          this.onChange(key, type === "DELETED" ? undefined : pod);
        },
        (err) => {
          if (ended) return;
          ended = true;
          if (this.stopped) return;
          if (err) this.options.log?.(`pod watch ended: ${errorMessage(err)}`);
          this.resume();
        },
      )
      .catch((err: unknown) => {
        this.options.log?.(`pod watch failed: ${errorMessage(err)}`);
        this.resume();
        return undefined;
      });
    this.watch = handle;
    if (this.stopped) handle?.abort();
  }

  /**
   * Re-list, then watch again. Re-listing after every drop (not only after a 410) costs one list of
   * this node's pods and guarantees nothing missed in between goes unseen.
   */
  private resume(): void {
    if (this.stopped) return;
    const delay =
      this.failures === 0 ? 0 : Math.min(30_000, (this.options.retryMs ?? 250) * 2 ** (this.failures - 1));
    this.failures++;
    this.timer = setTimeout(() => {
      this.list()
        .then(() => {
          this.relists++;
          return this.startWatch();
        })
        .catch((err: unknown) => {
          this.options.log?.(`pod list failed: ${errorMessage(err)}`);
          this.resourceVersion = "";
          this.resume();
        });
    }, delay);
  }
}
