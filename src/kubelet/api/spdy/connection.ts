/**
 * A SPDY/3.1 connection over any duplex socket (after an HTTP upgrade), as Kubernetes uses it:
 * streams opened with SYN_STREAM and a few headers, answered with SYN_REPLY, carrying bytes both
 * ways until each side sends FIN (or RST_STREAM cancels), PING echoed, GOAWAY to finish.
 *
 * Flow control: Kubernetes' SPDY (moby/spdystream, on API servers and kubectl) never sends
 * WINDOW_UPDATE and never waits for one, so windows are not enforced on what is sent here
 * (as on a kubelet); TCP's backpressure paces the socket instead. What is received is credited
 * back at once, so a peer that does keep windows is never stalled.
 */
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import {
  dataFrame,
  goAwayFrame,
  GOAWAY_OK,
  GOAWAY_PROTOCOL_ERROR,
  pingFrame,
  readFrame,
  RST,
  rstStreamFrame,
  SpdyProtocolError,
  synReplyFrame,
  synStreamFrame,
  windowUpdateFrame,
  type Frame,
  type SpdyHeaders,
} from "./frames.js";
import { HeaderCompressor, HeaderDecompressor } from "./header-zlib.js";

/** Data frames are cut at this size so that one stream's output does not hold up the others. */
const MAX_DATA_CHUNK = 32 * 1024;
const EMPTY = Buffer.alloc(0);

export type SpdyRole = "server" | "client";

/** One SPDY stream: a duplex whose end() sends FIN and whose destroy() before both FINs resets it. */
export class SpdyStream extends Duplex {
  private localDone = false;
  private remoteDone = false;

  get remoteEnded(): boolean {
    return this.remoteDone;
  }
  /** Settles when the peer answered the SYN_STREAM this side sent (rejects on a reset). */
  readonly replied: Promise<void>;
  private settleReply: (err?: Error) => void = () => undefined;

  constructor(
    private readonly connection: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
    this.replied = new Promise<void>((resolve, reject) => {
      this.settleReply = (err) => (err ? reject(err) : resolve());
    });
    this.replied.catch(() => undefined);
  }

  /** A header, by lowercase name. */
  header(name: string): string | undefined {
    return Object.hasOwn(this.headers, name) ? this.headers[name] : undefined;
  }

  /** Accept a stream the peer opened (SYN_REPLY without headers, as a kubelet answers). */
  reply(): Promise<void> {
    return this.connection.send(() => this.connection.replyBlock(this.id));
  }

  override _read(): void {
    this.connection.resumeSocket();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.connection.sendData(this.id, chunk, false).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.connection.sendData(this.id, EMPTY, true).then(() => {
      this.localDone = true;
      this.settleIfDone();
      callback();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!(this.localDone && this.remoteDone)) this.connection.reset(this.id, RST.cancel);
    this.connection.forget(this.id);
    this.settleReply(new Error(`stream ${this.id} closed before its reply`));
    callback(error);
  }

  /** Frames from the peer. */
  onData(data: Buffer, fin: boolean): boolean {
    let more = true;
    if (data.length > 0 && !this.remoteDone) more = this.push(data);
    if (fin) this.onRemoteFin();
    return more;
  }

  onRemoteFin(): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.push(null);
    this.settleIfDone();
  }

  onReply(): void {
    this.settleReply();
  }

  onReset(status: number): void {
    this.remoteDone = true;
    this.localDone = true;
    this.settleReply(new Error(`stream ${this.id} reset by the peer (status ${status})`));
    this.destroy();
  }

  private settleIfDone(): void {
    if (this.localDone && this.remoteDone) this.connection.forget(this.id);
  }
}

export interface SpdyConnectionEvents {
  /** The peer opened a stream: reply() to accept it, destroy() to refuse it. */
  stream: [SpdyStream];
  /** The peer sent GOAWAY: no new streams will come. */
  goaway: [];
  close: [];
}

export class SpdyConnection extends EventEmitter<SpdyConnectionEvents> {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private buffer: Buffer = EMPTY;
  private reading = false;
  private inputDone = false;
  private sending: Promise<void> = Promise.resolve();
  private nextId: number;
  private lastPeerId = 0;
  private closed = false;
  /** This side sent GOAWAY. */
  private goingAway = false;
  /** The peer sent GOAWAY. */
  private peerGoneAway = false;

