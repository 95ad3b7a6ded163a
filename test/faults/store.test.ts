/**
 * The store under faults, through bin/dinv on the real engine: key files lost, keys and folders
 * open to others, config.json truncated, and a full (then read-only) disk under the store — a real
 * tmpfs mounted at DINV_STORAGE_PATH. Each gives one clear line naming the file and the fix, and
 * nothing already saved is lost or half-written. Needs root (mount).
 */
import assert from "node:assert/strict";
import { createHash, X509Certificate, createPublicKey } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { servedFingerprint } from "../../src/host/certificates.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { reportCases } from "../helpers/cases.js";
import { sandbox, type RunResult, type Sandbox } from "../helpers/cli.js";
import { HOST_IMAGE, removeLabelled, runId, testEngine } from "../helpers/engine.js";

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Every file under `root` (hidden ones included) with the sha256 of its content. */
function snapshot(root: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (skip.includes(rel)) continue;
      if (entry.isDirectory()) walk(path);
      else out[rel] = createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  };
  walk(root);
  return out;
}

async function traces(engine: EngineClient, name: string): Promise<number> {
  const filters = JSON.stringify({ label: [`io.dinv.host=${name}`] });
  const containers = await engine.docker.listContainers({ all: true, filters });
  const { Volumes } = await engine.docker.listVolumes({ filters });
  return containers.length + (Volumes?.length ?? 0);
}

/** Run the `run: chmod …` fix a refusal printed, as a user would. */
async function runPrintedFix(box: Sandbox, result: RunResult): Promise<void> {
  const fix = /run: (chmod [0-7]+ \S+)$/m.exec(result.stderr)?.[1];
  assert.ok(fix, `a chmod fix in: ${result.stderr}`);
  assertOk(await box.sh(fix), fix);
}

