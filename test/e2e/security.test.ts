/**
 * Secrets stay where they belong (real engine, real CLI): `--debug` output, in success and in
 * failure, holds no private key material of the store; the CA key never enters a host's
 * container; an export holds the CA key only with --with-ca.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, createReadStream, readdirSync, readFileSync } from "node:fs";
import type { Server } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createServer as createTlsServer } from "node:tls";
import { createGunzip } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { extract } from "tar-stream";
import type { EngineClient } from "../../src/engine/client.js";
import { createCertificateAuthority, issueServerCertificate } from "../../src/pki/certificates.js";
import { assertOk } from "../helpers/assert.js";
import { reportCases } from "../helpers/cases.js";
import { sandbox, type RunResult, type Sandbox } from "../helpers/cli.js";
import { removeLabelled, runId, testEngine } from "../helpers/engine.js";

/** With --debug a failure is one line and then its stack: exit 1 and the message. */
function assertDebugFailure(result: RunResult, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

/** Every private key file under `dir` (store and docker config), by path. */
function privateKeys(dir: string): Map<string, string> {
  const keys = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/key\.pem$/.test(entry.name)) keys.set(path, readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return keys;
}

/** The base64 lines of a PEM body, each a secret on its own (short tails could match by chance). */
function bodyLines(pem: string): string[] {
  return pem
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith("-----"));
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The entries of a gzipped tar, by name. */
async function tarEntries(file: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const tar = extract();
  tar.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on("end", () => {
      entries.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(createReadStream(file), createGunzip(), tar);
  return entries;
}

describe("secrets stay secret (real engine, real CLI)", () => {
  let engine: EngineClient;
  let box: Sandbox;
  let stranger: Server;
  let strangerPort = 0;
  const name = runId("sec");
  const outputs: Array<[string, RunResult]> = [];
  const caKey = () => readFileSync(join(box.store, "certs", "ca-key.pem"), "utf8");

  async function debug(what: string, args: string[]): Promise<RunResult> {
    const result = await box.dinv(["--debug", ...args]);
    outputs.push([what, result]);
    return result;
  }

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    assertOk(await debug("create", ["create", name]), "create");
    // A TLS endpoint whose certificate comes from another CA: the connection fails after the
    // client has loaded its key.
    const other = await issueServerCertificate(await createCertificateAuthority(), "stranger", ["127.0.0.1"]);
    stranger = createTlsServer({ cert: other.certPem, key: other.keyPem }, (s) => s.end());
    await new Promise<void>((resolve) => stranger.listen(0, "127.0.0.1", resolve));
    strangerPort = (stranger.address() as { port: number }).port;
  });

  after(async () => {
    stranger?.close();
    await box.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  it("--debug output holds no private key material, in success or failure", async (t) => {
    const certs = join(box.store, "certs");
    const hostKey = join(box.store, "hosts", name, "key.pem");
    assertOk(await debug("env", ["env", name]), "env");
    assertOk(await debug("config", ["config", name]), "config");
    assertOk(await debug("inspect", ["inspect", name]), "inspect");
    assertOk(await debug("ls", ["ls"]), "ls");
    assertOk(await debug("regenerate-certs", ["regenerate-certs", name]), "regenerate-certs");
    const archive = join(box.store, "..", "debug.tgz");
    assertOk(await debug("export --with-ca", ["export", name, "--with-ca", "-o", archive]), "export");
    assert.equal((await debug("create of a taken name", ["create", name])).code, 1);
    const refused = await debug("create on a refusing endpoint", [
      "create",
      "--endpoint",
      "tcp://127.0.0.1:1",
      "--timeout",
      "3",
      `${name}-x`,
    ]);
    assertDebugFailure(refused, /refused/);
    const tlsFailure = await debug("connect with the store's key to a stranger", [
      "create",
      "--endpoint",
      `tcp://127.0.0.1:${strangerPort}`,
      "--tlsverify",
      "--tlscacert",
      join(certs, "ca.pem"),
      "--tlscert",
      join(certs, "cert.pem"),
      "--tlskey",
      join(certs, "key.pem"),
      "--timeout",
      "3",
      `${name}-y`,
    ]);
    assertDebugFailure(tlsFailure, /not signed by the expected CA/);
    chmodSync(hostKey, 0o644);
    try {
      assertDebugFailure(await debug("version with an exposed key", ["version", name]), /chmod 600/);
    } finally {
      chmodSync(hostKey, 0o600);
    }

    // Every key of the store and of the docker context, after all those commands ran.
    const keys = new Map([...privateKeys(box.store), ...privateKeys(box.dockerConfig)]);
    assert.equal(
      keys.size,
      5,
      `CA, client, host client, server and context keys: ${[...keys.keys()].join(", ")}`,
    );
    assert.ok(
      outputs.some(([, r]) => /\n\s+at /.test(r.stderr)),
      "--debug did print stack traces",
    );
    for (const [what, result] of outputs) {
      const text = result.stdout + result.stderr;
      assert.doesNotMatch(text, /PRIVATE KEY/, `${what} printed a PEM key`);
      for (const [path, pem] of keys)
        for (const line of bodyLines(pem))
          assert.ok(!text.includes(line), `${what} printed a line of ${path}`);
    }
    reportCases(t, outputs.length);
  });

  it("the CA key never enters the host: no file in its container equals it or holds a line of it", async () => {
    const ca = caKey();
    const serverKey = readFileSync(join(box.store, "hosts", name, "server-key.pem"), "utf8");
    // Hash every small file of the container (the cache volume included), through dinv exec.
    const listing = await box.dinv([
      "exec",
      name,
      "--",
      "sh",
      "-c",
      "find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -size -64k -print0 | xargs -0 sha256sum",
    ]);
    assertOk(listing, "listing the host's files");
    const hashes = new Set(listing.stdout.split("\n").map((line) => line.split(/\s+/)[0]));
    assert.ok(hashes.size > 1000, `listed ${hashes.size} files`);
    assert.ok(hashes.has(sha256(serverKey)), "the listing does see the server key (control)");
    assert.ok(!hashes.has(sha256(ca)), "no file equals the CA key");

    const line = bodyLines(ca)[1] as string;
    const grep = (needle: string) =>
      box.dinv([
        "exec",
        name,
        "--",
        "grep",
        "-rlF",
        "--exclude-dir=proc",
        "--exclude-dir=sys",
        "--exclude-dir=dev",
        needle,
        "/",
      ]);
    const found = await grep(line);
    assert.equal(found.code, 1, `no file holds a line of the CA key: ${found.stdout}`);
    const control = await grep(bodyLines(serverKey)[1] as string);
    assert.match(control.stdout, /\/certs\/server\/key\.pem/, "grep finds the server key (control)");
  });

  it("an export holds the CA key only with --with-ca", async () => {
    const ca = caKey();
    const plain = join(box.store, "..", "plain.tgz");
    const withCa = join(box.store, "..", "with-ca.tgz");
    assertOk(await box.dinv(["export", name, "-o", plain]), "export");
    assertOk(await box.dinv(["export", name, "--with-ca", "-o", withCa]), "export --with-ca");
    const lines = bodyLines(ca);
    const plainEntries = await tarEntries(plain);
    for (const [entry, body] of plainEntries) {
      const text = body.toString("utf8");
      assert.ok(!lines.some((l) => text.includes(l)), `${entry} holds a line of the CA key`);
    }
    assert.ok(plainEntries.has("host/key.pem"), "the client key travels (control)");
    assert.equal((await tarEntries(withCa)).get("ca/ca-key.pem")?.toString("utf8"), ca);
  });
});
