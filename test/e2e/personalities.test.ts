/**
 * Personalities added without changing dinv (issue 16): one is written into a temporary folder
 * (manifest + module), added with `dinv personality add`, and runs a host on the real engine;
 * removed, its host stays removable. Bad manifests get one line naming the field.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { run, sandbox, type Sandbox } from "../helpers/cli.js";
import { ENGINE_NAME, HOST_IMAGE, runId } from "../helpers/engine.js";

function writePersonality(
  dir: string,
  manifest: Record<string, unknown>,
  files: Record<string, string> = {},
) {
  writeFileSync(join(dir, "dinv-personality.json"), JSON.stringify(manifest, null, 2));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
}

describe(`personalities added from a folder (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let folder: string;
  const host = runId("pers");
  const name = `motd-${runId("p").toLowerCase()}`;

  before(() => {
    box = sandbox();
    folder = mkdtempSync(join(tmpdir(), "dinv-personality-"));
    writePersonality(
      folder,
      {
        dinvPersonality: 1,
        name,
        description: "a Docker engine with a message of the day",
        image: HOST_IMAGE,
        service: { port: 2376, protocol: "docker" },
        dataDir: "/var/lib/docker",
        nestedEngine: true,
        command: "engine-flags",
        files: [
          { path: "/etc/docker/daemon.json", from: "daemon-json" },
          { path: "/etc/motd", from: "file", file: "motd.txt" },
          { path: "/root/.ssh/authorized_keys", mode: "0600", from: "ssh-authorized-key" },
        ],
        module: "refine.mjs",
      },
      {
        "motd.txt": "delivered by an added personality\n",
        // The module keeps everything the manifest made and adds a dockerd flag (--debug).
        "refine.mjs": `export default (base) => ({ ...base, command: (config) => [...base.command(config), "--debug"] });\n`,
      },
    );
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", host]);
    box.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  it("adds it, lists it beside the built-in ones, and refuses to add it twice", async () => {
    assertOk(await box.dinv(["personality", "add", folder]), "personality add");
    const listed = await box.dinv(["personality", "ls"]);
    assertOk(listed, "personality ls");
    assert.match(listed.stdout, /^docker +dinv\/host:latest +2376\/docker +built-in/m);
    assert.match(listed.stdout, /^registry-cache +\S+ +5000\/https +built-in/m);
    assert.match(listed.stdout, new RegExp(`^${name} +\\S+ +2376/docker +${folder} +a Docker engine`, "m"));
    assertCleanFailure(await box.dinv(["personality", "add", folder]), /already added/);
  });

  it("creates a host with it: its files, its module's flag, the key dinv issued, every command", async () => {
    const created = await box.dinv(["create", "--personality", name, "--engine-label", "from=flag", host]);
    assertOk(created, "create");
    const motd = await box.dinv(["exec", host, "--", "cat", "/etc/motd"]);
    assert.equal(motd.stdout, "delivered by an added personality\n");
    const info = await box.docker(["--context", host, "info", "--format", "{{.Debug}} {{json .Labels}}"]);
    assertOk(info, "docker info through the context");
    assert.equal(
      info.stdout.trim(),
      'true ["from=flag"]',
      "the module's flag and the manifest's daemon.json",
    );
    // The authorized key is the host's client key, in OpenSSH form.
    const keys = await box.dinv(["exec", host, "--", "cat", "/root/.ssh/authorized_keys"]);
    const expected = await run(
      "ssh-keygen",
      ["-y", "-f", join(box.store, "hosts", host, "key.pem")],
      box.env,
    );
    assertOk(expected, "ssh-keygen -y");
    assert.equal(keys.stdout.split(" ").slice(0, 2).join(" "), expected.stdout.trim());
    const ls = await box.dinv(["ls", "--format", "{{.Name}} {{.State}} {{.DockerVersion}}"]);
    assert.match(ls.stdout, new RegExp(`^${host} Running v\\d`, "m"));
    assertOk(await box.dinv(["regenerate-certs", "-f", host]), "regenerate-certs");
    assertOk(await box.dinv(["upgrade", host]), "upgrade");
    const again = await box.docker(["--context", host, "info", "--format", "{{.Debug}} {{json .Labels}}"]);
    assert.equal(again.stdout.trim(), 'true ["from=flag"]', "after upgrade");
    assertOk(await box.dinv(["stop", host]), "stop");
    assertOk(await box.dinv(["start", host]), "start");
  });

  it("removed while a host uses it: refused without -f; then the host says why and rm still works", async () => {
    assertCleanFailure(await box.dinv(["personality", "rm", name]), new RegExp(`used by ${host}`));
    assertOk(await box.dinv(["personality", "rm", "-f", name]), "personality rm -f");
    assertCleanFailure(
      await box.dinv(["restart", host]),
      new RegExp(`runs personality "${name}", which is not in this store: add it again .*dinv rm ${host}`),
    );
    assertCleanFailure(await box.dinv(["create", "--personality", name, `${host}-2`]), /unknown personality/);
    assertOk(await box.dinv(["rm", "-y", host]), "rm of a host whose personality is gone");
    assertCleanFailure(await box.dinv(["personality", "rm", "docker"]), /built-in personality and stays/);
  });

  it("adds one from an npm package (a tarball npm pack made), its files in the store", async () => {
    const pkg = mkdtempSync(join(tmpdir(), "dinv-personality-npm-"));
    try {
      writePersonality(
        pkg,
        {
          dinvPersonality: 1,
          name: `${name}-npm`,
          image: HOST_IMAGE,
          service: { port: 2376, protocol: "docker" },
          dataDir: "/var/lib/docker",
        },
        { "package.json": JSON.stringify({ name: "dinv-personality-e2e", version: "1.0.0" }) },
      );
      const packed = await run("npm", ["pack", pkg, "--pack-destination", pkg], box.env);
      assertOk(packed, "npm pack");
      const tarball = join(pkg, "dinv-personality-e2e-1.0.0.tgz");
      assertOk(await box.dinv(["personality", "add", tarball]), "personality add TARBALL");
      const listed = await box.dinv(["personality", "ls"]);
      assert.match(listed.stdout, new RegExp(`^${name}-npm +\\S+ +2376/docker +${tarball}`, "m"));
      const stored = join(
        box.store,
        "personalities",
        `${name}-npm`,
        "node_modules",
        "dinv-personality-e2e",
        "dinv-personality.json",
      );
      assert.equal(JSON.parse(readFileSync(stored, "utf8")).name, `${name}-npm`);
      assertOk(await box.dinv(["personality", "rm", `${name}-npm`]), "personality rm");
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it("refuses bad manifests and modules with one line naming the field", async () => {
    const bad = mkdtempSync(join(tmpdir(), "dinv-personality-bad-"));
    try {
      const base = {
        dinvPersonality: 1,
        name: "bad",
        image: "x",
        service: { port: 2376, protocol: "docker" },
        dataDir: "/d",
      };
      writePersonality(bad, { ...base, service: { port: 70000, protocol: "docker" } });
      assertCleanFailure(
        await box.dinv(["personality", "add", bad]),
        /dinv-personality\.json: field service\.port: /,
      );
      writePersonality(bad, { ...base, files: [{ path: "relative/file", from: "ca" }] });
      assertCleanFailure(
        await box.dinv(["personality", "add", bad]),
        /field files\.0\.path: must be an absolute path/,
      );
      writePersonality(bad, { ...base, name: "Bad Name" });
      assertCleanFailure(await box.dinv(["personality", "add", bad]), /field name: must be lower-case/);
      writePersonality(bad, { ...base, name: "docker" });
      assertCleanFailure(await box.dinv(["personality", "add", bad]), /"docker" is a built-in personality/);
      writePersonality(
        bad,
        { ...base, module: "m.mjs" },
        { "m.mjs": "export default () => ({ name: 'bad' });\n" },
      );
      assertCleanFailure(await box.dinv(["personality", "add", bad]), /returned no command\(\) function/);
      const listed = await box.dinv(["personality", "ls", "-q"]);
      assert.deepEqual(listed.stdout.trim().split("\n"), ["docker", "registry-cache"], "nothing half-added");
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
