/**
 * Swarms of dinv hosts end to end, through bin/dinv and the real docker CLI pointed at the swarm
 * by `dinv swarm env`: 3 managers + 2 workers, a service of a tiny local image (built from
 * test/fixtures/hello/hello.c and loaded into each node through its own API: `docker import` on
 * the first, `docker save | docker load` to the others, since no registry is reachable and a
 * local load needs no registry container beside five inner engines), a manager host killed
 * (quorum, env failover, replicas back), scale down and up, a rolling upgrade measured with
 * requests through the routing mesh, and rm leaving nothing on the endpoint.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import type { EngineClient } from "../../src/engine/client.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { DINV_BIN, sandbox, type Sandbox } from "../helpers/cli.js";
import {
  ENGINE_NAME,
  IMAGE_ARGS,
  commitImage,
  imageWorkshop,
  publishImage,
  removeImages,
  removeLabelled,
  runId,
  testEngine,
} from "../helpers/engine.js";
import { HELLO_IMPORT_CHANGES, HELLO_PORT, helloRootfsTar } from "../helpers/hello-image.js";

const HELLO = "dinv-hello:1";

describe(`swarm (${ENGINE_NAME}, real docker CLI)`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  let helloTar: Buffer;
  /** Whether the routing mesh works here (set by the service test). */
  let mesh = false;
  let publish = "";
  const name = runId("sw");
  /** The image upgrade moves to: made on the workshop engine, pulled from its registry by a VCH. */
  const nextLocal = `dinv/host:${name}`;
  let nextImage = nextLocal;
  let workshop: EngineClient;
  const nodes = () =>
    JSON.parse(readFileSync(join(box.store, "swarms", name, "config.json"), "utf8")).nodes as Array<{
      host: string;
      role: string;
    }>;
  const addressOf = (host: string) =>
    (
      JSON.parse(readFileSync(join(box.store, "hosts", host, "config.json"), "utf8")) as {
        network: { address: string };
      }
    ).network.address;

  /** `dinv swarm env` parsed: the variables it exports. */
  const swarmEnv = async (): Promise<Record<string, string>> => {
    const env = await box.dinv(["swarm", "env", "--shell", "bash", name]);
    assertOk(env, "swarm env");
    return Object.fromEntries([...env.stdout.matchAll(/^export (\w+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
  };
  /** The real docker CLI against the manager env names. */
  const onSwarm = async (args: string[]) => box.docker(args, { DOCKER_CONTEXT: "", ...(await swarmEnv()) });
  const onNode = (host: string, args: string[]) => box.docker(["--context", host, ...args]);

  /** The hello image into nodes that lack it: import on the first, save | load to the others. */
  const loadHello = async (hosts: string[]) => {
    const [first, ...rest] = hosts;
    if (!first) return;
    const rootfs = join(box.store, "..", "hello-rootfs.tar");
    const image = join(box.store, "..", "hello-image.tar");
    writeFileSync(rootfs, helloTar);
    assertOk(
      await onNode(first, ["import", ...HELLO_IMPORT_CHANGES.flatMap((c) => ["--change", c]), rootfs, HELLO]),
      `import on ${first}`,
    );
    assertOk(await onNode(first, ["image", "save", "-o", image, HELLO]), `save on ${first}`);
    await Promise.all(
      rest.map(async (h) => assertOk(await onNode(h, ["load", "-i", image]), `load on ${h}`)),
    );
  };

  /** Running tasks of the service: node hostname per task. */
  const runningTasks = async (): Promise<string[]> => {
    const ps = await onSwarm([
      "service",
      "ps",
      "--filter",
      "desired-state=running",
      "--format",
      "{{.Node}} {{.CurrentState}}",
      "hello",
    ]);
    if (ps.code !== 0) return [];
    return ps.stdout
      .split("\n")
      .filter((l) => / Running /.test(l))
      .map((l) => l.split(" ")[0] ?? "");
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return Date.now();
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.fail(`${what} not reached in ${ms / 1000} s`);
  };
  /** GET / on a node's routing-mesh port: the answering task's hostname, or undefined. */
  const hello = (host: string, timeoutMs = 2_000) =>
    new Promise<string | undefined>((resolve) => {
      const req = request(
        { host: addressOf(host), port: HELLO_PORT, path: "/", agent: false, timeout: timeoutMs },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve(res.statusCode === 200 ? body.trim() : undefined));
          res.on("error", () => resolve(undefined));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => resolve(undefined));
      req.end();
    });

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    helloTar = await helloRootfsTar();
    workshop = imageWorkshop(engine);
    await commitImage(workshop, nextLocal, [`LABEL io.dinv.test.next=${name}`]);
    nextImage = await publishImage(workshop, nextLocal);
  });

  after(async () => {
    const left = await box.dinv(["swarm", "rm", "-f", name]);
    if (left.code !== 0) process.stderr.write(`swarm rm in cleanup: ${left.stderr}\n`);
    for (const host of [1, 2, 3, 4].flatMap((i) => [`${name}-m${i}`, `${name}-w${i}`]))
      await removeLabelled(engine, host, "io.dinv.host");
    await engine.docker
      .getNetwork(`dinv-swarm-${name}`)
      .remove()
      .catch(() => undefined);
    await removeImages([
      [engine, nextImage],
      [workshop, nextLocal],
    ]);
    box.cleanup();
  });

  it("creates 3 managers and 2 workers, every node Ready, a leader among the managers", async () => {
    const created = await box.dinv([
      "swarm",
      "create",
      ...IMAGE_ARGS,
      "--managers",
      "3",
      "--workers",
      "2",
      name,
    ]);
    assertOk(created, "swarm create");
    process.stderr.write(`# swarm create (5 nodes): ${created.ms} ms\n`);
    assert.match(created.stdout, /is ready: 5 node\(s\)/);
    const ls = await onSwarm(["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"]);
    assertOk(ls, "docker node ls");
    const rows = ls.stdout.trim().split("\n").sort();
    assert.deepEqual(
      rows.map((r) => r.split(" ").slice(0, 2).join(" ")),
      [`${name}-m1 Ready`, `${name}-m2 Ready`, `${name}-m3 Ready`, `${name}-w1 Ready`, `${name}-w2 Ready`],
    );
    assert.equal(rows.filter((r) => / Leader$/.test(r)).length, 1, ls.stdout);
    assert.equal(rows.filter((r) => / (Leader|Reachable)$/.test(r)).length, 3, ls.stdout);
    const swarmLs = await box.dinv(["swarm", "ls"]);
    assertOk(swarmLs, "swarm ls");
    assert.match(swarmLs.stdout, new RegExp(`${name}\\s+3\\s+2\\s+5/5`));
    // The swarm's own context points at a manager too.
    const viaContext = await box.docker([
      "--context",
      name,
      "info",
      "--format",
      "{{.Swarm.ControlAvailable}}",
    ]);
    assertOk(viaContext, "docker --context SWARM info");
    assert.equal(viaContext.stdout.trim(), "true");
  });

  it("runs 5 replicas of a local image, one per node", async () => {
    await loadHello(nodes().map((n) => n.host));
    // Swarm's routing mesh is IPVS: where the kernel lacks it (this machine's does), each task
    // publishes on its own node instead and clients go round the nodes.
    const ipvs = await box.docker(["exec", `dinv-${name}-m1`, "test", "-e", "/proc/sys/net/ipv4/vs"]);
    mesh = ipvs.code === 0;
    process.stderr.write(`# routing mesh (IPVS in the kernel): ${mesh ? "yes" : "no, host-mode ports"}\n`);
    publish = mesh ? `${HELLO_PORT}:${HELLO_PORT}` : `mode=host,published=${HELLO_PORT},target=${HELLO_PORT}`;
    const created = await onSwarm([
      "service",
      "create",
      "--detach",
      "--name",
      "hello",
      "--replicas",
      "5",
      "--no-resolve-image",
      HELLO,
    ]);
    assertOk(created, "service create");
    await waitFor("5 running tasks", async () => (await runningTasks()).length === 5);
    const where = await runningTasks();
    assert.equal(new Set(where).size, 5, `tasks spread over the nodes: ${where.join(", ")}`);
    // Published by the 2-replica service of the upgrade test: host-mode ports allow one task per node.
  });

  it("keeps answering with a manager host killed: env fails over, the service is back at 5", async () => {
    const before = await swarmEnv();
    assert.equal(before.DOCKER_MACHINE_NAME, `${name}-m1`);
    assertOk(await box.dinv(["kill", `${name}-m1`]), "kill m1");
    const killed = Date.now();
    const after = await swarmEnv();
    assert.match(after.DOCKER_MACHINE_NAME ?? "", new RegExp(`^${name}-m[23]$`));
    assert.notEqual(after.DOCKER_HOST, before.DOCKER_HOST);
    const viaContext = await box.docker(["--context", name, "node", "ls"]);
    assertOk(viaContext, "the swarm's context follows env's manager");
    await waitFor(`${name}-m1 Down`, async () => {
      const ls = await onSwarm(["node", "inspect", "--format", "{{.Status.State}}", `${name}-m1`]);
      return ls.code === 0 && ls.stdout.trim() === "down";
    });
    await waitFor("5 running tasks without m1", async () => {
      const where = await runningTasks();
      return where.length === 5 && !where.includes(`${name}-m1`);
    });
    process.stderr.write(`# manager killed: 5 replicas running elsewhere after ${Date.now() - killed} ms\n`);
    assertOk(await box.dinv(["start", `${name}-m1`]), "start m1 again");
    // Back at the address it advertised to the swarm (Podman's CNI gives another one at each
    // start unless the container has a fixed address).
    const restarted = await engine.docker.getContainer(`dinv-${name}-m1`).inspect();
    assert.equal(
      restarted.NetworkSettings.Networks[`dinv-swarm-${name}`]?.IPAddress,
      addressOf(`${name}-m1`),
      "m1's address after a restart",
    );
    await waitFor(`${name}-m1 Ready and reachable`, async () => {
      const ls = await onSwarm([
        "node",
        "inspect",
        "--format",
        "{{.Status.State}} {{.ManagerStatus.Reachability}}",
        `${name}-m1`,
      ]);
      return ls.code === 0 && ls.stdout.trim() === "ready reachable";
    });
  });

  it("scales to 1 worker and back, the managers untouched and the service at 5", async () => {
    const down = await box.dinv(["swarm", "scale", name, "--workers", "1"]);
    assertOk(down, "scale to 1 worker");
    assert.match(down.stdout, /3 manager\(s\), 1 worker\(s\)/);
    const ls = await onSwarm(["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"]);
    assertOk(ls, "node ls");
    assert.doesNotMatch(ls.stdout, new RegExp(`${name}-w2`));
    assert.equal(
      ls.stdout
        .trim()
        .split("\n")
        .filter((r) => / (Leader|Reachable)$/.test(r)).length,
      3,
    );
    assert.equal(
      (
        await engine.docker.listContainers({
          all: true,
          filters: JSON.stringify({ label: [`io.dinv.host=${name}-w2`] }),
        })
      ).length,
      0,
    );
    await waitFor("5 running tasks on 4 nodes", async () => (await runningTasks()).length === 5);
    const contexts = await box.docker(["context", "ls", "--format", "{{.Name}}"]);
    assert.doesNotMatch(contexts.stdout, new RegExp(`^${name}-w2$`, "m"), "the removed node's context");

    const up = await box.dinv(["swarm", "scale", name, "--workers", "2"]);
    assertOk(up, "scale back to 2 workers");
    assert.match(up.stdout, /3 manager\(s\), 2 worker\(s\)/);
    // A removed node's number is never given again: the new worker is w3, not w2.
    assert.deepEqual(
      nodes()
        .filter((n) => n.role === "worker")
        .map((n) => n.host),
      [`${name}-w1`, `${name}-w3`],
    );
    await loadHello([`${name}-w3`]);
    const back = await onSwarm([
      "node",
      "inspect",
      "--format",
      "{{.Status.State}} {{.Spec.Role}}",
      `${name}-w3`,
    ]);
    assertOk(back, "inspect w3");
    assert.equal(back.stdout.trim(), "ready worker");
  });

  it("upgrades node by node while the service (2 replicas) keeps answering", async () => {
    assertOk(await onSwarm(["service", "rm", "hello"]), "remove the 5-replica service");
    const web = await onSwarm([
      "service",
      "create",
      "--detach",
      "--name",
      "hello",
      "--replicas",
      "2",
      "--publish",
      publish,
      "--no-resolve-image",
      HELLO,
    ]);
    assertOk(web, "create the 2-replica published service");
    await waitFor("2 running tasks", async () => (await runningTasks()).length === 2);
    const answering = (await Promise.all(nodes().map((n) => hello(n.host)))).filter(Boolean);
    assert.ok(answering.length >= (mesh ? 5 : 2), `nodes answering on ${HELLO_PORT}: ${answering.length}`);
    // A client with the nodes' addresses: each round starts at the next node and tries the
    // others until one answers; a round with no answer is the service down. Attempts on a node
    // between its "draining" and "activating" lines are counted apart (it is down on purpose).
    const inUpgrade = new Set<string>();
    const counts = { rounds: 0, roundsFailed: 0, attempts: 0, failedElsewhere: 0, toUpgrading: 0 };
    const failures: string[] = [];
    let rolling = true;
    const requester = (async () => {
      for (let i = 0; rolling; i++) {
        const all = nodes().map((n) => n.host);
        let answered = false;
        for (let k = 0; k < all.length && !answered; k++) {
          const host = all[(i + k) % all.length] as string;
          const upgrading = inUpgrade.has(host);
          answered = (await hello(host)) !== undefined;
          counts.attempts++;
          if (upgrading || inUpgrade.has(host)) counts.toUpgrading++;
          else if (!answered) counts.failedElsewhere++;
        }
        counts.rounds++;
        if (!answered) {
          counts.roundsFailed++;
          failures.push(new Date().toISOString());
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const started = Date.now();
    const child = spawn(DINV_BIN, ["swarm", "upgrade", "--image", nextImage, name], { env: box.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    for await (const line of createInterface({ input: child.stderr })) {
      stderr += `${line}\n`;
      const drained = /^draining (\S+) \(\d+\/\d+\): done/.exec(line);
      if (drained?.[1]) inUpgrade.add(drained[1]);
      const active = /^activating (\S+): done/.exec(line);
      if (active?.[1]) inUpgrade.delete(active[1]);
    }
    const code = await new Promise<number>((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.on("close", (c) => resolve(c ?? -1)),
    );
    rolling = false;
    await requester;
    process.stderr.write(
      `# rolling upgrade of 5 nodes: ${Date.now() - started} ms; ${counts.rounds} requests, ${counts.roundsFailed} failed (no node answered); ${counts.attempts} attempts, ${counts.failedElsewhere} refused by nodes not in upgrade${mesh ? "" : " (host-mode ports: nodes without a task refuse)"}, ${counts.toUpgrading} to the node in upgrade\n`,
    );
    assert.equal(code, 0, `swarm upgrade failed:\n${stderr}\n${stdout}`);
    assert.match(stdout, /5 node\(s\) upgraded/);
    assert.ok(counts.rounds > 20, `enough requests were made (${counts.rounds})`);
    assert.equal(counts.roundsFailed, 0, `requests no node answered, at: ${failures.join(", ")}`);
    // Through the mesh every node not in upgrade forwards to a task.
    if (mesh) assert.equal(counts.failedElsewhere, 0, "attempts refused by nodes not in upgrade");
    // By image ID: Podman reports the reference it was given fully qualified (docker.io/dinv/host:…).
    const imageId = (id: string) => id.replace(/^sha256:/, "");
    const next = imageId((await engine.docker.getImage(nextImage).inspect()).Id);
    for (const n of nodes()) {
      const container = await engine.docker.getContainer(`dinv-${n.host}`).inspect();
      assert.equal(imageId(container.Image), next, `${n.host} runs the new image`);
    }
    // A new leader (the old one is upgraded last) shows nodes Unknown until their next heartbeat.
    await waitFor("5 nodes Ready and Active", async () => {
      const ls = await onSwarm(["node", "ls", "--format", "{{.Status}} {{.Availability}}"]);
      return (
        ls.code === 0 &&
        ls.stdout
          .trim()
          .split("\n")
          .every((r) => r === "Ready Active")
      );
    });
    await waitFor("2 running tasks after the upgrade", async () => (await runningTasks()).length === 2);
  });

  it("refuses to reload a swarm node's engine behind its tasks' back (share revoke, regenerate-certs)", async () => {
    const host = `${name}-w1`;
    const refused = await box.dinv(["regenerate-certs", host]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /without live-restore \(a swarm node\)/);
    assert.match(refused.stderr, /dinv swarm regenerate-certs/);
    const bundle = join(box.store, "..", "share.tar.gz");
    const shared = await box.dinv(["share", host, "--to", "alice", "-o", bundle]);
    assert.equal(shared.code, 1, shared.stderr);
    assert.match(shared.stderr, /without live-restore \(a swarm node\).*nothing was shared/);
    assert.equal(existsSync(bundle), false);
    const rolled = await box.dinv(["swarm", "regenerate-certs", name, host]);
    assertOk(rolled, "swarm regenerate-certs one node");
    const state = await onSwarm([
      "node",
      "inspect",
      "--format",
      "{{.Status.State}} {{.Spec.Availability}}",
      host,
    ]);
    assert.equal(state.stdout.trim(), "ready active");
    await waitFor("2 running tasks after the reload", async () => (await runningTasks()).length === 2);
  });

  it("rm leaves nothing: containers, volumes, network, contexts, store entries", async () => {
    const hosts = nodes().map((n) => n.host);
    // Off a terminal, as `dinv rm`: nothing goes without -y (or -f).
    assertCleanFailure(await box.dinv(["swarm", "rm", name]), /refusing to remove without confirmation/);
    assert.equal(nodes().length, hosts.length, "the swarm is untouched");
    const rm = await box.dinv(["swarm", "rm", "-y", name]);
    assertOk(rm, "swarm rm");
    for (const host of hosts) {
      const filters = JSON.stringify({ label: [`io.dinv.host=${host}`] });
      assert.equal(
        (await engine.docker.listContainers({ all: true, filters })).length,
        0,
        `${host} containers`,
      );
      assert.equal(
        ((await engine.docker.listVolumes({ filters })).Volumes ?? []).length,
        0,
        `${host} volumes`,
      );
    }
    await assert.rejects(
      engine.docker.getNetwork(`dinv-swarm-${name}`).inspect(),
      /404|no such network|not found/i,
    );
    const contexts = await box.docker(["context", "ls", "--format", "{{.Name}}"]);
    assertOk(contexts, "context ls");
    assert.deepEqual(contexts.stdout.trim().split("\n"), ["default"]);
    const ls = await box.dinv(["ls", "-q"]);
    assert.equal(ls.stdout.trim(), "");
    const swarms = await box.dinv(["swarm", "ls", "-q"]);
    assert.equal(swarms.stdout.trim(), "");
  });
});
