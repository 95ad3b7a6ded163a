/**
 * The relay into a pod's network namespace, for a kubelet that cannot route to pod IPs (an
 * endpoint on another machine): port-forward and tcpSocket/httpGet probes exec a small forwarder
 * (relay-binary.ts) in the container holding the pod's network namespace — the infra container,
 * which in relay mode every pod has, so the pod's own containers are never touched — and talk
 * through the exec's stdin/stdout. The binary is copied into that container once, on first use.
 */
import { Duplex } from "node:stream";
import { pack } from "tar-stream";
import type { PodEngine, StreamingEngine } from "./engine.js";
import { RELAY_ELF_AMD64, RELAY_PATH } from "./relay-binary.js";

/** The connection could not be made: errno is the forwarder's (111 ECONNREFUSED…). */
export class RelayConnectError extends Error {
  constructor(
    readonly port: number,
    readonly errno: number,
  ) {
    super(
      errno === 111
        ? `connection refused on port ${port} in the pod`
        : `the relay could not connect to port ${port} in the pod (errno ${errno})`,
    );
  }
}

export class PodRelay {
  private readonly installed = new Map<string, Promise<void>>();

  constructor(
    private readonly engine: Pick<PodEngine, "putArchive">,
    private readonly streams: Pick<StreamingEngine, "exec">,
  ) {}

  /** A connection to 127.0.0.1:port inside the network namespace of container `holder`. */
  async dial(holder: string, port: number, timeoutMs: number): Promise<Duplex> {
    await this.install(holder);
    const session = await this.streams.exec(holder, [RELAY_PATH, String(port)], {
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
    return connected(session.stream, port, timeoutMs);
  }

  /** Forget a container (removed with its pod). */
  forget(holder: string): void {
    this.installed.delete(holder);
  }

  private install(holder: string): Promise<void> {
    let done = this.installed.get(holder);
    if (!done) {
      done = relayTar().then((tar) => this.engine.putArchive(holder, "/", tar));
      done.catch(() => this.installed.delete(holder));
      this.installed.set(holder, done);
    }
    return done;
  }
}

async function relayTar(): Promise<Buffer> {
  const tar = pack();
  tar.entry({ name: RELAY_PATH.slice(1), mode: 0o755 }, RELAY_ELF_AMD64);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The exec's multiplexed stream as a plain connection: stdout frames are the data, after the
 * forwarder's first byte (0 once connected, else the errno); writes go to its stdin, end()
 * half-closes it.
 */
function connected(raw: Duplex, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0);
    /** The forwarder's first byte (0: connected), or -1 once failed here. */
    let status: number | undefined;
    const conn = new Duplex({
      read() {
        raw.resume();
      },
      write(chunk: Buffer, _enc, cb) {
        raw.write(chunk, cb);
      },
      final(cb) {
        raw.end();
        cb();
      },
      destroy(err, cb) {
        raw.destroy();
        cb(err);
      },
    });
    const timer = setTimeout(
      () => fail(new Error(`the relay did not connect within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (err: Error) => {
      if (status !== undefined) return;
      status = -1;
      clearTimeout(timer);
      reject(err);
      raw.destroy();
    };
    raw.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Frames: [stream type, 0, 0, 0, size (u32 big-endian)] then the payload.
      while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32BE(4)) {
        const size = pending.readUInt32BE(4);
        let payload = pending.subarray(8, 8 + size);
        const stdout = pending[0] === 1;
        pending = pending.subarray(8 + size);
        if (!stdout || payload.length === 0) continue;
        if (status === undefined) {
          status = payload[0] as number;
          payload = payload.subarray(1);
          clearTimeout(timer);
          if (status !== 0) {
            reject(new RelayConnectError(port, status));
            raw.destroy();
            return;
          }
          resolve(conn);
        }
        if (payload.length > 0 && !conn.push(payload)) raw.pause();
      }
    });
    raw.once("end", () => {
      if (status === undefined)
        fail(new Error("the relay ended before connecting (is the container running?)"));
      else if (status === 0) conn.push(null);
    });
    // After a refusal or a timeout (status not 0) the stream's own teardown errors are nobody's.
    raw.on("error", (err: Error) => {
      if (status === undefined) fail(err);
      else if (status === 0) conn.destroy(err);
    });
  });
}
