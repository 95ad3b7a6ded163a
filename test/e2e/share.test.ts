/**
 * `dinv share` and `dinv revoke` on the wire: the real docker CLI uses a shared bundle against the
 * host's engine, a revoked certificate is refused by that dockerd while the owner's and another
 * person's keep working, and containers in the host keep running across the reloads.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { sandbox, type Sandbox } from "../helpers/cli.js";
import { ENGINE_NAME, IMAGE_ARGS, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { tinyRootfsTar } from "../helpers/tiny-image.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

const TINY = "dinv-e2e/tiny:share";

describe(`dinv share and revoke (real ${ENGINE_NAME}, real docker CLI)`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const name = runId("share");
  const work = () => join(box.store, "..");
  const bundle = (person: string) => join(work(), `${person}.tgz`);
  /** The docker CLI as the person runs it: the bundle extracted, its env lines evaluated. */
  const asPerson = (person: string, args: string) =>
    box.sh(`cd "${work()}" && eval "$(cat ${name}-${person}/env)" && docker ${args}`, {
      DOCKER_HOST: "",
      DOCKER_CONTEXT: "",
    });

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  it("creates a host with a running container", async () => {
    assertOk(await box.dinv(["create", ...IMAGE_ARGS, name]), "create");
    const tarFile = join(work(), "tiny.tar");
    writeFileSync(tarFile, await tinyRootfsTar());
    assertOk(await box.docker(["--context", name, "import", tarFile, TINY]), "import into the host");
    assertOk(
      await box.docker(["--context", name, "run", "-d", "--name", "keeper", TINY, "/bin/sleep", "3600"]),
      "run a container",
    );
  });

  it("shares the host with two people, each with a bundle of their own that the docker CLI uses", async () => {
    for (const person of ["alice", "bob@example.com"]) {
      const share = await box.dinv(["share", name, "--to", person, "--days", "3", "-o", bundle(person)]);
      assertOk(share, `share with ${person}`);
      assert.match(share.stdout, new RegExp(`Shared "${name}" .* with ${person} until`));
      assert.equal(statSync(bundle(person)).mode & 0o777, 0o600, "the bundle is private");
      assertOk(await box.sh(`cd "${work()}" && tar xzf ${person}.tgz`), "extract");
    }
    const cert = new X509Certificate(readFileSync(join(work(), `${name}-alice`, "cert.pem")));
    assert.match(cert.subject, /CN=alice/);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 2.9 && days < 3.1, `valid for 3 days, not ${days}`);
    assert.equal(statSync(join(work(), `${name}-alice`, "key.pem")).mode & 0o777, 0o600);
    for (const person of ["alice", "bob@example.com"]) {
      const ps = await asPerson(person, "ps --format '{{.Names}}'");
      assertOk(ps, `${person}'s docker ps`);
      assert.match(ps.stdout, /keeper/);
    }
    const ls = await box.dinv(["share", "ls", name]);
    assertOk(ls, "share ls");
    assert.match(ls.stdout, /alice\s+\S+\s+active/);
    assert.match(ls.stdout, /bob@example\.com\s+\S+\s+active/);
  });

  it("refuses bad input in one line", async () => {
    assertCleanFailure(
      await box.dinv(["share", name, "--to", "alice", "-o", bundle("alice")]),
      /alice\.tgz already exists/,
    );
    assertCleanFailure(
      await box.dinv(["share", name, "--to", "al ice", "-o", join(work(), "x.tgz")]),
      /"al ice" is not a person's name/,
    );
    assertCleanFailure(
      await box.dinv(["share", name, "--to", "carol", "--days", "0", "-o", join(work(), "x.tgz")]),
      /--days 0 is out of range/,
    );
    assertCleanFailure(
      await box.dinv(["share", name, "-o", join(work(), "x.tgz")]),
      /needs --to PERSON: e\.g\./,
    );
    assertCleanFailure(await box.dinv(["revoke", name, "mallory"]), /no active share for "mallory".*alice/);
  });

  it("revokes one person: their certificate is refused, the owner's and the other share keep working", async () => {
    const revoke = await box.dinv(["revoke", name, "alice"]);
    assertOk(revoke, "revoke");
    const refused = await asPerson("alice", "ps");
    assert.notEqual(refused.code, 0, "alice is refused");
    assert.match(refused.stderr, /certificate|tls|remote error/i);
    assertOk(await asPerson("bob@example.com", "ps"), "bob still gets in");
    const owner = await box.docker([
      "--context",
      name,
      "inspect",
      "--format",
      "{{.State.Running}}",
      "keeper",
    ]);
    assertOk(owner, "the owner still gets in");
    assert.equal(owner.stdout.trim(), "true", "containers kept running across the reloads");
    assert.match((await box.dinv(["share", "ls", name])).stdout, /alice\s+\S+\s+revoked/);
  });

  it("keeps the revocation across a restart of the host", async () => {
    assertOk(await box.dinv(["restart", name]), "restart");
    assert.notEqual((await asPerson("alice", "ps")).code, 0, "alice is still refused");
    assertOk(await asPerson("bob@example.com", "ps"), "bob still gets in");
  });
});
