/**
 * The seed's example end to end (issue 16): a host image with sshd built offline with
 * `dinv image build` (examples/sshd-host/build.sh), the example's personality added from
 * examples/, a host created on the real engine; `ssh` with the key dinv issued reaches it, and
 * the other dinv commands keep working on it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { DINV_BIN, REPO_ROOT, run, sandbox, type Sandbox } from "../helpers/cli.js";
import {
  ENGINE_NAME,
  HOST_IMAGE,
  danglingVolumes,
  removeImages,
  runId,
  testEngine,
  volumesLeftSince,
} from "../helpers/engine.js";

const EXAMPLE = join(REPO_ROOT, "examples", "sshd-host");

describe(`the sshd-host example: dinv image build + an added personality (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const id = runId("sshd");
  const image = `dinv-e2e/sshd-host:${id}`;
  const host = id;

  before(async () => {
    engine = await testEngine();
    box = sandbox();
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", host]);
    await removeImages([[engine, image]]);
    box.cleanup();
  });

  async function assertNoBuildContainer() {
    const filters = JSON.stringify({ name: ["^/dinv-image-build-"] });
    const left = await engine.docker.listContainers({ all: true, filters });
    assert.deepEqual(
      left.map((c) => c.Names),
      [],
      "no build container left",
    );
  }

  /** ssh as root to the host's published port 22 with the host's client key. */
  async function ssh(command: string, identity = true) {
    const port = await box.docker(["port", `dinv-${host}`, "22/tcp"]);
    assertOk(port, "docker port");
    const [address = "", portNumber = ""] = (port.stdout.trim().split("\n")[0] ?? "").split(/:(?=\d+$)/);
    return run(
      "ssh",
      [
        ...(identity ? ["-i", join(box.store, "hosts", host, "key.pem"), "-o", "IdentitiesOnly=yes"] : []),
        ...["-o", "PubkeyAuthentication=" + (identity ? "yes" : "no")],
        ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"],
        ...["-o", "ConnectTimeout=10", "-p", portNumber, `root@${address}`, command],
      ],
      box.env,
    );
  }

  it("builds the image offline from the official one, and it keeps the host image contract", async () => {
    const danglingBefore = await danglingVolumes(engine);
    const built = await box.sh(`${join(EXAMPLE, "build.sh")} --base ${HOST_IMAGE}`, {
      DINV: DINV_BIN,
      TAG: image,
    });
    assertOk(built, "examples/sshd-host/build.sh");
    assert.match(
      built.stdout,
      new RegExp(`^Built ${image} from ${HOST_IMAGE} \\(\\d+ packages added\\)`, "m"),
    );
    const inspected = await engine.docker.getImage(image).inspect();
    assert.deepEqual(inspected.Config.Entrypoint, ["/usr/bin/tini", "--", "/usr/local/bin/dinv-entrypoint"]);
    assert.equal(inspected.Config.Labels["io.dinv.image.base"], HOST_IMAGE);
    await assertNoBuildContainer();
    // The build container runs the base image, whose /var/lib/docker is a volume: it goes too.
    assert.deepEqual(await volumesLeftSince(engine, danglingBefore), [], "no build volume left");
    const checked = await box.dinv(["image", "check", image]);
    assertOk(checked, "image check");
    assert.match(checked.stdout, /keeps the host image contract\.$/m);
  });

  it("refuses bad input with one line: a missing --copy source, an unknown package, a missing base", async () => {
    const tag = ["--tag", `${image}-bad`];
    assertCleanFailure(
      await box.dinv(["image", "build", "--copy", "/nonexistent-src:/x", ...tag]),
      /--copy \/nonexistent-src:\/x: \/nonexistent-src does not exist$/m,
    );
    assertCleanFailure(
      await box.dinv(["image", "build", "--copy", "relative-dest:x", ...tag]),
      /expected SRC:DEST with an absolute DEST/,
    );
    assertCleanFailure(
      await box.dinv(["image", "build", "--apt", "no-such-package-zz", ...tag]),
      /apt could not resolve the packages: Unable to locate package no-such-package-zz/,
    );
    assertCleanFailure(
      await box.dinv(["image", "build", "--base", `dinv-e2e/none:${id}`, ...tag]),
      /cannot read the base image: .*build or load the base there first/,
    );
    await assertNoBuildContainer();
  });

  it("creates a host with the example personality; ssh with dinv's key gets in, without it not", async () => {
    assertOk(await box.dinv(["personality", "add", EXAMPLE]), "personality add examples/sshd-host");
    assertOk(await box.dinv(["create", "--personality", "sshd-host", "--image", image, host]), "create");
    const inside = await ssh(
      "docker version --format '{{.Server.Version}}' && cat /etc/ssh/sshd_config.d/dinv.conf",
    );
    assertOk(inside, "ssh with the host's key");
    assert.match(inside.stdout, /^\d+\.\d+/);
    assert.match(inside.stdout, /^PasswordAuthentication no$/m);
    const refused = await ssh("true", false);
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied \(publickey\)/);
  });

  it("keeps every other dinv command working on it", async () => {
    const viaEnv = await box.sh(`eval "$(${DINV_BIN} env ${host})" && docker info --format '{{.Name}}'`);
    assertOk(viaEnv, "dinv env + docker info");
    assertOk(
      await box.docker(["--context", host, "volume", "create", "kept"]),
      "docker volume create in the host",
    );
    const ls = await box.dinv(["ls", "--format", "{{.Name}} {{.State}} {{.DockerVersion}}"]);
    assert.match(ls.stdout, new RegExp(`^${host} Running v\\d`, "m"));
    assertOk(await box.dinv(["regenerate-certs", "-f", host]), "regenerate-certs");
    assertOk(await box.dinv(["restart", host]), "restart");
    assertOk(await box.dinv(["upgrade", host]), "upgrade");
    assertOk(
      await ssh("docker volume ls -q | grep -x kept"),
      "ssh after upgrade: the inner engine kept its data",
    );
    assertOk(await box.dinv(["stop", host]), "stop");
    assertCleanFailure(await box.dinv(["stop", host]), /already stopped/);
    assertOk(await box.dinv(["start", host]), "start");
    assertOk(await ssh("test -s /root/.ssh/authorized_keys"), "ssh after start");
    assertOk(await box.dinv(["rm", "-y", host]), "rm");
  });
});
