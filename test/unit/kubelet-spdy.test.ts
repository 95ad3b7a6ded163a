/**
 * The SPDY/3.1 framing of the kubelet API: the header dictionary, every frame's encoding, header
 * blocks through the shared zlib streams, and two connections talking over a real TCP socket.
 * (Interoperability with Go's SPDY — kubectl — is in test/e2e/kubelet-api.test.ts.)
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { SpdyConnection, type SpdyStream } from "../../src/kubelet/api/spdy/connection.js";
import { SPDY3_DICTIONARY } from "../../src/kubelet/api/spdy/dictionary.js";
import {
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  goAwayFrame,
  pingFrame,
  readFrame,
  rstStreamFrame,
  settingsFrame,
  SpdyProtocolError,
  synReplyFrame,
  synStreamFrame,
  windowUpdateFrame,
} from "../../src/kubelet/api/spdy/frames.js";
import { HeaderCompressor, HeaderDecompressor } from "../../src/kubelet/api/spdy/header-zlib.js";
import { relaySpdySession } from "../../src/kubelet/api/spdy-exec.js";
import type { ContainerSession } from "../../src/kubelet/provider-api.js";

function read(bytes: Buffer) {
  const result = readFrame(bytes);
  assert.ok(result, "a complete frame");
  assert.equal(result.size, bytes.length);
  return result.frame;
}

function collect(stream: SpdyStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    stream.on("data", (c: Buffer) => (text += c.toString()));
    stream.once("end", () => resolve(text));
    stream.once("error", reject);
  });
}

describe("SPDY/3.1 frames", () => {
  it("builds the SPDY/3 header dictionary byte for byte", () => {
    // Length and digest of the dictionary as spdy-transport ships it (an independent copy).
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(
      createHash("sha256").update(SPDY3_DICTIONARY).digest("hex"),
      "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02",
    );
  });

  it("encodes and decodes every frame it uses", () => {
    const block = Buffer.from("compressed");
    assert.deepEqual(read(dataFrame(5, Buffer.from("abc"), true)), {
      type: "data",
      streamId: 5,
      fin: true,
      data: Buffer.from("abc"),
    });
    assert.deepEqual(read(synStreamFrame(7, block, false, 3)), {
      type: "synStream",
      streamId: 7,
      associatedId: 0,
      priority: 3,
      fin: false,
      headerBlock: block,
    });
    assert.deepEqual(read(synReplyFrame(7, block, true)), {
      type: "synReply",
      streamId: 7,
      fin: true,
      headerBlock: block,
    });
    assert.deepEqual(read(rstStreamFrame(9, 5)), { type: "rstStream", streamId: 9, status: 5 });
    assert.deepEqual(read(pingFrame(0xfffffff1)), { type: "ping", id: 0xfffffff1 });
    assert.deepEqual(read(goAwayFrame(11, 1)), { type: "goAway", lastGoodStreamId: 11, status: 1 });
    assert.deepEqual(read(windowUpdateFrame(3, 65536)), { type: "windowUpdate", streamId: 3, delta: 65536 });
    assert.deepEqual(read(settingsFrame([{ id: 7, value: 1 << 20 }])), { type: "settings" });
    // The wire layout of a control frame header: control bit, version 3, type, flags, length.
    assert.deepEqual([...pingFrame(1).subarray(0, 8)], [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04]);
  });

  it("waits for a whole frame, reads back-to-back frames, and refuses other versions", () => {
    const two = Buffer.concat([dataFrame(1, Buffer.from("x")), pingFrame(2)]);
    assert.equal(readFrame(two.subarray(0, 5)), undefined);
    assert.equal(readFrame(two.subarray(0, 8)), undefined);
    const first = readFrame(two);
    assert.equal(first?.size, 9);
    assert.equal(readFrame(two.subarray(first?.size))?.frame.type, "ping");
    const v2 = pingFrame(1);
    v2[1] = 2;
    assert.throws(() => readFrame(v2), SpdyProtocolError);
    const short = Buffer.from([0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00]);
    assert.throws(() => readFrame(short), /RST_STREAM frame too short/);
  });

  it("encodes header blocks with lowercase names, NUL-joined values, and no prototype tricks", () => {
    const block = encodeHeaderBlock({ streamType: "error", port: "8080" });
    assert.deepEqual({ ...decodeHeaderBlock(block) }, { streamtype: "error", port: "8080" });
    const twice = Buffer.concat([
      Buffer.from([0, 0, 0, 2]),
      encodeHeaderBlock({ a: "1" }).subarray(4),
      encodeHeaderBlock({ a: "2" }).subarray(4),
    ]);
    assert.equal(decodeHeaderBlock(twice).a, "1\u00002");
    const proto = decodeHeaderBlock(encodeHeaderBlock({ constructor: "x", ["__proto__"]: "y" }));
    assert.equal(proto.constructor, "x");
    assert.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 9])), SpdyProtocolError);
  });

  it("keeps one zlib stream per direction across header blocks", async () => {
    const compressor = new HeaderCompressor();
    const decompressor = new HeaderDecompressor();
    const blocks = await Promise.all(
      ["error", "stdin", "stdout", "stderr"].map((t) => compressor.compress({ streamtype: t })),
    );
    // Later blocks reuse the first one's history: they only decompress in order, on the same stream.
    for (const [i, t] of ["error", "stdin", "stdout", "stderr"].entries()) {
      assert.equal((await decompressor.decompress(blocks[i] as Buffer)).streamtype, t);
    }
    assert.ok((blocks[3] as Buffer).length < (blocks[0] as Buffer).length);
    await assert.rejects(new HeaderDecompressor().decompress(blocks[1] as Buffer), SpdyProtocolError);
    compressor.close();
    decompressor.close();
  });
});

describe("SPDY/3.1 connections over TCP", () => {
  let server: Server;
  let port = 0;
  const accepted: SpdyConnection[] = [];
  let onStream: (stream: SpdyStream) => void = () => undefined;
  let onConnection: (connection: SpdyConnection) => void = () => undefined;

  before(async () => {
    server = createServer((socket: Socket) => {
      const connection = new SpdyConnection(socket, "server");
      accepted.push(connection);
      connection.on("stream", (s) => onStream(s));
      onConnection(connection);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as { port: number }).port;
  });

  after(() => {
    for (const c of accepted) c.destroy();
    server.close();
  });

  async function client(): Promise<SpdyConnection> {
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    return new SpdyConnection(socket, "client");
  }

  it("opens streams, carries bytes both ways, and half-closes with FIN", async () => {
    onStream = (s) => {
      void s.reply();
      // An upper-casing echo that ends when the client ends.
      s.on("data", (c: Buffer) => s.write(c.toString().toUpperCase()));
      s.on("end", () => s.end(`[${s.header("streamtype")}]`));
    };
    const c = await client();
    const a = c.openStream({ streamType: "data", port: "80" });
    const b = c.openStream({ streamType: "error" });
    await Promise.all([a.replied, b.replied]);
    assert.equal(a.id, 1);
    assert.equal(b.id, 3);
    const [textA, textB] = [collect(a), collect(b)];
    a.end("hello ");
    b.write("big ");
    b.end(Buffer.alloc(300_000, "z"));
    assert.equal(await textA, "HELLO [data]");
    const bigText = await textB;
    assert.equal(bigText.length, 4 + 300_000 + "[error]".length);
    assert.ok(bigText.startsWith("BIG ZZZ") && bigText.endsWith("Z[error]"));
    await c.close();
  });

  it("resets a stream the other side destroys, and refuses streams nobody listens for", async () => {
    let serverSide: SpdyStream | undefined;
    onStream = (s) => {
      serverSide = s;
      void s.reply();
    };
    const c = await client();
    const s = c.openStream({ streamtype: "stdout" });
    await s.replied;
    const closed = once(s, "close");
    serverSide?.destroy();
    await closed;
    assert.ok(!s.readableEnded, "a reset is not a clean end");

    const lonely = new SpdyConnection(connect(port, "127.0.0.1"), "client");
    onStream = (stream) => stream.destroy();
    const refused = lonely.openStream({ streamtype: "stdin" });
    await assert.rejects(refused.replied, /reset by the peer/);
    lonely.destroy();
    c.destroy();
  });

  it("answers pings and stops on GOAWAY or a protocol error", async () => {
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    const frames: string[] = [];
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let next = readFrame(buffer); next; next = readFrame(buffer)) {
        buffer = buffer.subarray(next.size);
        frames.push(next.frame.type === "ping" ? `ping ${next.frame.id}` : next.frame.type);
      }
    });
    socket.write(pingFrame(7));
    socket.write(pingFrame(8)); // an even id would be the server's own ping: not echoed
    // A stream id the client may not use (even): GOAWAY with a protocol error, then the end.
    const compressor = new HeaderCompressor();
    socket.write(synStreamFrame(2, await compressor.compress({ streamtype: "x" })));
    await once(socket, "close");
    compressor.close();
    assert.deepEqual(frames, ["ping 7", "goAway"]);
  });

  it("tells a client that does not open its streams in time, on the error stream, and drops the session", async () => {
    let closed = false;
    const session: ContainerSession = {
      resize: async () => undefined,
      done: new Promise(() => undefined),
      close: () => (closed = true),
    };
    const options = { stdin: false, stdout: true, stderr: false, tty: false };
    let relayed: Promise<void> | undefined;
    onStream = () => undefined;
    onConnection = (connection) => {
      connection.removeAllListeners("stream");
      relayed = relaySpdySession(connection, "v4.channel.k8s.io", session, options, 200);
      relayed.catch(() => undefined);
    };
    const c = await client();
    const error = c.openStream({ streamType: "error" });
    await error.replied;
    const status = JSON.parse(await collect(error)) as { status: string; message: string };
    assert.equal(status.status, "Failure");
    assert.match(status.message, /timed out waiting for the client to create streams: stdout/);
    await assert.rejects(relayed as Promise<void>, /timed out/);
    assert.ok(closed, "the session is released");
    onConnection = () => undefined;
    c.destroy();
  });
});
