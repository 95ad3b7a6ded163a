/**
 * Testcontainers-ready (issue 18): the testcontainers npm package, configured only by what
 * `dinv env --testcontainers NAME` prints, runs a container on a dinv host over TLS and reaches
 * its port at the host's address; the engine the host runs on never sees that container.
 *
 * Ryuk is not exercised: its image (testcontainers/ryuk) comes from Docker Hub, and no registry
 * is reachable here, so TESTCONTAINERS_RYUK_DISABLED=true and the test stops its container
 * itself. What Ryuk needs (TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE, a socket inside the host) is
 * checked in shell-scope.test.ts.
 *
 * The host sits on a container network: Testcontainers reaches a container's mapped port at
 * TESTCONTAINERS_HOST_OVERRIDE, the host's address, and only a host reached at its own address
 * (`--network`) has the inner engine's published ports there; a host with a published TLS port
 * (the default) has only that port on the endpoint's address.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { GenericContainer, Wait } from "testcontainers";
import type { EngineClient } from "../../src/engine/client.js";
import { assertOk } from "../helpers/assert.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import { ENGINE_NAME, IMAGE_ARGS, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { HELLO_IMPORT_CHANGES, HELLO_PORT, helloRootfsTar } from "../helpers/hello-image.js";

// Off the outer bridge, the inner engines' ranges and the other suites' networks (10.231-232).
const SUBNET = "10.233.0.0/24";

describe(`Testcontainers against a dinv host (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  const id = runId("tc");
  const network = `${id}-lan`;
  const host = `${id}-host`;
  // A registry on loopback where nothing listens: an engine without the image (the wrong one)
  // fails its pull at once, and no pull ever leaves this machine.
  const image = `127.0.0.1:9/dinv-test/hello:${id}`;
  /** What `dinv env --testcontainers` exports, as bash sets it. */
  let hostEnv: Record<string, string>;

  /** Container events carrying this run's label on the engine `env` points the docker CLI at. */
  const eventsSince = async (since: number, env: NodeJS.ProcessEnv) => {
    const window = ["--since", `${since}`, "--until", `${Math.ceil(Date.now() / 1000)}`];
    const filters = ["--filter", `label=io.dinv.test=${id}`, "--filter", "type=container"];
    const result = await box.docker(["events", ...window, ...filters, "--format", "{{.Action}}"], env);
    assertOk(result, "docker events");
    return result.stdout.split("\n").filter(Boolean);
  };

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    await engine.docker.createNetwork({
      Name: network,
      Driver: "bridge",
      IPAM: { Config: [{ Subnet: SUBNET }] },
      Labels: { "io.dinv.test": id },
    });
    assertOk(await box.dinv(["create", ...IMAGE_ARGS, "--network", network, host]), "create");

    const printed = await box.dinv(["env", "--shell", "bash", "--testcontainers", host]);
    assertOk(printed, "env --testcontainers");
    assert.doesNotMatch(
      printed.stderr,
      /warning/,
      "a host on a network has its containers' ports at its address",
    );
    const names = [...printed.stdout.matchAll(/^export (\w+)=/gm)].map((m) => m[1] as string);
    const script = `eval "$(${DINV_BIN} env --shell bash --testcontainers ${host})" && env -0`;
    const evaluated = await box.sh(script);
    assertOk(evaluated, "eval of env --testcontainers");
    const all = new Map(evaluated.stdout.split("\0").map((kv) => kv.split(/=(.*)/s) as [string, string]));
    hostEnv = Object.fromEntries(names.map((name) => [name, all.get(name) ?? ""]));

    // The image exists only in the host's own engine: imported there through the host's env.
    const imported = await box.docker(
      ["import", ...HELLO_IMPORT_CHANGES.flatMap((c) => ["--change", c]), "-", image],
      hostEnv,
      Readable.from(await helloRootfsTar()),
    );
    assertOk(imported, "docker import into the host");
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", host]);
    await removeLabelled(engine, host, "io.dinv.host");
    await removeLabelled(engine, id);
    await engine.docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    box.cleanup();
  });

  it("runs a container from the host's own image over TLS and reaches its port at the host's address", async () => {
    // TLS with the client certificate in DOCKER_CERT_PATH: the host's engine serves nothing else.
    const url = new URL(hostEnv.DOCKER_HOST ?? "");
    assert.equal(url.protocol, "tcp:", "a TCP endpoint, not a socket");
    assert.equal(hostEnv.DOCKER_TLS_VERIFY, "1");
    assert.equal(
      hostEnv.TESTCONTAINERS_HOST_OVERRIDE,
      url.hostname,
      "containers' ports are at the host's address",
    );

    // Testcontainers reads the process environment (and ~/.testcontainers.properties: a HOME of
    // our own keeps the machine's out). This file runs in its own process under node --test.
    const home = join(box.store, "..", "home");
    mkdirSync(home, { recursive: true });
    const testEnv: Record<string, string> = {
      ...hostEnv,
      HOME: home,
      DOCKER_CONFIG: box.dockerConfig,
      TESTCONTAINERS_RYUK_DISABLED: "true", // see the header: Ryuk's image cannot be had offline
    };
    const saved = Object.fromEntries(Object.keys(testEnv).map((k) => [k, process.env[k]]));
    Object.assign(process.env, testEnv);
    const since = Math.floor(Date.now() / 1000) - 1;
    try {
      const container = await new GenericContainer(image)
        .withLabels({ "io.dinv.test": id })
        .withExposedPorts(HELLO_PORT)
        .withWaitStrategy(Wait.forHttp("/", HELLO_PORT))
        .start();
      try {
        assert.equal(container.getHost(), hostEnv.TESTCONTAINERS_HOST_OVERRIDE);
        const answer = await fetch(`http://${container.getHost()}:${container.getMappedPort(HELLO_PORT)}/`);
        assert.equal(answer.status, 200);
        assert.equal(
          (await answer.text()).trim(),
          container.getId().slice(0, 12),
          "hello names its container",
        );
        const listed = await box.docker(
          ["ps", "--filter", `label=io.dinv.test=${id}`, "--format", "{{.ID}} {{.Ports}}"],
          hostEnv,
        );
        assertOk(listed, "docker ps on the host");
        assert.match(
          listed.stdout,
          new RegExp(
            `^${container.getId().slice(0, 12)} .*:${container.getMappedPort(HELLO_PORT)}->${HELLO_PORT}/tcp`,
          ),
          "running in the host's engine, its port published there",
        );
      } finally {
        await container.stop();
      }
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }

    const onHost = await eventsSince(since, hostEnv);
    for (const action of ["create", "start", "destroy"])
      assert.ok(onHost.includes(action), `${action} on the host`);
    assert.deepEqual(await eventsSince(since, {}), [], "the engine the host runs on never saw the container");
    const left = await box.docker(["ps", "-a", "-q", "--filter", `label=io.dinv.test=${id}`], hostEnv);
    assert.equal(left.stdout.trim(), "", "stop removed the container from the host");
  });
});
