/**
 * A keyed work queue like client-go's: a key is queued at most once, never processed by two
 * workers at a time (re-added while in flight, it runs again afterwards), and failures are
 * retried with per-key exponential backoff. Two lanes with their own workers: `work` (spec
 * changes: creations, deletions) and `status` (re-syncs the provider asks for when a container
 * changed), so a status re-sync never waits behind a burst of creations. A key wanted in both
 * lanes runs once, in the work lane.
 */
export type Lane = "work" | "status";

export interface WorkQueueOptions {
  workers: number;
  /** Workers of the status lane (default: half the work lane's, at least 1). */
  statusWorkers?: number;
  /** First retry delay; doubles per failure up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onError?: (key: string, err: unknown, attempt: number) => void;
  /** The delay a failure asks for itself, which replaces the exponential one (undefined: none). */
  retryAfter?: (err: unknown) => number | undefined;
}

export class WorkQueue {
  private readonly queues: Record<Lane, string[]> = { work: [], status: [] };
  private readonly running: Record<Lane, number> = { work: 0, status: 0 };
  private readonly workers: Record<Lane, number>;
  /** Queued keys and their lane. */
  private readonly queued = new Map<string, Lane>();
  private readonly active = new Set<string>();
  /** Keys re-added while being processed, and the lane to run them in. */
  private readonly dirty = new Map<string, Lane>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; lane: Lane }>();
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions,
  ) {
    this.workers = {
      work: options.workers,
      status: options.statusWorkers ?? Math.max(1, Math.ceil(options.workers / 2)),
    };
  }

  add(key: string, lane: Lane = "work"): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      if (this.dirty.get(key) !== "work") this.dirty.set(key, lane);
      return;
    }
    const queuedIn = this.queued.get(key);
    if (queuedIn === "work" || queuedIn === lane) return;
    if (queuedIn === "status") {
      // Wanted for spec work too: it moves to the work lane (and runs once).
      const status = this.queues.status;
      status.splice(status.indexOf(key), 1);
    }
    // An immediate add supersedes a pending retry.
    const pending = this.timers.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.timers.delete(key);
      if (pending.lane === "work") lane = "work";
    }
    this.queued.set(key, lane);
    this.queues[lane].push(key);
    this.pump();
  }

  /** Forget a key's failures (after it succeeded, or when its object is gone). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  get length(): number {
    return this.queued.size + this.active.size + this.timers.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.queues.work.length = 0;
    this.queues.status.length = 0;
    this.queued.clear();
  }

  /** Resolves when nothing is queued, running or waiting to be retried (tests). */
  idle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    for (const lane of ["work", "status"] as const) {
      const queue = this.queues[lane];
      while (!this.stopped && this.running[lane] < this.workers[lane] && queue.length > 0) {
        const key = queue.shift() as string;
        this.queued.delete(key);
        this.active.add(key);
        this.running[lane]++;
        void this.process(key, lane);
      }
    }
  }

  private async process(key: string, lane: Lane): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.options.onError?.(key, err, attempt);
      if (!this.stopped && !this.dirty.has(key))
        this.retryLater(key, lane, attempt, this.options.retryAfter?.(err));
    } finally {
      this.active.delete(key);
      this.running[lane]--;
      const again = this.dirty.get(key);
      if (again) {
        this.dirty.delete(key);
        this.add(key, again);
      }
      this.pump();
      this.checkIdle();
    }
  }

  private retryLater(key: string, lane: Lane, attempt: number, asked: number | undefined): void {
    const base = this.options.baseDelayMs ?? 200;
    const max = this.options.maxDelayMs ?? 60_000;
    const delay = asked ?? Math.min(max, base * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key, lane);
    }, delay);
    this.timers.set(key, { timer, lane });
  }

  private checkIdle(): void {
    if (this.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
