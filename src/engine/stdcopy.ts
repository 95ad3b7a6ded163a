/**
 * The engine's multiplexed stream format (logs, exec and attach of containers without a tty):
 * frames of an 8-byte header — stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, payload
 * length as big-endian uint32 — then the payload. Frames may arrive split across chunks.
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";

export interface Frame {
  stream: number;
  payload: Buffer;
}

const HEADER = 8;

export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Frames completed by this chunk, in order. */
  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buffered.length >= HEADER) {
      const size = this.buffered.readUInt32BE(4);
      if (this.buffered.length < HEADER + size) break;
      frames.push({
        stream: this.buffered[0] as number,
        payload: this.buffered.subarray(HEADER, HEADER + size),
      });
      this.buffered = this.buffered.subarray(HEADER + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame left at the end. */
  get pending(): number {
    return this.buffered.length;
  }
}

/** stdout and stderr payloads in arrival order, as one stream (what `kubectl logs` shows). */
export class MergedFrames extends Transform {
  private readonly decoder = new FrameDecoder();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const f of this.decoder.push(chunk)) if (f.stream === 1 || f.stream === 2) this.push(f.payload);
    done();
  }
}

/** Passes at most `limit` bytes, then ends (limitBytes of containerLogs). */
export class ByteLimit extends Transform {
  private left: number;

  constructor(limit: number) {
    super();
    this.left = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.left <= 0) return done();
    const part = chunk.length > this.left ? chunk.subarray(0, this.left) : chunk;
    this.left -= part.length;
    this.push(part);
    if (this.left <= 0) {
      this.push(null);
      // Nothing more is wanted: let the source go (a follow would otherwise never end).
      this.emit("limit");
    }
    done();
  }
}

/** Split a multiplexed (or, with a tty, raw) stream into stdout and stderr streams. */
export function splitStreams(
  source: Readable,
  tty: boolean,
  wanted: { stdout: boolean; stderr: boolean },
): { stdout?: PassThrough; stderr?: PassThrough; ended: Promise<void> } {
  const stdout = wanted.stdout || tty ? new PassThrough() : undefined;
  const stderr = wanted.stderr && !tty ? new PassThrough() : undefined;
  const decoder = new FrameDecoder();
  // A reader that falls behind holds the engine back instead of filling memory.
  const write = (target: PassThrough | undefined, data: Buffer) => {
    if (target && !target.write(data)) {
      source.pause();
      target.once("drain", () => source.resume());
    }
  };
  source.on("data", (chunk: Buffer) => {
    if (tty) return write(stdout, chunk);
    for (const f of decoder.push(chunk)) {
      if (f.stream === 1) write(stdout, f.payload);
      else if (f.stream === 2) write(stderr, f.payload);
    }
  });
  const ended = new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      stdout?.end();
      stderr?.end();
      resolve();
    };
    source.once("end", finish);
    source.once("close", finish);
    source.once("error", finish);
  });
  return { ...(stdout ? { stdout } : {}), ...(stderr ? { stderr } : {}), ended };
}
