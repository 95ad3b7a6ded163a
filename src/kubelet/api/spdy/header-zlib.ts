/**
 * SPDY/3 header compression: one zlib stream per direction for the whole connection, primed with
 * the SPDY/3 dictionary, each header block ending on a sync flush so the peer can read it at once.
 * zlib runs asynchronously, so blocks go through one at a time, in frame order.
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";
import { SPDY3_DICTIONARY } from "./dictionary.js";
import { decodeHeaderBlock, encodeHeaderBlock, SpdyProtocolError, type SpdyHeaders } from "./frames.js";

/** A decompressed header block larger than this is refused (a zlib bomb, not headers). */
const MAX_HEADER_BLOCK = 256 * 1024;

/** Push `input` through the zlib stream and collect what a sync flush yields. */
function flushThrough(z: Deflate | Inflate, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    };
    const onError = (err: Error) => {
      z.off("data", onData);
      reject(new SpdyProtocolError(`header block: ${err.message}`));
    };
    z.on("data", onData);
    z.once("error", onError);
    z.write(input);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off("data", onData);
      z.off("error", onError);
      if (size > limit) reject(new SpdyProtocolError(`header block over ${limit} bytes`));
      else resolve(Buffer.concat(chunks));
    });
  });
}

/** Runs tasks one after another (zlib state is shared by every block of a direction). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class HeaderCompressor {
  private readonly deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly serial = new Serial();

  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.serial.run(() => flushThrough(this.deflate, encodeHeaderBlock(headers), Infinity));
  }

  close(): void {
    this.deflate.close();
  }
}

export class HeaderDecompressor {
  private readonly inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly serial = new Serial();

  decompress(block: Buffer): Promise<SpdyHeaders> {
    if (block.length === 0) return Promise.resolve(Object.create(null) as SpdyHeaders);
    return this.serial.run(async () =>
      decodeHeaderBlock(await flushThrough(this.inflate, block, MAX_HEADER_BLOCK)),
    );
  }

  close(): void {
    this.inflate.close();
  }
}
