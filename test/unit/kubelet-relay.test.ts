/** The relay's client side (pod-relay.ts) and probes through a dial function, without an engine. */
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type AddressInfo } from "node:net";
import { Duplex, PassThrough } from "node:stream";
import { describe, it } from "node:test";
import type { EngineSession } from "../../src/kubelet/provider/engine.js";
import { PodRelay, RelayConnectError } from "../../src/kubelet/provider/pod-relay.js";
import { runHandler } from "../../src/kubelet/provider/probes.js";
import { RELAY_ELF_AMD64, RELAY_PATH } from "../../src/kubelet/provider/relay-binary.js";

/** A docker stream frame: [type, 0, 0, 0, size u32 BE] + payload. */
function frame(type: 1 | 2, payload: Buffer | string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** An exec connection: what the kubelet writes arrives in `stdin`; `reply` is what the forwarder prints. */
function fakeExec() {
  const stdin = new PassThrough();
  const output = new PassThrough();
  const stream = Duplex.from({ writable: stdin, readable: output });
  const calls: Array<{ id: string; command: string[] }> = [];
  const archives: Array<{ id: string; path: string; size: number }> = [];
  const relay = new PodRelay(
    {
      putArchive: async (id, path, tar) => {
        archives.push({ id, path, size: tar.length });
      },
    },
    {
      exec: async (id, command): Promise<EngineSession> => {
        calls.push({ id, command });
        return { stream, resize: async () => undefined, exitCode: async () => 0 };
      },
    },
  );
  return { relay, stdin, output, calls, archives };
}

describe("PodRelay", () => {
  it("copies the forwarder in once, execs it with the port, and carries data after its 'connected' byte", async () => {
    const { relay, stdin, output, calls, archives } = fakeExec();
    const pending = relay.dial("infra-1", 8080, 1000);
    await new Promise((r) => setImmediate(r));
    // One frame carrying the status byte and the first data; stderr frames are not data.
    output.write(
      Buffer.concat([frame(2, "noise"), frame(1, Buffer.concat([Buffer.from([0]), Buffer.from("HEL")]))]),
    );
    const conn = await pending;
    output.end(frame(1, "LO"));
    let got = "";
    conn.on("data", (c: Buffer) => (got += c.toString()));
    await new Promise((r) => conn.on("end", r));
    assert.equal(got, "HELLO");
    conn.end("ping");
    assert.equal((stdin.read() as Buffer | null)?.toString(), "ping", "writes go to the exec's stdin");
    assert.deepEqual(calls, [{ id: "infra-1", command: [RELAY_PATH, "8080"] }]);
    assert.equal(archives.length, 1);
    assert.ok(archives[0]!.size > RELAY_ELF_AMD64.length);
    await relay.dial("infra-1", 9090, 10).catch(() => undefined);
    assert.equal(archives.length, 1, "installed once per container");
  });

  it("rejects with the forwarder's errno when it cannot connect, and times out when it says nothing", async () => {
    const refused = fakeExec();
    const pending = refused.relay.dial("infra-1", 8081, 1000);
    await new Promise((r) => setImmediate(r));
    refused.output.write(frame(1, Buffer.from([111])));
    await assert.rejects(pending, (err: unknown) => err instanceof RelayConnectError && err.errno === 111);
    const silent = fakeExec();
    await assert.rejects(silent.relay.dial("infra-1", 8080, 50), /did not connect within 50 ms/);
  });

  it("is a real forwarder: a static x86-64 ELF", () => {
    assert.deepEqual([...RELAY_ELF_AMD64.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    assert.equal(RELAY_ELF_AMD64.readUInt16LE(18), 0x3e);
  });
});

describe("probes through a dial function (relay mode)", () => {
  const target = { containerId: "c", container: { name: "main" }, podIP: undefined };

  it("tcpSocket and httpGet use the dial, not the pod IP (there is none here)", async () => {
    const http = createHttpServer((req, res) => res.writeHead(req.url === "/ok" ? 200 : 500).end());
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as AddressInfo).port;
    const dialed: number[] = [];
    const dial = (p: number) => {
      dialed.push(p);
      return new Promise<Duplex>((resolve, reject) => {
        const s = connect(p, "127.0.0.1", () => resolve(s)).once("error", reject);
      });
    };
    try {
      assert.deepEqual(
        await runHandler(
          {
            exec: async () => {
              throw new Error("no exec");
            },
          },
          { tcpSocket: { port } },
          { ...target, dial },
          1000,
        ),
        { ok: true, message: "" },
      );
      assert.equal(
        (
          await runHandler(
            {
              exec: async () => {
                throw new Error("no exec");
              },
            },
            { httpGet: { port, path: "/ok" } },
            { ...target, dial },
            1000,
          )
        ).ok,
        true,
      );
      const bad = await runHandler(
        {
          exec: async () => {
            throw new Error("no exec");
          },
        },
        { httpGet: { port, path: "/bad" } },
        { ...target, dial },
        1000,
      );
      assert.match(bad.message, /statuscode: 500/);
      assert.deepEqual(dialed, [port, port, port]);
    } finally {
      http.close();
    }
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const unused = (closed.address() as AddressInfo).port;
    closed.close();
    const failed = await runHandler(
      {
        exec: async () => {
          throw new Error("no exec");
        },
      },
      { tcpSocket: { port: unused } },
      { ...target, dial },
      1000,
    );
    assert.equal(failed.ok, false);
  });
});
