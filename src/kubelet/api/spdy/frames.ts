/**
 * SPDY/3.1 frames (SPDY draft 3.1, sections 2.2 and 2.6), encoded and decoded without state.
 * Every frame has an 8-byte header: a control frame starts with the control bit, the version (3)
 * and its type; a data frame with its stream id. Both carry 8 bits of flags and a 24-bit length.
 * Header blocks travel compressed: the frames here carry them as the compressed bytes, and
 * header-zlib.ts turns them into names and values.
 */

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const MAX_FRAME_LENGTH = 0xffffff;

const TYPE = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

/** RST_STREAM status codes. */
export const RST = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  cancel: 5,
  internalError: 6,
  streamInUse: 8,
} as const;

export const GOAWAY_OK = 0;
export const GOAWAY_PROTOCOL_ERROR = 1;

export type Frame =
  | { type: "data"; streamId: number; fin: boolean; data: Buffer }
  | {
      type: "synStream";
      streamId: number;
      associatedId: number;
      priority: number;
      fin: boolean;
      headerBlock: Buffer;
    }
  | { type: "synReply"; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: "headers"; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: "rstStream"; streamId: number; status: number }
  | { type: "settings" }
  | { type: "ping"; id: number }
  | { type: "goAway"; lastGoodStreamId: number; status: number }
  | { type: "windowUpdate"; streamId: number; delta: number }
  /** A control frame type this version does not define: skipped, as the protocol asks. */
  | { type: "unknown"; frameType: number };

/** The peer broke the protocol: the connection cannot go on. */
export class SpdyProtocolError extends Error {}

const ID_MASK = 0x7fffffff;

/**
 * The first complete frame in `buffer` and the bytes it took; undefined while the frame is not
 * complete yet.
 */
export function readFrame(buffer: Buffer): { frame: Frame; size: number } | undefined {
  if (buffer.length < 8) return undefined;
  const length = buffer.readUIntBE(5, 3);
  const size = 8 + length;
  if (buffer.length < size) return undefined;
  const flags = buffer[4] as number;
  const body = buffer.subarray(8, size);
  const first = buffer.readUInt32BE(0);
  if ((first & 0x80000000) === 0) {
    return { frame: { type: "data", streamId: first, fin: (flags & FLAG_FIN) !== 0, data: body }, size };
  }
  const version = (first >>> 16) & 0x7fff;
  if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
  return { frame: controlFrame(first & 0xffff, flags, body), size };
}

function need(body: Buffer, bytes: number, what: string): void {
  if (body.length < bytes) throw new SpdyProtocolError(`${what} frame too short (${body.length} bytes)`);
}

function controlFrame(frameType: number, flags: number, body: Buffer): Frame {
  const fin = (flags & FLAG_FIN) !== 0;
  switch (frameType) {
    case TYPE.synStream:
      need(body, 10, "SYN_STREAM");
      return {
        type: "synStream",
        streamId: body.readUInt32BE(0) & ID_MASK,
        associatedId: body.readUInt32BE(4) & ID_MASK,
        priority: (body[8] as number) >>> 5,
        fin,
        headerBlock: body.subarray(10),
      };
    case TYPE.synReply:
      need(body, 4, "SYN_REPLY");
      return {
        type: "synReply",
        streamId: body.readUInt32BE(0) & ID_MASK,
        fin,
        headerBlock: body.subarray(4),
      };
    case TYPE.headers:
      need(body, 4, "HEADERS");
      return {
        type: "headers",
        streamId: body.readUInt32BE(0) & ID_MASK,
        fin,
        headerBlock: body.subarray(4),
      };
    case TYPE.rstStream:
      need(body, 8, "RST_STREAM");
      return { type: "rstStream", streamId: body.readUInt32BE(0) & ID_MASK, status: body.readUInt32BE(4) };
    case TYPE.settings:
      return { type: "settings" };
    case TYPE.ping:
      need(body, 4, "PING");
      return { type: "ping", id: body.readUInt32BE(0) };
    case TYPE.goAway:
      need(body, 4, "GOAWAY");
      return {
        type: "goAway",
        lastGoodStreamId: body.readUInt32BE(0) & ID_MASK,
        status: body.length >= 8 ? body.readUInt32BE(4) : GOAWAY_OK,
      };
    case TYPE.windowUpdate:
      need(body, 8, "WINDOW_UPDATE");
      return {
        type: "windowUpdate",
        streamId: body.readUInt32BE(0) & ID_MASK,
        delta: body.readUInt32BE(4) & ID_MASK,
      };
    default:
      return { type: "unknown", frameType };
  }
}

