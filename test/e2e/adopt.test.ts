/**
 * `dinv adopt` on the real engine: a Docker-in-container host made by hand the way a user runs
 * docker:dind (the project's host image, dockerd with TLS, certificates from the user's own openssl
 * CA mounted, a volume at /var/lib/docker, the port published on any free port) is taken over;
 * env and the real docker CLI work through it, ls, stop/start and rm do, upgrade is refused with
 * the reason, and bad input saves nothing.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import { HOST_IMAGE, TEST_ENGINE, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";

/** docker run's flags for a nested dockerd where --privileged is refused (docs/architecture.md). */
const RIGHTS = [
  "--cap-add=ALL",
  "--cap-drop=SYS_RESOURCE",
  "--security-opt=seccomp=unconfined",
  "--security-opt=systempaths=unconfined",
  "--device-cgroup-rule=a *:* rwm",
  "--cgroupns=private",
];

describe(
  "dinv adopt (real Docker Engine, a host made by hand with the docker CLI and openssl)",
  {
    skip: TEST_ENGINE === "docker" ? false : "the hand-made host uses the Docker Engine's rights flags",
  },
  () => {
    let box: Sandbox;
    let engine: EngineClient;
    const id = runId("adopt");
    const container = `${id}-dind`;
    const volume = `${id}-data`;
    const name = `${id}-h`;
    const work = () => join(box.store, "..");
    const hostsDir = () => join(box.store, "hosts");

    before(async () => {
      engine = await testEngine();
      box = sandbox();
      // The user's own CA (RSA, PKCS#8 key) and a server certificate (EC, SEC1 key) for 127.0.0.1,
      // then an unrelated CA: what a user has after following docker's "protect the daemon socket".
      const pki = await box.sh(
        [
          `cd "${work()}" && mkdir -p certs`,
          `openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 3650 -subj "/CN=my docker CA" 2>/dev/null`,
          `openssl ecparam -name prime256v1 -genkey -noout -out certs/key.pem`,
          `openssl req -new -key certs/key.pem -subj "/CN=dind" -out server.csr`,
          `printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n" > server.ext`,
          `openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile server.ext -out certs/cert.pem 2>/dev/null`,
          `cp ca.pem certs/ca.pem && chmod 644 certs/*`,
          `openssl req -x509 -newkey rsa:2048 -nodes -keyout other-key.pem -out other.pem -days 30 -subj "/CN=other" 2>/dev/null`,
        ].join(" && "),
      );
      assertOk(pki, "openssl");
      assertOk(await box.docker(["volume", "create", "--label", `io.dinv.test=${id}`, volume]), "volume");
      const run = await box.docker([
        "run",
        "-d",
        "--name",
        container,
        "--label",
        `io.dinv.test=${id}`,
        ...RIGHTS,
        "-v",
        `${volume}:/var/lib/docker`,
        "-v",
        `${join(work(), "certs")}:/certs/server:ro`,
        "-p",
        "127.0.0.1::2376",
        HOST_IMAGE,
      ]);
      assertOk(run, "docker run of the hand-made host");
    });

    after(async () => {
      await box.dinv(["rm", "-f", "-y", name]);
      await removeLabelled(engine, id);
      box.cleanup();
    });

    const adopt = (ca: string, caKey: string, target = container) =>
      box.dinv([
        "adopt",
        name,
        "--container",
        target,
        "--tls-ca-cert",
        join(work(), ca),
        "--tls-ca-key",
        join(work(), caKey),
        "--timeout",
        "60",
      ]);
    const nothingSaved = () => {
      assert.deepEqual(existsSync(hostsDir()) ? readdirSync(hostsDir()) : [], [], "no host folder");
      assert.equal(existsSync(join(box.dockerConfig, "contexts")), false, "no docker context");
    };

    it("refuses a container that does not exist, saving nothing", async () => {
      assertCleanFailure(
        await adopt("ca.pem", "ca-key.pem", `${id}-nosuch`),
        /there is no container "adopt-/,
      );
      nothingSaved();
    });

    it("refuses a CA key that is not the CA's, and a CA the engine does not trust, saving nothing", async () => {
      assertCleanFailure(
        await adopt("ca.pem", "other-key.pem"),
        /--tls-ca-key .* is not the key of --tls-ca-cert/,
      );
      nothingSaved();
      assertCleanFailure(
        await adopt("other.pem", "other-key.pem"),
        /did not answer TLS-verified with the given CA/,
      );
      nothingSaved();
    });

    it("adopts the host: its CA kept private, env and the docker CLI work through it", async () => {
      const adopted = await adopt("ca.pem", "ca-key.pem");
      assertOk(adopted, "adopt");
      assert.match(adopted.stdout, new RegExp(`Adopted ${container} as host "${name}"`));
      const dir = join(hostsDir(), name);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(join(dir, "ca-key.pem")).mode & 0o777, 0o600, "the user's CA key is 0600");
      assert.equal(statSync(join(dir, "key.pem")).mode & 0o777, 0o600);
      const viaEnv = await box.sh(
        `eval "$(${JSON.stringify(DINV_BIN)} env ${name})" && docker info --format '{{.Name}}|{{.Driver}}'`,
        { DOCKER_CONTEXT: "" },
      );
      assertOk(viaEnv, "docker info through dinv env");
      const [engineName] = viaEnv.stdout.trim().split("|");
      assert.equal(engineName, (await engine.docker.getContainer(container).inspect()).Config.Hostname);
      assertOk(await box.docker(["--context", name, "ps"]), "docker --context");
    });

    it("lists it by its container, whose name carries no dinv label", async () => {
      const ls = await box.dinv(["ls", "--format", "{{.Name}}|{{.State}}|{{.URL}}|{{.Error}}"]);
      assertOk(ls, "ls");
      const [row] = ls.stdout.trim().split("\n");
      assert.match(row ?? "", new RegExp(`^${name}\\|Running\\|tcp://127\\.0\\.0\\.1:\\d+\\|$`));
    });

    it("stops and starts it (following the port docker publishes it on again)", async () => {
      assertOk(await box.dinv(["stop", name]), "stop");
      assert.match((await box.dinv(["status", name])).stdout, /^Stopped/);
      assertOk(await box.dinv(["start", name]), "start");
      assert.match((await box.dinv(["status", name])).stdout, /^Running/);
      assertOk(await box.docker(["--context", name, "version"]), "docker version after start");
    });

    it("refuses upgrade with the reason, changing nothing", async () => {
      const before = (await engine.docker.getContainer(container).inspect()).Id;
      assertCleanFailure(await box.dinv(["upgrade", name]), /dinv cannot upgrade .*the host was adopted/);
      assert.equal((await engine.docker.getContainer(container).inspect()).Id, before);
    });

    it("removes it, keeping the user's volume unless asked", async () => {
      const rm = await box.dinv(["rm", "-y", name]);
      assertOk(rm, "rm");
      assert.match(rm.stderr + rm.stdout, new RegExp(`kept volume ${volume}`));
      await assert.rejects(engine.docker.getContainer(container).inspect(), /no such container/i);
      assert.equal((await engine.docker.getVolume(volume).inspect()).Name, volume);
      assert.equal(existsSync(join(hostsDir(), name)), false);
    });
  },
);
