/**
 * Engine calls of the kubelet's pod work have a deadline: against an endpoint that accepts
 * connections and never answers (a hung engine), a call fails in time instead of pinning the
 * worker that made it (and stop's deadline includes its grace period).
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect } from "../../src/engine/client.js";
import { DockerPodEngine } from "../../src/kubelet/provider/docker-engine.js";

describe("DockerPodEngine deadlines", () => {
  const sockets = new Set<Socket>();
  const hung = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  let port = 0;
  before(async () => {
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    port = (hung.address() as AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => hung.close(() => resolve()));
  });

  it("fails a call to a hung engine after the deadline and aborts its request", async () => {
    const endpoint = {
      url: `tcp://127.0.0.1:${port}`,
      source: "flag" as const,
      protocol: "tcp" as const,
      host: "127.0.0.1",
      port,
    };
    // As the kubelet connects for pod work: no idle timeout on the client itself.
    const engine = new DockerPodEngine(connect(endpoint, { timeoutMs: 0 }), 300);
    const started = Date.now();
    await assert.rejects(engine.inspectContainer("c1"), /did not answer in time/);
    const took = Date.now() - started;
    assert.ok(took >= 280 && took < 2000, `took ${took} ms`);
    const stopping = Date.now();
    await assert.rejects(engine.stopContainer("c1", 1), /did not answer in time/);
    const stopTook = Date.now() - stopping;
    assert.ok(stopTook >= 1280 && stopTook < 3000, `stop took ${stopTook} ms`);
  });
});
