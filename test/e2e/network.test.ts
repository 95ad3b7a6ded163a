/**
 * `create --network NET [--ip IP]`: the host sits on a container network at its own address
 * (the VIC "container network" case) instead of a published port. The real docker CLI
 * reaches it from a client container on the same network (traffic stays on this engine's
 * bridge), verifying TLS against the address in the certificate.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";

// Neither the outer bridge (172.17/16) nor the inner engines' ranges (10.213/24, 10.214/16).
const SUBNET = "10.231.0.0/24";
const FIXED_IP = "10.231.0.10";

describe("hosts on a container network (real engine, real docker CLI)", () => {
  let box: Sandbox;
  let engine: EngineClient;
  const id = runId("net");
  const network = `${id}-lan`;
  const fixed = `${id}-fixed`;
  const dynamic = `${id}-dyn`;

  const hostDir = (host: string) => join(box.store, "hosts", host);
  const sans = (host: string) =>
    new X509Certificate(readFileSync(join(hostDir(host), "server.pem"))).subjectAltName ?? "";
  /** `docker version` from a client container on the network, with the host's client certificates. */
  const versionFromNetwork = (host: string, url: string) =>
    box.docker([
      "run",
      "--rm",
      "--label",
      `io.dinv.test=${id}`,
      "--network",
      network,
      "--entrypoint",
      "docker",
      "-v",
      `${hostDir(host)}:/certs:ro`,
      HOST_IMAGE,
      "--tlsverify",
      "--tlscacert=/certs/ca.pem",
      "--tlscert=/certs/cert.pem",
      "--tlskey=/certs/key.pem",
      `--host=${url}`,
      "version",
      "--format",
      "{{.Server.Version}}",
    ]);

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    await engine.docker.createNetwork({
      Name: network,
      Driver: "bridge",
      IPAM: { Config: [{ Subnet: SUBNET }] },
      Labels: { "io.dinv.test": id },
    });
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", fixed, dynamic]);
    for (const host of [fixed, dynamic]) await removeLabelled(engine, host, "io.dinv.host");
    await removeLabelled(engine, id);
    await engine.docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    box.cleanup();
  });

  it("refuses --ip without --network, and an --ip that is no address", async () => {
    assertCleanFailure(await box.dinv(["create", "--ip", FIXED_IP, `${id}-x`]), /--ip goes with --network/);
    assertCleanFailure(
      await box.dinv(["create", "--network", network, "--ip", "10.231.0.999", `${id}-x`]),
      /10\.231\.0\.999/,
    );
  });

  it("creates a host at a fixed --ip: no published port, the certificate names the address", async () => {
    assertOk(await box.dinv(["create", "--network", network, "--ip", FIXED_IP, fixed]), "create");
    const url = await box.dinv(["url", fixed]);
    assertOk(url, "url");
    assert.equal(url.stdout.trim(), `tcp://${FIXED_IP}:2376`);
    assert.match(sans(fixed), new RegExp(`IP Address:${FIXED_IP.replace(/\./g, "\\.")}\\b`));

    const container = await engine.docker.getContainer(`dinv-${fixed}`).inspect();
    assert.deepEqual(container.HostConfig.PortBindings ?? {}, {}, "nothing published on the endpoint");
    assert.equal(container.NetworkSettings.Networks[network]?.IPAMConfig?.IPv4Address, FIXED_IP);

    const version = await versionFromNetwork(fixed, `tcp://${FIXED_IP}:2376`);
    assertOk(version, "docker version from the network");
    assert.match(version.stdout.trim(), /^\d+\.\d+/);
  });

  it("creates a host without --ip: the address is read after start and the certificate follows it", async () => {
    assertOk(await box.dinv(["create", "--network", network, dynamic]), "create");
    const ip = (await box.dinv(["ip", dynamic])).stdout.trim();
    assert.match(ip, /^10\.231\.0\.\d+$/, "an address on the network");
    assert.match(sans(dynamic), new RegExp(`IP Address:${ip.replace(/\./g, "\\.")}\\b`));
    const version = await versionFromNetwork(dynamic, `tcp://${ip}:2376`);
    assertOk(version, "docker version from the network");
  });

  it("keeps the address across stop and start", async () => {
    assertOk(await box.dinv(["stop", fixed]), "stop");
    assertOk(await box.dinv(["start", fixed]), "start");
    const ls = await box.dinv([
      "ls",
      "--filter",
      `name=${fixed}`,
      "--format",
      "{{.Name}} {{.State}} {{.URL}}",
    ]);
    assertOk(ls, "ls");
    assert.equal(ls.stdout.trim(), `${fixed} Running tcp://${FIXED_IP}:2376`);
    assertOk(await versionFromNetwork(fixed, `tcp://${FIXED_IP}:2376`), "docker version after restart");
  });
});
