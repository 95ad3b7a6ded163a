import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { shareEnv, validatePerson, validateShareDays } from "../../src/host/share.js";
import { activeShareCas, readShares, shareState, writeShares, type Share } from "../../src/store/shares.js";

const share = (over: Partial<Share>): Share => ({
  id: "a1",
  person: "alice",
  createdAt: new Date().toISOString(),
  notAfter: new Date(Date.now() + 86_400_000).toISOString(),
  caPem: "CA-A",
  ...over,
});

describe("shares: the record and what the host trusts", () => {
  const dir = mkdtempSync(join(tmpdir(), "dinv-shares-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("trusts only shares neither revoked nor expired, and keeps the record 0600", async () => {
    await writeShares(dir, [
      share({}),
      share({ id: "b2", person: "bob", caPem: "CA-B", revokedAt: new Date().toISOString() }),
      share({
        id: "c3",
        person: "carol",
        caPem: "CA-C",
        notAfter: new Date(Date.now() - 1000).toISOString(),
      }),
    ]);
    assert.deepEqual(activeShareCas(dir), ["CA-A"]);
    assert.deepEqual(
      readShares(dir).map((s) => shareState(s)),
      ["active", "revoked", "expired"],
    );
    assert.equal(statSync(join(dir, "shares.json")).mode & 0o777, 0o600);
  });

  it("has no shares (and trusts none) without a record", () => {
    assert.deepEqual(activeShareCas(join(dir, "nothing-here")), []);
  });

  it("takes names and e-mail addresses as persons, nothing that would break a CN or a path", () => {
    assert.equal(validatePerson("bob@example.com"), "bob@example.com");
    for (const bad of ["", "a b", "../x", "-x", "a,CN=root", "x".repeat(65)])
      assert.throws(() => validatePerson(bad), /is not a person's name/);
    assert.throws(() => validateShareDays(0), /out of range/);
    assert.throws(() => validateShareDays(1.5), /out of range/);
    assert.equal(validateShareDays(365), 365);
  });

  it("gives the person env lines that point at the extracted bundle", () => {
    const env = shareEnv("h1", "h1-alice", "tcp://10.0.0.5:2376", "alice", "2030-01-01T00:00:00.000Z");
    assert.match(env, /^export DOCKER_HOST="tcp:\/\/10\.0\.0\.5:2376"$/m);
    assert.match(env, /^export DOCKER_TLS_VERIFY="1"$/m);
    assert.match(env, /^export DOCKER_CERT_PATH="\$PWD\/h1-alice"$/m);
  });
});
