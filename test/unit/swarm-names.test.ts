/**
 * Swarm node names: a number is never given twice while the swarm lives, so scaling down and
 * back up makes a new name (the cause of the e2e's missing `-w3` context: names were taken
 * after the highest number in use, so the re-added worker was `-w2` again). The record keeps
 * the highest number given through a save and load.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { nextNodeNames, withNodes } from "../../src/host/swarm/node-names.js";
import { SWARM_CONFIG_VERSION, SwarmStore, type SwarmConfig } from "../../src/store/swarm-store.js";

const empty = (name = "sw"): SwarmConfig => ({
  version: SWARM_CONFIG_VERSION,
  name,
  createdAt: new Date(0).toISOString(),
  addrPool: "10.215.0.0/16",
  subnetSize: 24,
  endpoints: [{ url: "unix:///x.sock", network: `dinv-swarm-${name}`, madeByDinv: true }],
  nodes: [],
});
const without = (config: SwarmConfig, host: string): SwarmConfig => ({
  ...config,
  nodes: config.nodes.filter((n) => n.host !== host),
});
const add = (config: SwarmConfig, role: "manager" | "worker", count: number): SwarmConfig =>
  withNodes(
    config,
    nextNodeNames(config, role, count).map((host) => ({ host, role })),
  );

describe("swarm node names", () => {
  it("numbers each role from 1 at create", () => {
    const config = add(add(empty(), "manager", 3), "worker", 2);
    assert.deepEqual(
      config.nodes.map((n) => n.host),
      ["sw-m1", "sw-m2", "sw-m3", "sw-w1", "sw-w2"],
    );
    assert.deepEqual(config.lastIndex, { manager: 3, worker: 2 });
  });

  it("never gives a removed node's name again: scale 2 workers to 1 and back makes w3", () => {
    const created = add(add(empty(), "manager", 3), "worker", 2);
    const down = without(created, "sw-w2");
    assert.deepEqual(nextNodeNames(down, "worker", 1), ["sw-w3"]);
    const none = without(without(down, "sw-w1"), "sw-w3");
    assert.deepEqual(nextNodeNames(none, "worker", 2), ["sw-w3", "sw-w4"]);
    assert.deepEqual(nextNodeNames(without(created, "sw-m3"), "manager", 1), ["sw-m4"]);
  });

  it("reads a record without lastIndex (older dinv) as the highest number in use", () => {
    const old: SwarmConfig = {
      ...empty(),
      nodes: [
        { host: "sw-m1", role: "manager" },
        { host: "sw-w5", role: "worker" },
      ],
    };
    assert.deepEqual(nextNodeNames(old, "worker", 1), ["sw-w6"]);
    assert.deepEqual(nextNodeNames(old, "manager", 1), ["sw-m2"]);
  });

  it("counts only this swarm's names for the role", () => {
    const config: SwarmConfig = {
      ...empty("a"),
      nodes: [
        { host: "a-w1", role: "worker" },
        { host: "a-w1x", role: "worker" },
        { host: "a-m9", role: "worker" },
      ],
    };
    assert.deepEqual(nextNodeNames(config, "worker", 1), ["a-w2"]);
  });

  describe("in the store", () => {
    const root = mkdtempSync(join(tmpdir(), "dinv-swarm-names-"));
    after(() => rmSync(root, { recursive: true, force: true }));

    it("keeps lastIndex through save and load", async () => {
      const swarms = new SwarmStore(root);
      swarms.claim("sw");
      await swarms.save(without(add(empty(), "worker", 2), "sw-w2"));
      assert.deepEqual(nextNodeNames(swarms.load("sw"), "worker", 1), ["sw-w3"]);
    });
  });
});