describe("the store under faults (real store, real CLI)", () => {
  let engine: EngineClient;
  let box: Sandbox;
  const keys = runId("keys");
  const conf = runId("conf");
  const next = `${keys}-next`;
  const nextImage = `dinv-test/host-next:${keys}`;
  const hostFile = (name: string, file: string) => join(box.store, "hosts", name, file);
  const certsFile = (file: string) => join(box.store, "certs", file);

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    // Both hosts at once (they also race to create the store's CA), and another image to
    // upgrade to (an alias of the same image would be a no-op).
    const [first, second, built] = await Promise.all([
      box.dinv(["create", keys]),
      box.dinv(["create", "--no-context", conf]),
      box.sh(
        `printf 'FROM ${HOST_IMAGE}\\nLABEL io.dinv.test=${keys}\\n' | docker build -q -t ${nextImage} -`,
      ),
    ]);
    assertOk(first, "create");
    assertOk(second, "create");
    assertOk(built, "build the next image");
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", keys, conf, next]);
    for (const name of [keys, conf, next]) await removeLabelled(engine, name, "io.dinv.host");
    await engine.docker
      .getImage(nextImage)
      .remove()
      .catch(() => undefined);
    box.cleanup();
  });

  describe("a key file is lost", () => {
    it("the host's client key: env, config, version and ls name the file and the fix", async (t) => {
      const key = hostFile(keys, "key.pem");
      const saved = readFileSync(key);
      rmSync(key);
      try {
        const expected = new RegExp(
          `missing key file ${escape(key)}: .*\`dinv regenerate-certs --client-certs\``,
        );
        for (const command of ["env", "config", "version"])
          assertCleanFailure(await box.dinv([command, keys]), expected);
        const ls = await box.dinv(["ls"]);
        assertOk(ls, "ls lists the host anyway");
        assert.match(ls.stdout, new RegExp(`^${keys} .*missing key file`, "m"));
        reportCases(t, 4);
      } finally {
        writeFileSync(key, saved, { mode: 0o600 });
      }
      assertOk(await box.dinv(["version", keys]), "works again once restored");
    });

    it("the host's server key: upgrade stops before touching the host; regenerate-certs makes a new one", async () => {
      const key = hostFile(keys, "server-key.pem");
      const container = engine.docker.getContainer(`dinv-${keys}`);
      const before = await container.inspect();
      rmSync(key);
      const upgrade = await box.dinv(["upgrade", "--image", nextImage, keys]);
      assertCleanFailure(
        upgrade,
        new RegExp(`missing key file ${escape(key)}: run \`dinv regenerate-certs ${keys}\``),
      );
      const untouched = await container.inspect();
      assert.equal(untouched.State.StartedAt, before.State.StartedAt, "the host was not stopped");
      assert.equal(untouched.Image, before.Image);

      assertOk(await box.dinv(["regenerate-certs", keys]), "the printed fix");
      assert.equal(statSync(key).mode & 0o777, 0o600);
      assertOk(await box.docker(["--context", keys, "version"]), "the host answers with its new key");
    });

    it("the store's CA key or client key: create names the file; --client-certs makes a new CA the hosts follow", async (t) => {
      for (const file of ["ca-key.pem", "key.pem"]) {
        const path = certsFile(file);
        renameSync(path, `${path}.away`);
        const created = await box.dinv(["create", "--no-context", next]);
        renameSync(`${path}.away`, path);
        assertCleanFailure(
          created,
          new RegExp(
            `missing key file ${escape(path)}: restore it from a backup, or make a new CA with \`dinv regenerate-certs --client-certs\``,
          ),
        );
        assert.ok(!existsSync(join(box.store, "hosts", next)), "no host folder left");
        assert.equal(await traces(engine, next), 0, "nothing left on the endpoint");
      }
      // Lost for good: the printed way out renews the CA, and every host follows it.
      const oldCa = readFileSync(certsFile("ca.pem"), "utf8");
      rmSync(certsFile("ca-key.pem"));
      assertOk(
        await box.dinv(["regenerate-certs", "--client-certs", "-f"]),
        "regenerate-certs --client-certs",
      );
      assert.notEqual(readFileSync(certsFile("ca.pem"), "utf8"), oldCa, "a new CA");
      assert.equal(statSync(certsFile("ca-key.pem")).mode & 0o777, 0o600);
      assertOk(await box.docker(["--context", keys, "version"]), "the host answers under the new CA");
      assertOk(await box.dinv(["version", conf]), "so does the other host");
      reportCases(t, 3);
    });
  });

  describe("keys and folders open to others are refused, as ssh does, with the fix", () => {
    const cases: Array<[string, () => string, number, () => string[], RegExp]> = [
      [
        "a host's client key 0644",
        () => hostFile(keys, "key.pem"),
        0o644,
        () => ["env", keys],
        /key file \S+key\.pem is accessible by others \(mode 644\): run: chmod 600 /,
      ],
      [
        "a host folder 0755",
        () => join(box.store, "hosts", keys),
        0o755,
        () => ["config", keys],
        /folder \S+ holding key key\.pem is accessible by others \(mode 755\): run: chmod 700 /,
      ],
      [
        "a host's server key 0640",
        () => hostFile(keys, "server-key.pem"),
        0o640,
        () => ["upgrade", "--image", nextImage, keys],
        /key file \S+server-key\.pem is accessible by others \(mode 640\): run: chmod 600 /,
      ],
      [
        "the CA key 0604",
        () => certsFile("ca-key.pem"),
        0o604,
        () => ["export", keys, "--with-ca", "-o", join(box.store, "..", "with-ca.tgz")],
        /key file \S+ca-key\.pem is accessible by others \(mode 604\): run: chmod 600 /,
      ],
      [
        "the store's certs folder 0777",
        () => join(box.store, "certs"),
        0o777,
        () => ["export", keys, "--with-ca", "-o", join(box.store, "..", "with-ca.tgz")],
        /folder \S+certs holding key ca-key\.pem is accessible by others \(mode 777\): run: chmod 700 /,
      ],
    ];
    for (const [what, path, mode, command, refusal] of cases) {
      it(`${what}: refused, and the printed chmod makes it work`, async () => {
        const before = statSync(path()).mode & 0o777;
        chmodSync(path(), mode);
        try {
          const refused = await box.dinv(command());
          assertCleanFailure(refused, refusal);
          await runPrintedFix(box, refused);
          assert.equal(statSync(path()).mode & 0o777, before);
        } finally {
          chmodSync(path(), before);
        }
        if (command()[0] !== "upgrade") assertOk(await box.dinv(command()), "after the fix");
      });
    }
  });

  describe("config.json truncated", () => {
    it("every command names the file; ls shows the host as Error; rm -f removes everything", async (t) => {
      const file = hostFile(conf, "config.json");
      const text = readFileSync(file, "utf8");
      let cases = 0;
      for (const cut of [Math.floor(text.length / 2), 0]) {
        writeFileSync(file, text.slice(0, cut));
        for (const command of ["inspect", "env", "start", "regenerate-certs", "upgrade"]) {
          assertCleanFailure(
            await box.dinv([command, conf]),
            new RegExp(`${escape(file)} is not valid JSON .*: restore the file, or remove the host`),
          );
          cases++;
        }
        const ls = await box.dinv(["ls"]);
        assertOk(ls, "ls with a broken host");
        assert.match(ls.stdout, new RegExp(`^${conf}\\s.*Error`, "m"));
        cases++;
      }
      assertCleanFailure(await box.dinv(["rm", "-y", conf]), /use `dinv rm -f/);
      assertOk(await box.dinv(["rm", "-f", "-y", conf]), "rm -f");
      assert.equal(await traces(engine, conf), 0, "container and volume removed by label");
      assert.ok(!existsSync(join(box.store, "hosts", conf)), "host folder removed");
      reportCases(t, cases + 2);
    });
  });

  describe("every key lost at once", () => {
    it("rm -f still removes the host: container, volume, folder and docker context", async () => {
      for (const file of ["key.pem", "server-key.pem", "cert.pem", "server.pem", "ca.pem"])
        rmSync(hostFile(keys, file));
      rmSync(certsFile("ca-key.pem"));
      rmSync(certsFile("key.pem"));
      assertOk(await box.dinv(["rm", "-f", "-y", keys]), "rm -f");
      assert.equal(await traces(engine, keys), 0, "container and volume removed");
      assert.ok(!existsSync(join(box.store, "hosts", keys)), "host folder removed");
      assert.notEqual((await box.docker(["context", "inspect", keys])).code, 0, "docker context removed");
    });
  });
});

describe("a full disk under the store (a real tmpfs)", () => {
  let engine: EngineClient;
  let box: Sandbox;
  let mounted = false;
  const kept = runId("full");
  const removed = `${kept}-rm`;
  const extra = `${kept}-new`;
  const FILL = "fill";
  const PAGE = 4096;

  const freeBytes = () => {
    const fs = statfsSync(box.store);
    return fs.bavail * fs.bsize;
  };
  /** Leave exactly `bytes` free on the store's file system, with a file of real (not sparse) data. */
  const leaveFree = (bytes: number) => {
    const fill = join(box.store, FILL);
    rmSync(fill, { force: true });
    writeFileSync(fill, Buffer.alloc(freeBytes() - bytes));
    assert.equal(freeBytes(), bytes);
  };
  const saved = () => snapshot(box.store, [FILL]);
  const keptFile = (file: string) => join(box.store, "hosts", kept, file);

  before(async () => {
    assert.equal(process.getuid?.(), 0, "mounting a tmpfs needs root");
    engine = await testEngine();
    box = sandbox();
    mkdirSync(box.store, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", box.store]);
    mounted = true;
    const created = await Promise.all([
      box.dinv(["create", kept]),
      box.dinv(["create", "--no-context", removed]),
    ]);
    for (const result of created) assertOk(result, "create");
  });

  after(async () => {
    if (mounted) {
      rmSync(join(box.store, FILL), { force: true });
      execFileSync("mount", ["-o", "remount,rw", box.store]);
    }
    await box.dinv(["rm", "-f", "-y", kept, removed, extra]);
    for (const name of [kept, removed, extra]) await removeLabelled(engine, name, "io.dinv.host");
    if (mounted) execFileSync("umount", [box.store]);
    box.cleanup();
  });

  it("create fails with one clear line; nothing saved changes, nothing is left behind", async () => {
    leaveFree(0);
    const before = saved();
    const created = await box.dinv(["create", "--no-context", extra]);
    assertCleanFailure(created, /cannot write \S+: no space left on the device \(ENOSPC\): free some space/);
    assert.deepEqual(saved(), before, "the store is byte-identical, without temporary files");
    assert.equal(await traces(engine, extra), 0, "nothing left on the endpoint");
  });

  it("regenerate-certs fails with one clear line; the host keeps its certificate, key and config", async () => {
    leaveFree(0);
    const before = saved();
    const served = await servedFingerprint("127.0.0.1", Number(readConfig().network.port));
    const result = await box.dinv(["regenerate-certs", kept]);
    assertCleanFailure(
      result,
      /cannot write \S+server\.pem: no space left on the device .*nothing was changed/,
    );
    assert.deepEqual(saved(), before);
    assert.equal(
      await servedFingerprint("127.0.0.1", Number(readConfig().network.port)),
      served,
      "the host still serves the certificate the store holds",
    );
    assertOk(await box.docker(["--context", kept, "version"]), "the host still answers");
  });

  it("regenerate-certs with room for only some of its files: all or nothing, never a mixed pair", async (t) => {
    const outcomes: string[] = [];
    for (const pages of [1, 2]) {
      leaveFree(pages * PAGE);
      const before = saved();
      const result = await box.dinv(["regenerate-certs", kept]);
      if (result.code === 0) {
        const cert = new X509Certificate(readFileSync(keptFile("server.pem")));
        const key = createPublicKey(readFileSync(keptFile("server-key.pem")));
        assert.ok(cert.publicKey.equals(key), "the new certificate belongs to the new key");
        assert.equal(
          await servedFingerprint("127.0.0.1", Number(readConfig().network.port)),
          cert.fingerprint256,
          "the host serves it",
        );
        assert.ok(!Object.keys(saved()).some((f) => f.split("/").pop()?.startsWith(".")), "no temp files");
        outcomes.push(`${pages} pages: renewed`);
      } else {
        assertCleanFailure(result, /no space left on the device .*nothing was changed/);
        assert.deepEqual(saved(), before, "byte-identical");
        outcomes.push(`${pages} pages: refused`);
      }
    }
    t.diagnostic(outcomes.join("; "));
    reportCases(t, outcomes.length);
  });

  it("export to the full disk fails and leaves no partial archive", async () => {
    leaveFree(0);
    const before = saved();
    const file = join(box.store, "export.tgz");
    const result = await box.dinv(["export", kept, "-o", file]);
    assertCleanFailure(result, /cannot write \S+export\.tgz: no space left on the device/);
    assert.deepEqual(saved(), before, "no archive, no temp file");
  });

  it("rm works on a full disk; the other host stays byte-identical", async () => {
    leaveFree(0);
    const before = saved();
    assertOk(await box.dinv(["rm", "-y", removed]), "rm");
    assert.equal(await traces(engine, removed), 0);
    const after = saved();
    const others = (files: Record<string, string>) =>
      Object.fromEntries(Object.entries(files).filter(([f]) => !f.startsWith(`hosts/${removed}/`)));
    assert.deepEqual(after, others(before));
    assertOk(await box.docker(["--context", kept, "version"]), "the kept host answers");
  });

  it("a read-only store: create names the cause", async () => {
    rmSync(join(box.store, FILL), { force: true });
    execFileSync("mount", ["-o", "remount,ro", box.store]);
    try {
      const before = saved();
      const created = await box.dinv(["create", "--no-context", extra]);
      assertCleanFailure(created, /: the file system is read-only \(EROFS\)/);
      assert.deepEqual(saved(), before);
      assert.equal(await traces(engine, extra), 0);
    } finally {
      execFileSync("mount", ["-o", "remount,rw", box.store]);
    }
  });

  function readConfig(): { network: { port: number } } {
    return JSON.parse(readFileSync(keptFile("config.json"), "utf8")) as { network: { port: number } };
  }
});