  constructor(
    private readonly socket: Duplex,
    private readonly role: SpdyRole,
    head: Buffer = EMPTY,
  ) {
    super();
    this.nextId = role === "client" ? 1 : 2;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    // The peer stopped sending: frames already received are still handled, queued ones still sent.
    socket.once("end", () => this.inputEnded());
    socket.once("close", () => this.inputEnded());
    socket.on("error", () => this.destroy());
    if (head.length > 0) this.receive(head);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Open a stream (the client's side: Kubernetes streams are always opened by the client). */
  openStream(headers: SpdyHeaders): SpdyStream {
    if (this.closed || this.goingAway || this.peerGoneAway) throw new Error("the SPDY connection is closing");
    const id = this.nextId;
    this.nextId += 2;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    void this.send(async () => synStreamFrame(id, await this.compressor.compress(headers))).catch(() =>
      stream.destroy(),
    );
    return stream;
  }

  /** GOAWAY, then end the socket once everything queued before it is written. */
  async close(): Promise<void> {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    await this.send(() => goAwayFrame(this.lastPeerId, GOAWAY_OK)).catch(() => undefined);
    this.socket.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    // A stream the peer finished keeps what it received until its reader took it.
    for (const stream of [...this.streams.values()]) {
      if (stream.remoteEnded && !stream.readableEnded) stream.once("end", () => stream.destroy());
      else stream.destroy();
    }
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    this.emit("close");
  }

  /** Queue a frame: frames leave in the order they were queued, SYN_REPLY before its data. */
  send(frame: Buffer | (() => Buffer | Promise<Buffer>)): Promise<void> {
    const next = this.sending.then(async () => {
      if (this.closed || !this.socket.writable) throw new Error("the SPDY connection is closed");
      const bytes = typeof frame === "function" ? await frame() : frame;
      if (this.socket.write(bytes)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off("drain", done);
          this.socket.off("close", done);
          resolve();
        };
        this.socket.on("drain", done);
        this.socket.on("close", done);
      });
    });
    this.sending = next.catch(() => undefined);
    return next;
  }

  async replyBlock(id: number): Promise<Buffer> {
    return synReplyFrame(id, await this.compressor.compress({}));
  }

  async sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    if (data.length === 0) return this.send(dataFrame(id, EMPTY, fin));
    for (let at = 0; at < data.length; at += MAX_DATA_CHUNK) {
      const last = at + MAX_DATA_CHUNK >= data.length;
      await this.send(dataFrame(id, data.subarray(at, at + MAX_DATA_CHUNK), fin && last));
    }
  }

  reset(id: number, status: number): void {
    if (!this.closed) void this.send(rstStreamFrame(id, status)).catch(() => undefined);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  resumeSocket(): void {
    if (!this.closed) this.socket.resume();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.reading) void this.drain();
  }

  private async drain(): Promise<void> {
    this.reading = true;
    try {
      for (;;) {
        const next = readFrame(this.buffer);
        if (!next) break;
        this.buffer = this.buffer.subarray(next.size);
        await this.handle(next.frame);
        if (this.closed) return;
      }
    } catch (err) {
      const status = err instanceof SpdyProtocolError ? GOAWAY_PROTOCOL_ERROR : GOAWAY_OK;
      await this.send(goAwayFrame(this.lastPeerId, status)).catch(() => undefined);
      this.destroy();
    } finally {
      this.reading = false;
      if (this.inputDone) this.destroyWhenIdle();
    }
  }

  private inputEnded(): void {
    this.inputDone = true;
    this.destroyWhenIdle();
  }

  private destroyWhenIdle(): void {
    if (!this.reading) void this.sending.then(() => this.destroy());
  }

  private async handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case "data": {
        const stream = this.streams.get(frame.streamId);
        // Data after a reset, or for a stream never opened, is dropped (as spdystream does).
        if (!stream) return;
        if (!stream.onData(frame.data, frame.fin)) this.socket.pause();
        if (frame.data.length > 0) {
          void this.send(windowUpdateFrame(frame.streamId, frame.data.length)).catch(() => undefined);
          void this.send(windowUpdateFrame(0, frame.data.length)).catch(() => undefined);
        }
        return;
      }
      case "synStream": {
        // Decompressed even when refused: the zlib state must follow every header block.
        const headers = await this.decompressor.decompress(frame.headerBlock);
        const fromPeer = frame.streamId % 2 === (this.role === "server" ? 1 : 0);
        if (!fromPeer || frame.streamId <= this.lastPeerId)
          throw new SpdyProtocolError(`stream id ${frame.streamId} out of order`);
        this.lastPeerId = frame.streamId;
        if (this.goingAway) return this.reset(frame.streamId, RST.refusedStream);
        const stream = new SpdyStream(this, frame.streamId, headers);
        this.streams.set(frame.streamId, stream);
        if (frame.fin) stream.onRemoteFin();
        if (this.listenerCount("stream") === 0) stream.destroy();
        else this.emit("stream", stream);
        return;
      }
      case "synReply": {
        await this.decompressor.decompress(frame.headerBlock);
        const stream = this.streams.get(frame.streamId);
        stream?.onReply();
        if (frame.fin) stream?.onRemoteFin();
        return;
      }
      case "headers": {
        await this.decompressor.decompress(frame.headerBlock);
        if (frame.fin) this.streams.get(frame.streamId)?.onRemoteFin();
        return;
      }
      case "rstStream":
        this.streams.get(frame.streamId)?.onReset(frame.status);
        return;
      case "ping": {
        // Pings the peer started (odd from a client, even from a server) are echoed.
        const fromPeer = frame.id % 2 === (this.role === "server" ? 1 : 0);
        if (fromPeer) await this.send(pingFrame(frame.id));
        return;
      }
      case "goAway":
        this.peerGoneAway = true;
        this.emit("goaway");
        return;
      case "settings":
      case "windowUpdate":
      case "unknown":
        return;
    }
  }
}
