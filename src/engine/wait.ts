import type { EngineClient } from "./client.js";
import { describeEngineError } from "./client.js";
import { EngineError } from "../errors.js";

export interface WaitOptions {
  timeoutMs: number;
  /** First poll interval; doubles up to 50 ms. A nested dockerd answers in ~0.5 s, and each poll is cheap. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Poll `/_ping` until the engine answers, or fail with the last cause once the time is up. */
export async function waitForPing(client: EngineClient, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 25;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      await client.docker.ping();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + interval > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 50);
  }
  const cause = describeEngineError(lastError, client.endpoint);
  throw new EngineError(
    `${client.endpoint.url} did not answer within ${Math.round(options.timeoutMs / 1000)}s (last: ${cause.message})`,
    {
      cause: lastError,
      hint: "check the host's logs with `docker logs`",
    },
  );
}