function control(frameType: number, flags: number, body: Buffer): Buffer {
  if (body.length > MAX_FRAME_LENGTH) throw new RangeError(`SPDY frame body of ${body.length} bytes`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(frameType, 2);
  head[4] = flags;
  head.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([head, body]);
}

function words(...values: number[]): Buffer {
  const body = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => body.writeUInt32BE(v >>> 0, i * 4));
  return body;
}

export function dataFrame(streamId: number, data: Buffer, fin = false): Buffer {
  if (data.length > MAX_FRAME_LENGTH) throw new RangeError(`SPDY frame body of ${data.length} bytes`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & ID_MASK, 0);
  head[4] = fin ? FLAG_FIN : 0;
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

export function synStreamFrame(streamId: number, headerBlock: Buffer, fin = false, priority = 0): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & ID_MASK, 0);
  fixed[8] = (priority & 0x7) << 5;
  return control(TYPE.synStream, fin ? FLAG_FIN : 0, Buffer.concat([fixed, headerBlock]));
}

export function synReplyFrame(streamId: number, headerBlock: Buffer, fin = false): Buffer {
  return control(TYPE.synReply, fin ? FLAG_FIN : 0, Buffer.concat([words(streamId & ID_MASK), headerBlock]));
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  return control(TYPE.rstStream, 0, words(streamId & ID_MASK, status));
}

export function pingFrame(id: number): Buffer {
  return control(TYPE.ping, 0, words(id));
}

export function goAwayFrame(lastGoodStreamId: number, status = GOAWAY_OK): Buffer {
  return control(TYPE.goAway, 0, words(lastGoodStreamId & ID_MASK, status));
}

export function windowUpdateFrame(streamId: number, delta: number): Buffer {
  return control(TYPE.windowUpdate, 0, words(streamId & ID_MASK, delta & ID_MASK));
}

export function settingsFrame(entries: Array<{ id: number; value: number }>): Buffer {
  return control(
    TYPE.settings,
    0,
    words(entries.length, ...entries.flatMap((e) => [e.id & 0xffffff, e.value])),
  );
}

/** Header names and values; several values of one name are joined with NUL, as on the wire. */
export type SpdyHeaders = Record<string, string>;

/** An uncompressed header block: a count, then length-prefixed names and values (names lowercase). */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [words(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), "utf8");
    const v = Buffer.from(value, "utf8");
    parts.push(words(n.length), n, words(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let offset = 0;
  const take = (what: string): Buffer => {
    if (offset + 4 > block.length) throw new SpdyProtocolError(`header block ends inside a ${what} length`);
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (offset + length > block.length) throw new SpdyProtocolError(`header block ends inside a ${what}`);
    const bytes = block.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  if (block.length < 4) throw new SpdyProtocolError("header block without its count");
  const count = block.readUInt32BE(0);
  offset = 4;
  // No prototype: a peer's "__proto__" or "constructor" is just a name.
  const headers = Object.create(null) as SpdyHeaders;
  for (let i = 0; i < count; i++) {
    const name = take("name").toString("utf8").toLowerCase();
    const value = take("value").toString("utf8");
    if (name === "") throw new SpdyProtocolError("empty header name");
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}\0${value}` : value;
  }
  return headers;
}
