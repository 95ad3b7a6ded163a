/**
 * The kubelet's image pull back-off: a pull that failed is not tried again for 10 s, then 20 s,
 * doubling to 300 s; a success forgets it, and so does a quiet spell of twice the maximum (as
 * client-go's flowcontrol.Backoff that the kubelet keys by pod uid and image). Meanwhile the
 * container waits with reason ImagePullBackOff and the pod stays Pending.
 */
export const IMAGE_BACKOFF_INITIAL_MS = 10_000;
export const IMAGE_BACKOFF_MAX_MS = 300_000;

interface Entry {
  delayMs: number;
  /** When the last failure was recorded. */
  at: number;
  /** What it said. */
  message: string;
}

export class ImageBackOff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** How long a pull of this image for this pod must still wait (0: it may be tried now). */
  remainingMs(uid: string, image: string): number {
    const entry = this.live(keyOf(uid, image));
    return entry ? Math.max(0, entry.at + entry.delayMs - this.now()) : 0;
  }

  /** The last failure, while it is at most `withinMs` old (how long ErrImagePull is shown). */
  recentFailure(
    uid: string,
    image: string,
    withinMs: number,
  ): { message: string; leftMs: number } | undefined {
    const entry = this.live(keyOf(uid, image));
    const age = entry ? this.now() - entry.at : Infinity;
    return entry && age < withinMs ? { message: entry.message, leftMs: withinMs - age } : undefined;
  }

  /** A pull failed: the next one waits 10 s, or twice the previous wait (at most 300 s). */
  failed(uid: string, image: string, message: string): number {
    const key = keyOf(uid, image);
    const previous = this.live(key);
    const delayMs = previous
      ? Math.min(previous.delayMs * 2, IMAGE_BACKOFF_MAX_MS)
      : IMAGE_BACKOFF_INITIAL_MS;
    this.entries.set(key, { delayMs, at: this.now(), message });
    return delayMs;
  }

  succeeded(uid: string, image: string): void {
    this.entries.delete(keyOf(uid, image));
  }

  /** The pod is gone: its back-offs with it. */
  forget(uid: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${uid}_`)) this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.at > 2 * IMAGE_BACKOFF_MAX_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

function keyOf(uid: string, image: string): string {
  return `${uid}_${image}`;
}
