import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTtl } from "../../src/host/prune.js";

describe("create --ttl durations", () => {
  it("reads s, m, h, d and their sums", () => {
    assert.equal(parseTtl("90s"), 90_000);
    assert.equal(parseTtl("30m"), 1_800_000);
    assert.equal(parseTtl("1h30m"), 5_400_000);
    assert.equal(parseTtl("1d"), 86_400_000);
  });

  it("refuses what is not a duration, with one line", () => {
    for (const bad of ["", "2", "2x", "h", "1h 30m", "-1h", "0s"])
      assert.throws(() => parseTtl(bad), /--ttl/);
  });
});
