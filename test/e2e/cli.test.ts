/**
 * The CLI end to end through bin/dinv, with the real docker CLI as the client:
 * create -> ls -> docker via `config`, `env` and `--context` -> stop/start/kill/restart -> rm.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ENGINE_NAME,
  HOST_IMAGE,
  IMAGE_ARGS,
  TEST_ENGINE,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import type { EngineClient } from "../../src/engine/client.js";
import { assertOk, assertCleanFailure } from "../helpers/assert.js";
import { reportCases } from "../helpers/cases.js";

const TINY = "dinv-e2e/tiny:1";
const RUN_TINY = ["run", "--rm", TINY, "/tini-static", "--version"];

describe(`dinv CLI (real ${ENGINE_NAME}, real docker CLI)`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const name = runId("e2e");

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", name]);
    await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  it("creates a host that answers over TLS", async () => {
    const created = await box.dinv(["create", ...IMAGE_ARGS, name]);
    assertOk(created, "create");
    assert.match(created.stdout, new RegExp(`Host "${name}" is running`));
    const hostDir = join(box.store, "hosts", name);
    for (const file of ["config.json", "ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem"]) {
      assert.ok(existsSync(join(hostDir, file)), `${file} in the host folder`);
    }
    const config = JSON.parse((await box.sh(`cat ${join(hostDir, "config.json")}`)).stdout) as Record<
      string,
      unknown
    >;
    assert.doesNotMatch(
      JSON.stringify(config),
      new RegExp(box.store),
      "config.json holds relative paths only",
    );
  });

  it("mounts its cache volume at /var/lib/docker, and no other volume", async () => {
    // A VCH reads only Binds and Config.Volumes: a cache given as Mounts was never attached there.
    const info = await engine.docker.getContainer(`dinv-${name}`).inspect();
    const volumes = info.Mounts.filter((m) => m.Type === "volume");
    assert.deepEqual(
      volumes.map((m) => [m.Name, m.Destination]),
      [[`dinv-${name}-cache`, "/var/lib/docker"]],
    );
  });

  it("lists it as Running", async () => {
    const ls = await box.dinv(["ls", "-q", "--filter", "state=Running"]);
    assertOk(ls, "ls");
    assert.deepEqual(ls.stdout.trim().split("\n"), [name]);
    const table = await box.dinv(["ls"]);
    assertOk(table, "ls");
    const [header, row] = table.stdout.trim().split("\n");
    assert.match(header ?? "", /^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+DOCKER\s+ERRORS$/);
    assert.match(
      row ?? "",
      new RegExp(`^${name}\\s+-\\s+docker\\s+Running\\s+tcp://127\\.0\\.0\\.1:\\d+\\s+v\\d+`),
    );
  });

  it("keeps the engine's version with its container, and asks the engine when a format shows its answer", async () => {
    const cacheFile = join(box.store, "hosts", name, ".engine-version.json");
    const container = (await engine.docker.getContainer(`dinv-${name}`).inspect()).Id;
    const real = (
      await box.docker(["--context", name, "version", "--format", "{{.Server.Version}}"])
    ).stdout.trim();
    assert.match(real, /^\d+\.\d+/, "the host's engine version through the docker CLI");
    // The table above asked the engine and kept the answer with the container's id.
    assert.deepEqual(JSON.parse(readFileSync(cacheFile, "utf8")), { container, version: real });
    const lsVersion = async (format: string) => {
      const ls = await box.dinv(["ls", "--filter", `name=^${name}$`, "--format", format]);
      assertOk(ls, `ls --format ${format}`);
      return ls.stdout.trim();
    };
    // A version kept for this container is shown without a call (a planted one proves it)…
    writeFileSync(cacheFile, JSON.stringify({ container, version: "0.0.0-kept" }));
    assert.equal(await lsVersion("{{.DockerVersion}}"), "v0.0.0-kept");
    // …a format showing the engine's answer asks it, and keeps what it says…
    assert.equal(await lsVersion("{{.DockerVersion}}|{{.Error}}"), `v${real}|`);
    assert.deepEqual(JSON.parse(readFileSync(cacheFile, "utf8")), { container, version: real });
    // …and one kept for another container (before an upgrade replaced it) is not used.
    writeFileSync(cacheFile, JSON.stringify({ container: "0".repeat(64), version: "0.0.0-old" }));
    assert.equal(await lsVersion("{{.DockerVersion}}"), `v${real}`);
  });

  it("serves the real docker CLI through `config`, `env` and `--context`", async () => {
    const config = await box.dinv(["config", name]);
    assertOk(config, "config");
    const flags = config.stdout.trim().split("\n");
    assert.equal(flags[0], "--tlsverify");
    // Load a tiny image (the host image's static tini) into the host through the docker CLI.
    // Flags first: `docker cp` holds the container while its output waits to be read.
    const imported = await box.sh(
      `flags="$(${DINV_BIN} config ${name})" && docker cp dinv-${name}:/usr/bin/tini-static - | docker $flags import - ${TINY}`,
    );
    assertOk(imported, "import through config");
    const viaConfig = await box.docker([...flags, ...RUN_TINY]);
    assertOk(viaConfig, "docker $(dinv config)");
    assert.match(viaConfig.stdout + viaConfig.stderr, /tini version/);

    const viaEnv = await box.sh(`eval "$(${DINV_BIN} env ${name})" && docker ${RUN_TINY.join(" ")}`, {
      DOCKER_HOST: "",
    });
    assertOk(viaEnv, "eval $(dinv env)");
    assert.match(viaEnv.stdout + viaEnv.stderr, /tini version/);

    const viaContext = await box.docker(["--context", name, ...RUN_TINY]);
    assertOk(viaContext, "docker --context");
    assert.match(viaContext.stdout + viaContext.stderr, /tini version/);
  });

  it("marks the host active once the shell points at it, and still reaches the endpoint", async () => {
    const script = `eval "$(${DINV_BIN} env ${name})" && ${DINV_BIN} active && ${DINV_BIN} ls --format '{{.Name}} {{.Active}} {{.State}}'`;
    const result = await box.sh(script);
    assertOk(result, "active + ls after eval env");
    assert.deepEqual(result.stdout.trim().split("\n"), [name, `${name} * Running`]);
  });

  it("prints env lines as docker-machine does", async () => {
    const env = await box.dinv(["env", "--shell", "bash", name]);
    assertOk(env, "env");
    const lines = env.stdout.trim().split("\n");
    assert.equal(lines[0], 'export DOCKER_TLS_VERIFY="1"');
    assert.match(lines[1] ?? "", /^export DOCKER_HOST="tcp:\/\/127\.0\.0\.1:\d+"$/);
    assert.equal(lines[2], `export DOCKER_CERT_PATH="${join(box.store, "hosts", name)}"`);
    assert.equal(lines[3], `export DOCKER_MACHINE_NAME="${name}"`);
    assert.match(lines.slice(4).join("\n"), /# Run this command to configure your shell:/);
  });

  it("stops, refuses url/env while stopped, starts again", async () => {
    assertOk(await box.dinv(["stop", name]), "stop");
    const state = await box.dinv(["ls", "--filter", `name=^${name}$`, "--format", "{{.State}}"]);
    assert.equal(state.stdout.trim(), "Stopped");
    assertCleanFailure(await box.dinv(["url", name]), /Host is not running/);
    assertCleanFailure(await box.dinv(["env", name]), /Host is not running/);
    assertOk(await box.dinv(["start", name]), "start");
    const url = await box.dinv(["url", name]);
    assertOk(url, "url");
    assert.match(url.stdout.trim(), /^tcp:\/\/127\.0\.0\.1:\d+$/);
    // The image cache survived the stop.
    assertOk(await box.docker(["--context", name, ...RUN_TINY]), "run after restart");
  });

  it("kills and restarts", async () => {
    assertOk(await box.dinv(["kill", name]), "kill");
    assert.equal((await box.dinv(["status", name])).stdout.trim(), "Stopped");
    assertOk(await box.dinv(["restart", name]), "restart");
    assert.equal((await box.dinv(["status", name])).stdout.trim(), "Running");
  });

  it("runs commands inside the host with exec", async () => {
    const result = await box.dinv(["exec", name, "--", "docker", "info", "--format", "{{.Driver}}"]);
    assertOk(result, "exec");
    assert.equal(result.stdout.trim(), "overlay2");
    const failing = await box.dinv(["exec", name, "--", "sh", "-c", "exit 3"]);
    assert.equal(failing.code, 3, "exit code of the command");
  });

  it("removes everything: container, volume, context, files", async () => {
    assertOk(await box.dinv(["rm", "-y", name]), "rm");
    const left = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.host=${name}`] }),
    });
    assert.equal(left.length, 0, "container gone");
    const { Volumes } = await engine.docker.listVolumes({
      filters: JSON.stringify({ label: [`io.dinv.host=${name}`] }),
    });
    assert.equal(Volumes?.length ?? 0, 0, "volume gone");
    assert.ok(!existsSync(join(box.store, "hosts", name)), "host folder gone");
    const ctx = await box.docker(["context", "inspect", name]);
    assert.notEqual(ctx.code, 0, "context gone");
    assertCleanFailure(await box.dinv(["inspect", name]), new RegExp(`Host "${name}" does not exist`));
  });
});

describe(`dinv CLI failures (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const name = runId("e2e-fail");

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await removeLabelled(engine, name, "io.dinv.host");
    box.cleanup();
  });

  it("fails fast against an unreachable endpoint and leaves nothing behind", async () => {
    const result = await box.dinv(["create", "--endpoint", "tcp://127.0.0.1:1", "--timeout", "30", name]);
    assertCleanFailure(result, /127\.0\.0\.1:1.*refused/);
    // A refusal ends create at once, not after --timeout (the bound leaves room for a loaded machine).
    assert.ok(result.ms < 15_000, `took ${result.ms} ms`);
    assert.ok(!existsSync(join(box.store, "hosts", name)), "no host folder");
  });

  it("rejects invalid names and flag values with one line", async (t) => {
    assertCleanFailure(await box.dinv(["create", "../x"]), /invalid host name/);
    assertCleanFailure(
      await box.dinv(["create", "--tls-san", "bad name", "ok-name"]),
      /not a valid IP address or DNS name/,
    );
    assertCleanFailure(await box.dinv(["ls", "--filter", "bogus=1"]), /name=REGEX/);
    assertCleanFailure(
      await box.dinv(["create", "--endpoint", "ftp://x", "ok-name"]),
      /not a valid Docker endpoint/,
    );
    assertCleanFailure(
      await box.dinv(["create", "--registry-ca", "corp.example", "ok-name"]),
      /is not REGISTRY=FILE/,
    );
    assertCleanFailure(
      await box.dinv(["create", "--registry-ca", `corp.example=${join(box.store, "none.pem")}`, "ok-name"]),
      /cannot read .*none\.pem: ENOENT/,
    );
    reportCases(t, 6);
  });

  it("lets exactly one of two concurrent creates of one name win", async () => {
    const [a, b] = await Promise.all([
      box.dinv(["create", ...IMAGE_ARGS, "--no-context", name]),
      box.dinv(["create", ...IMAGE_ARGS, "--no-context", name]),
    ]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(codes, [0, 1], `${a.stderr}\n${b.stderr}`);
    const loser = a.code === 1 ? a : b;
    assert.match(loser.stderr, new RegExp(`Host "${name}" already exists`));
  });

  it("reports a corrupted config.json clearly and still removes the host with rm -f", async () => {
    writeFileSync(join(box.store, "hosts", name, "config.json"), '{"version": 1, "name": ');
    const inspect = await box.dinv(["inspect", name]);
    assertCleanFailure(inspect, /config\.json is not valid JSON/);
    const ls = await box.dinv(["ls"]);
    assertOk(ls, "ls with a broken host");
    assert.match(ls.stdout, new RegExp(`${name}\\s+.*Error`));
    assertOk(await box.dinv(["rm", "-f", name, "--keep-cache"]), "rm -f");
    const left = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.dinv.host=${name}`] }),
    });
    assert.equal(left.length, 0, "container removed by label");
    const { Volumes } = await engine.docker.listVolumes({
      filters: JSON.stringify({ label: [`io.dinv.host=${name}`] }),
    });
    assert.equal(Volumes?.length, 1, "--keep-cache kept the volume");
  });

  it("reuses a kept cache volume when the name is created again", async () => {
    const again = await box.dinv(["create", ...IMAGE_ARGS, "--no-context", "--cache-size", "2g", name]);
    assertOk(again, "create over a kept cache");
    assert.match(again.stderr, /reusing the data kept in volume/);
    if (TEST_ENGINE === "vic") {
      // A VCH volume is a disk of the size it was made with: the kept one keeps its 20 GiB.
      assert.match(again.stderr, /--cache-size applies to a new volume only: volume dinv-\S+ keeps its size/);
      const volume = await engine.docker.getVolume(`dinv-${name}-cache`).inspect();
      assert.equal(volume.Options?.Capacity, "20480MB");
    } else {
      // Neither Docker Engine nor Podman can size a local volume: create says so rather than pretend.
      assert.match(
        again.stderr,
        new RegExp(`warning: --cache-size cannot be enforced on ${TEST_ENGINE}: its local volumes grow`),
      );
    }
    assertOk(await box.dinv(["rm", "-y", name]), "rm");
  });

  it("refuses a name whose container exists on the endpoint, and leaves that container alone", async () => {
    const other = `${name}-taken`;
    const squatter = await engine.docker.createContainer({
      name: `dinv-${other}`,
      Image: HOST_IMAGE,
      Labels: { "io.dinv.host": name },
    });
    const result = await box.dinv(["create", ...IMAGE_ARGS, "--no-context", other]);
    assertCleanFailure(result, new RegExp(`a container named dinv-${other} already exists`));
    await squatter.inspect(); // still there
    assert.ok(!existsSync(join(box.store, "hosts", other)), "no host folder");
  });
});
