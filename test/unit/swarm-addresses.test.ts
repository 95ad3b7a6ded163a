/**
 * Swarm nodes' fixed addresses (node-addresses.ts): the lowest free ones of the network's
 * subnet, never its network or broadcast address, the gateway or an address in use.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freeAddresses } from "../../src/host/swarm/node-addresses.js";
import { SwarmError } from "../../src/host/swarm/node-ops.js";

describe("swarm node addresses", () => {
  it("takes the lowest free addresses past the gateway and those in use (CIDR suffixes ignored)", () => {
    assert.deepEqual(freeAddresses("10.216.0.0/24", ["10.216.0.1", "10.216.0.3/24"], 3), [
      "10.216.0.2",
      "10.216.0.4",
      "10.216.0.5",
    ]);
  });

  it("counts from the subnet's start when the address given is inside it", () => {
    assert.deepEqual(freeAddresses("172.18.5.9/16", ["172.18.0.1"], 1), ["172.18.0.2"]);
  });

  it("never gives the broadcast address, and says when the subnet is full", () => {
    assert.deepEqual(freeAddresses("10.0.0.0/30", [], 2), ["10.0.0.1", "10.0.0.2"]);
    assert.throws(() => freeAddresses("10.0.0.0/30", ["10.0.0.1"], 2), SwarmError);
    assert.throws(() => freeAddresses("10.0.0.0/30", ["10.0.0.1"], 2), /no room for 2 more node/);
  });

  it("refuses what is not an IPv4 subnet", () => {
    assert.throws(() => freeAddresses("fd00::/64", [], 1), /not an IPv4 subnet/);
    assert.throws(() => freeAddresses("10.0.0.0/31", [], 1), /not an IPv4 subnet/);
  });
});
