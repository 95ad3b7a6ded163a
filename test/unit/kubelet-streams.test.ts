/**
 * The pure parts behind the kubelet API — routes, query parsing, the engine log query, the
 * engine's stream framing, stats shaping, Prometheus text, channel protocol helpers, SANs —
 * and PodStreams (logs/exec/attach lookups) against a test double of the engine.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, it } from "node:test";
import { requestAttributes } from "../../src/kubelet/api/authz.js";
import { chooseProtocol, exitStatus, frame, parseResize } from "../../src/kubelet/api/channels.js";
import { resourceMetrics } from "../../src/kubelet/api/metrics.js";
import {
  BadRequest,
  logOptions,
  parseBool,
  runCommand,
  streamOptions,
} from "../../src/kubelet/api/params.js";
import { matchRoute } from "../../src/kubelet/api/routes.js";
import { servingMaterial, servingSans } from "../../src/kubelet/api/tls.js";
import type { Pod } from "../../src/kubelet/kube/types.js";
import { StreamingError, type ContainerLogOptions } from "../../src/kubelet/provider-api.js";
import type {
  EngineContainerDetails,
  EngineLogOptions,
  EngineSession,
  EngineStatsSample,
  PodEngine,
  StreamingEngine,
} from "../../src/kubelet/provider/engine.js";
import { engineLogQuery, unixTime } from "../../src/kubelet/provider/log-query.js";
import { PodCache } from "../../src/kubelet/provider/pod-cache.js";
import { PodStreams } from "../../src/kubelet/provider/pod-streams.js";
import { ByteLimit, FrameDecoder, MergedFrames, splitStreams } from "../../src/engine/stdcopy.js";
import { cpuOf, summarize } from "../../src/kubelet/stats/summary.js";
import { MhzCpu } from "../../src/kubelet/stats/mhz-cpu.js";
import { PodStatsCollector } from "../../src/kubelet/provider/pod-stats.js";
import { statsSample } from "../../src/kubelet/provider/docker-engine.js";
import { createCertificateAuthority, readCertificateFacts } from "../../src/pki/certificates.js";

function muxed(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function read(stream: Readable): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += (chunk as Buffer).toString();
  return out;
}

describe("kubelet API routes", () => {
  it("parses the kubelet's paths", () => {
    assert.deepEqual(matchRoute("/containerLogs/ns/p/c")?.route, {
      kind: "containerLogs",
      ref: { namespace: "ns", pod: "p", container: "c" },
    });
    assert.deepEqual(matchRoute("/exec/ns/p/uid-1/c")?.route, {
      kind: "exec",
      ref: { namespace: "ns", pod: "p", uid: "uid-1", container: "c" },
    });
    assert.deepEqual(matchRoute("/run/ns/p/c")?.methods, ["POST"]);
    assert.equal(matchRoute("/stats/summary")?.route.kind, "statsSummary");
    assert.equal(matchRoute("/metrics/resource")?.route.kind, "metricsResource");
  });

  it("refuses malformed and traversing paths", () => {
    for (const path of [
      "/containerLogs/ns/p",
      "/containerLogs/ns/p/uid/c",
      "/containerLogs/ns/../c",
      "/exec/ns/p/%2e%2e/c",
      "/exec/ns/p%2Fx/c",
      "/stats",
      "/metrics",
      "/pods/x",
      "/containerLogs/ns/p/%E0%A4%A",
    ]) {
      assert.equal(matchRoute(path), undefined, path);
    }
  });

  it("maps requests to node subresources as a kubelet does", () => {
    assert.deepEqual(requestAttributes("GET", "/stats/summary", "n"), {
      verb: "get",
      resource: "nodes",
      subresource: "stats",
      name: "n",
    });
    assert.equal(requestAttributes("GET", "/metrics/resource", "n").subresource, "metrics");
    assert.equal(requestAttributes("GET", "/logs/", "n").subresource, "log");
    assert.equal(requestAttributes("GET", "/statsfoo", "n").subresource, "proxy");
    assert.equal(requestAttributes("POST", "/exec/a/b/c", "n").verb, "create");
    assert.equal(requestAttributes("HEAD", "/healthz", "n").verb, "get");
  });
});

describe("kubelet API query parameters", () => {
  it("parses booleans as Go's ParseBool", () => {
    assert.equal(parseBool("x", "1"), true);
    assert.equal(parseBool("x", "True"), true);
    assert.equal(parseBool("x", "f"), false);
    assert.equal(parseBool("x", null, true), true);
    assert.throws(() => parseBool("x", "yes"), BadRequest);
  });

  it("validates log options", () => {
    const q = (s: string) => new URLSearchParams(s);
    assert.deepEqual(logOptions(q("")), { follow: false, timestamps: false, previous: false });
    assert.deepEqual(logOptions(q("tailLines=0&sinceTime=2026-01-02T03:04:05.123456789Z")), {
      follow: false,
      timestamps: false,
      previous: false,
      tailLines: 0,
      sinceTime: "2026-01-02T03:04:05.123456789Z",
    });
    for (const bad of [
      "tailLines=-1",
      "tailLines=1.5",
      "limitBytes=0",
      "sinceSeconds=0",
      "sinceTime=yesterday",
      "sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z",
    ]) {
      assert.throws(() => logOptions(q(bad)), BadRequest, bad);
    }
  });

  it("drops stderr with a tty and wants at least one stream", () => {
    assert.deepEqual(streamOptions(new URLSearchParams("stdout=1&stderr=1&tty=true")), {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: true,
    });
    assert.throws(() => streamOptions(new URLSearchParams("tty=1")), /at least 1 of stdin, stdout, stderr/);
  });

  it("splits /run's cmd on whitespace, else takes repeated command parameters", () => {
    assert.deepEqual(runCommand(new URLSearchParams("cmd=ls%20%20-l%09/")), ["ls", "-l", "/"]);
    assert.deepEqual(runCommand(new URLSearchParams("command=sh&command=-c&command=echo a")), [
      "sh",
      "-c",
      "echo a",
    ]);
    assert.throws(() => runCommand(new URLSearchParams("cmd=%20")), BadRequest);
  });
});

describe("engine log query", () => {
  const opts = (o: Partial<ContainerLogOptions> = {}): ContainerLogOptions => ({
    follow: false,
    timestamps: false,
    previous: false,
    ...o,
  });
  const ref = { pod: "p", container: "c" };

  it("converts RFC 3339 to Unix seconds.nanoseconds without losing precision", () => {
    assert.equal(unixTime("2026-01-01T00:00:00.123456789Z"), "1767225600.123456789");
    assert.equal(unixTime("2026-01-01T01:00:00+01:00"), "1767225600.000000000");
    assert.equal(unixTime("2026-01-01T00:00:00.5Z"), "1767225600.500000000");
  });

  it("shows the current instance only after a restart", () => {
    const first = engineLogQuery(
      opts({ follow: true, tailLines: 5 }),
      { startedAt: "2026-01-01T00:00:10.5Z", restartCount: 0 },
      ref,
    );
    assert.deepEqual(first, { follow: true, timestamps: false, tail: 5 });
    const restarted = engineLogQuery(opts(), { startedAt: "2026-01-01T00:00:10.5Z", restartCount: 2 }, ref);
    assert.equal(restarted.since, "1767225610.500000000");
  });

  it("takes the later of the asked since and the instance start", () => {
    const now = new Date("2026-01-01T00:10:00Z");
    const q = engineLogQuery(
      opts({ sinceSeconds: 60 }),
      { startedAt: "2026-01-01T00:00:00Z", restartCount: 1 },
      ref,
      now,
    );
    assert.equal(q.since, String(Date.parse("2026-01-01T00:09:00Z") / 1000));
    const early = engineLogQuery(
      opts({ sinceTime: "2025-12-31T00:00:00Z" }),
      { startedAt: "2026-01-01T00:00:00Z", restartCount: 1 },
      ref,
    );
    assert.equal(early.since, "1767225600.000000000");
  });

  it("serves the previous instance until the current one started, never following", () => {
    const q = engineLogQuery(
      opts({ previous: true, follow: true }),
      { startedAt: "2026-01-01T00:00:00Z", restartCount: 1 },
      ref,
    );
    assert.deepEqual(q, { follow: false, timestamps: false, until: "1767225600.000000000" });
    assert.throws(
      () =>
        engineLogQuery(opts({ previous: true }), { startedAt: "2026-01-01T00:00:00Z", restartCount: 0 }, ref),
      (err: unknown) =>
        err instanceof StreamingError &&
        err.status === 400 &&
        /previous terminated container "c" in pod "p"/.test(err.message),
    );
  });
});

describe("engine stream framing", () => {
  it("decodes frames split across chunks", () => {
    const all = Buffer.concat([muxed(1, "hello"), muxed(2, "err"), muxed(1, "")]);
    const decoder = new FrameDecoder();
    const frames = [
      ...decoder.push(all.subarray(0, 3)),
      ...decoder.push(all.subarray(3, 15)),
      ...decoder.push(all.subarray(15)),
    ];
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, "hello"],
        [2, "err"],
        [1, ""],
      ],
    );
    assert.equal(decoder.pending, 0);
  });

  it("merges stdout and stderr in order and limits bytes", async () => {
    const source = Readable.from([muxed(1, "a\n"), muxed(2, "b\n"), muxed(0, "ignored"), muxed(1, "c\n")]);
    assert.equal(await read(source.pipe(new MergedFrames())), "a\nb\nc\n");
    const limited = Readable.from([Buffer.from("abc"), Buffer.from("def")]).pipe(new ByteLimit(4));
    assert.equal(await read(limited), "abcd");
  });

  it("splits exec output into stdout and stderr, or passes a tty through", async () => {
    const source = new PassThrough();
    const { stdout, stderr, ended } = splitStreams(source, false, { stdout: true, stderr: true });
    source.end(Buffer.concat([muxed(1, "out"), muxed(2, "err")]));
    const [o, e] = await Promise.all([read(stdout as Readable), read(stderr as Readable), ended]);
    assert.deepEqual([o, e], ["out", "err"]);
    const raw = new PassThrough();
    const tty = splitStreams(raw, true, { stdout: true, stderr: true });
    assert.equal(tty.stderr, undefined, "a terminal has no separate stderr");
    raw.end(Buffer.from("\u001b[1mraw"));
    assert.equal(await read(tty.stdout as Readable), "\u001b[1mraw");
  });
});

const sample = (o: Partial<EngineStatsSample> = {}): EngineStatsSample => ({
  read: "2026-01-01T00:01:01Z",
  preread: "2026-01-01T00:01:00Z",
  cpuTotalNs: 3_000_000_000,
  preCpuTotalNs: 2_500_000_000,
  memoryUsageBytes: 3000,
  memoryWorkingSetBytes: 2000,
  networks: [
    { name: "lo", rxBytes: 1, rxErrors: 0, txBytes: 1, txErrors: 0 },
    { name: "eth0", rxBytes: 100, rxErrors: 0, txBytes: 50, txErrors: 0 },
  ],
  ...o,
});

describe("stats summary", () => {
  it("computes the CPU rate from the engine's two samples", () => {
    assert.deepEqual(cpuOf(sample()), {
      time: "2026-01-01T00:01:01Z",
      usageNanoCores: 500_000_000,
      usageCoreNanoSeconds: 3_000_000_000,
    });
    assert.equal(
      cpuOf(sample({ preread: "0001-01-01T00:00:00Z", preCpuTotalNs: 0 })).usageNanoCores,
      undefined,
    );
  });

  it("sums containers into pods and pods into the node", () => {
    const summary = summarize(
      { nodeName: "vk", startTime: "2026-01-01T00:00:00Z", allocatableMemoryBytes: 10_000 },
      [
        {
          ref: { name: "a", namespace: "ns", uid: "1" },
          startTime: "2026-01-01T00:00:00Z",
          containers: [
            { name: "x", startTime: "2026-01-01T00:00:01Z", sample: sample(), cpu: cpuOf(sample()) },
            {
              name: "y",
              startTime: "2026-01-01T00:00:01Z",
              sample: sample({ memoryWorkingSetBytes: 1000 }),
              cpu: cpuOf(sample()),
            },
            { name: "stopped", startTime: "2026-01-01T00:00:01Z" },
          ],
          network: sample(),
        },
      ],
      new Date("2026-01-01T00:01:02Z"),
    );
    const pod = summary.pods[0];
    assert.equal(pod?.memory?.workingSetBytes, 3000);
    assert.equal(pod?.cpu?.usageNanoCores, 1_000_000_000);
    assert.equal(pod?.containers[2]?.memory, undefined);
    assert.equal(pod?.network?.name, "eth0");
    assert.equal(pod?.network?.rxBytes, 100);
    assert.equal(summary.node.memory?.workingSetBytes, 3000);
    assert.equal(summary.node.memory?.availableBytes, 7000);
    assert.equal(summary.node.cpu?.usageCoreNanoSeconds, 6_000_000_000);
  });

  it("writes Prometheus text with escaped labels and millisecond timestamps", () => {
    const text = resourceMetrics(
      {
        node: { nodeName: "vk", startTime: "2026-01-01T00:00:00Z" },
        pods: [
          {
            podRef: { name: 'we"ird\\pod', namespace: "ns", uid: "1" },
            startTime: "2026-01-01T00:00:00Z",
            containers: [
              {
                name: "c",
                startTime: "2026-01-01T00:00:01Z",
                memory: { time: "2026-01-01T00:01:00Z", workingSetBytes: 42 },
              },
            ],
          },
        ],
      },
      true,
    );
    assert.match(text, /^# HELP container_cpu_usage_seconds_total /);
    assert.match(
      text,
      /\ncontainer_memory_working_set_bytes\{container="c",namespace="ns",pod="we\\"ird\\\\pod"\} 42 1767225660000\n/,
    );
    assert.match(
      text,
      /\ncontainer_start_time_seconds\{container="c",namespace="ns",pod="we\\"ird\\\\pod"\} 1767225601\n/,
    );
    assert.match(text, /\nresource_scrape_error 1\n$/);
    assert.ok(!/node_cpu_usage_seconds_total \d/.test(text), "no sample without figures");
  });
});

describe("channel protocol helpers", () => {
  it("picks the client's first supported protocol", () => {
    assert.equal(chooseProtocol(["v4.channel.k8s.io", "v5.channel.k8s.io"]), "v4.channel.k8s.io");
    assert.equal(
      chooseProtocol([" v5.channel.k8s.io", "base64url.bearer.authorization.k8s.io.x"]),
      "v5.channel.k8s.io",
    );
    assert.equal(chooseProtocol(["channel.k8s.io", "v3.channel.k8s.io"]), undefined);
  });

  it("frames, resizes and exit statuses", () => {
    assert.deepEqual([...frame(1, "hi")], [1, 104, 105]);
    assert.deepEqual(parseResize(Buffer.from('{"Width":80,"Height":24}')), { width: 80, height: 24 });
    assert.equal(parseResize(Buffer.from('{"Width":-1,"Height":24}')), undefined);
    assert.equal(parseResize(Buffer.from("{")), undefined);
    assert.deepEqual(exitStatus(0), { metadata: {}, status: "Success" });
    assert.equal(exitStatus(137).details?.causes[0]?.message, "137");
  });
});

describe("kubelet serving certificate", () => {
  it("covers the node name, its IPs and localhost, skipping wildcard addresses and invalid names", () => {
    assert.deepEqual(servingSans("vk-1", ["10.0.0.5", "0.0.0.0", "::", "bad name"]), [
      "vk-1",
      "10.0.0.5",
      "localhost",
      "127.0.0.1",
    ]);
  });

  it("issues from the given CA without files, reads files when given, wants both", async () => {
    const ca = await createCertificateAuthority();
    const issued = await servingMaterial({ nodeName: "vk", sans: ["10.1.2.3"], issuer: async () => ca });
    assert.deepEqual(readCertificateFacts(issued.cert).ips.sort(), ["10.1.2.3", "127.0.0.1"]);
    assert.match(issued.source, /issued by dinv's CA/);
    const dir = mkdtempSync(join(tmpdir(), "dinv-kubelet-tls-"));
    try {
      writeFileSync(join(dir, "cert.pem"), issued.cert);
      writeFileSync(join(dir, "key.pem"), issued.key);
      writeFileSync(join(dir, "ca.pem"), ca.certPem);
      const files = await servingMaterial({
        nodeName: "vk",
        sans: [],
        certFile: join(dir, "cert.pem"),
        keyFile: join(dir, "key.pem"),
        clientCaFile: join(dir, "ca.pem"),
      });
      assert.equal(files.cert, issued.cert);
      assert.equal(files.clientCa, ca.certPem);
      await assert.rejects(
        servingMaterial({ nodeName: "vk", sans: [], certFile: join(dir, "cert.pem") }),
        /together/,
      );
      await assert.rejects(
        servingMaterial({
          nodeName: "vk",
          sans: [],
          clientCaFile: join(dir, "missing.pem"),
          issuer: async () => ca,
        }),
        /cannot read the client CA/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Inspect, logs, exec and attach over an in-memory container table. */
class FakeStreamingEngine implements Pick<PodEngine, "inspectContainer">, StreamingEngine {
  containers = new Map<string, EngineContainerDetails>();
  logQueries: EngineLogOptions[] = [];
  logOutput = Buffer.alloc(0);

  async inspectContainer(id: string) {
    return this.containers.get(id);
  }
  async containerLogs(_id: string, options: EngineLogOptions): Promise<Readable> {
    this.logQueries.push(options);
    return Readable.from([this.logOutput]);
  }
  async exec(): Promise<EngineSession> {
    const stream = new PassThrough();
    setImmediate(() => stream.end(Buffer.concat([muxed(1, "out"), muxed(2, "err")])));
    return { stream, resize: async () => undefined, exitCode: async () => 5 };
  }
  async attach(): Promise<EngineSession> {
    const stream = new PassThrough();
    setImmediate(() => stream.end("tty bytes"));
    return { stream, resize: async () => undefined, exitCode: async () => undefined };
  }
  async containerStats() {
    return undefined;
  }
}

function details(
  id: string,
  o: Partial<EngineContainerDetails> & { status?: EngineContainerDetails["state"]["status"] } = {},
): EngineContainerDetails {
  return {
    id,
    image: "img",
    imageId: "sha256:1",
    labels: {},
    created: "2026-01-01T00:00:00Z",
    state: {
      status: o.status ?? "running",
      exitCode: 0,
      error: "",
      oomKilled: false,
      startedAt: "2026-01-01T00:00:01Z",
      finishedAt: "0001-01-01T00:00:00Z",
    },
    restartCount: 0,
    ...o,
  };
}

function streamsFixture() {
  const engine = new FakeStreamingEngine();
  const cache = new PodCache();
  const pod: Pod = {
    metadata: { name: "web", namespace: "team-a", uid: "u1" },
    spec: { containers: [{ name: "app" }, { name: "late" }] },
  };
  cache.set({
    namespace: "team-a",
    name: "web",
    uid: "u1",
    pod,
    containers: new Map([["app", { name: "app", id: "c1", index: 0 }]]),
    waiting: { reason: "ErrImagePull", message: "" },
  });
  engine.containers.set("c1", details("c1"));
  const streams = new PodStreams(engine as unknown as PodEngine & StreamingEngine, cache);
  return { engine, cache, streams };
}

describe("PodStreams", () => {
  const status = (code: number, pattern: RegExp) => (err: unknown) =>
    err instanceof StreamingError && err.status === code && pattern.test(err.message);

  it("finds containers by namespace/name only, with the kubelet's errors", async () => {
    const { streams } = streamsFixture();
    assert.equal((await streams.locate({ namespace: "team-a", pod: "web", container: "app" })).id, "c1");
    await assert.rejects(
      streams.locate({ namespace: "team-b", pod: "web", container: "app" }),
      status(404, /pod "web" not found in namespace "team-b"/),
    );
    await assert.rejects(
      streams.locate({ namespace: "team-a", pod: "web", uid: "other", container: "app" }),
      status(404, /not found/),
    );
    await assert.rejects(
      streams.locate({ namespace: "team-a", pod: "web", container: "late" }),
      status(400, /waiting to start: ErrImagePull/),
    );
    await assert.rejects(
      streams.locate({ namespace: "team-a", pod: "web", container: "nope" }),
      status(404, /container nope is not valid for pod web/),
    );
  });

  it("demultiplexes logs unless the container has a tty, and limits bytes", async () => {
    const { engine, streams } = streamsFixture();
    engine.logOutput = Buffer.concat([muxed(1, "a\n"), muxed(2, "b\n")]);
    const ref = { namespace: "team-a", pod: "web", container: "app" };
    assert.equal(
      await read(await streams.containerLogs(ref, { follow: false, timestamps: false, previous: false })),
      "a\nb\n",
    );
    assert.equal(
      await read(
        await streams.containerLogs(ref, { follow: true, timestamps: true, previous: false, limitBytes: 3 }),
      ),
      "a\nb",
    );
    assert.deepEqual(engine.logQueries.at(-1), { follow: true, timestamps: true });
    engine.containers.set("c1", details("c1", { tty: true }));
    engine.logOutput = Buffer.from("raw tty\n");
    assert.equal(
      await read(await streams.containerLogs(ref, { follow: false, timestamps: false, previous: false })),
      "raw tty\n",
    );
  });

  it("execs only in running containers and reports the exit code after the output", async () => {
    const { engine, streams } = streamsFixture();
    const ref = { namespace: "team-a", pod: "web", container: "app" };
    const session = await streams.exec(ref, ["x"], { stdin: false, stdout: true, stderr: true, tty: false });
    const [out, err, done] = await Promise.all([
      read(session.stdout as Readable),
      read(session.stderr as Readable),
      session.done,
    ]);
    assert.deepEqual([out, err, done], ["out", "err", { exitCode: 5 }]);
    engine.containers.set("c1", details("c1", { status: "exited" }));
    await assert.rejects(
      streams.exec(ref, ["x"], { stdin: false, stdout: true, stderr: false, tty: false }),
      status(400, /is not running \(exited\)/),
    );
  });

  it("attaches with the container's own terminal setting and refuses stdin it never opened", async () => {
    const { engine, streams } = streamsFixture();
    const ref = { namespace: "team-a", pod: "web", container: "app" };
    await assert.rejects(
      streams.attach(ref, { stdin: true, stdout: true, stderr: false, tty: false }),
      status(400, /stdin/),
    );
    engine.containers.set("c1", details("c1", { tty: true, openStdin: true }));
    const session = await streams.attach(ref, { stdin: true, stdout: true, stderr: true, tty: false });
    assert.equal(session.stderr, undefined);
    assert.equal(await read(session.stdout as Readable), "tty bytes");
    assert.deepEqual(await session.done, {});
  });
});

describe("stats on a VCH (CPU in MHz)", () => {
  /** What VIC sends (convert/stats.go): percpu = this sample's MHz per vCPU, total = a sum of averages. */
  const vic = (read: string, preread: string, perCpu: number[] | undefined): EngineStatsSample => ({
    ...sample({ read, preread, cpuTotalNs: 1450, preCpuTotalNs: 850 }),
    ...(perCpu ? { perCpuUsage: perCpu } : {}),
  });

  it("reads percpu_usage from the engine's document", () => {
    const parsed = statsSample({
      read: "2026-01-01T00:00:40Z",
      preread: "2026-01-01T00:00:20Z",
      cpu_stats: { cpu_usage: { total_usage: 1450, percpu_usage: [500, 700] } },
      precpu_stats: { cpu_usage: { total_usage: 850 } },
    });
    assert.deepEqual(parsed?.perCpuUsage, [500, 700]);
    assert.equal(statsSample({ read: "0001-01-01T00:00:00Z" }), undefined, "VIC's empty answer is no sample");
  });

  it("converts MHz at 1 core per GHz and integrates the cumulative counter per run", () => {
    const mhz = new MhzCpu();
    const first = mhz.cpu("c1@t0", vic("2026-01-01T00:00:40Z", "2026-01-01T00:00:20Z", [500, 700]));
    // 1200 MHz = 1.2 cores, over the 20 s the sample covers.
    assert.deepEqual(first, {
      time: "2026-01-01T00:00:40Z",
      usageNanoCores: 1_200_000_000,
      usageCoreNanoSeconds: 24_000_000_000,
    });
    const again = mhz.cpu("c1@t0", vic("2026-01-01T00:00:40Z", "2026-01-01T00:00:20Z", [500, 700]));
    assert.equal(again?.usageCoreNanoSeconds, 24_000_000_000, "the same sample is counted once");
    const next = mhz.cpu("c1@t0", vic("2026-01-01T00:01:00Z", "2026-01-01T00:00:40Z", [250, 250]));
    assert.equal(next?.usageNanoCores, 500_000_000);
    assert.equal(next?.usageCoreNanoSeconds, 34_000_000_000);
    assert.equal(
      mhz.cpu("c1@t1", vic("2026-01-01T00:02:00Z", "2026-01-01T00:01:40Z", [100]))?.usageCoreNanoSeconds,
      2_000_000_000,
      "a new run counts from zero",
    );
    assert.equal(
      mhz.cpu("c1@t2", vic("2026-01-01T00:02:00Z", "2026-01-01T00:01:40Z", [-30]))?.usageNanoCores,
      0,
      "a starting VM's negative MHz is no usage",
    );
  });

  it("gives no CPU figure without a full pair of samples or per-vCPU figures", () => {
    const mhz = new MhzCpu();
    assert.equal(mhz.cpu("r", vic("2026-01-01T00:00:40Z", "0001-01-01T00:00:00Z", [500])), undefined);
    assert.equal(mhz.cpu("r", vic("2026-01-01T00:00:40Z", "2026-01-01T00:00:20Z", undefined)), undefined);
    assert.equal(mhz.cpu("r", vic("2026-01-01T00:00:40Z", "2026-01-01T00:00:40Z", [500])), undefined);
  });

  it("the collector samples in the background: nothing until VIC answers, then MHz-based figures", async () => {
    const cache = new PodCache();
    cache.set({
      namespace: "ns",
      name: "p",
      uid: "u",
      containers: new Map([["app", { name: "app", id: "c1", index: 0 }]]),
    });
    let answer: (s: EngineStatsSample) => void = () => undefined;
    let asked = 0;
    const engine = {
      inspectContainer: async (id: string) => ({
        id,
        state: { status: "running", startedAt: "2026-01-01T00:00:00Z" },
      }),
      containerStats: () => {
        asked++;
        return new Promise<EngineStatsSample>((resolve) => (answer = resolve));
      },
    } as unknown as ConstructorParameters<typeof PodStatsCollector>[0];
    const collector = new PodStatsCollector(
      engine,
      cache,
      { nodeName: "vk", startTime: "2026-01-01T00:00:00Z", allocatableMemoryBytes: 10_000 },
      "MHz",
    );
    const before = await collector.summary();
    assert.equal(before.pods[0]?.containers[0]?.cpu, undefined, "no figure before VIC's first sample");
    assert.equal(before.pods[0]?.containers[0]?.memory, undefined);
    await collector.summary();
    assert.equal(asked, 1, "one request at a time per container");
    answer(vic("2026-01-01T00:00:40Z", "2026-01-01T00:00:20Z", [500, 700]));
    await new Promise((resolve) => setImmediate(resolve));
    const after = await collector.summary();
    assert.equal(after.pods[0]?.containers[0]?.cpu?.usageNanoCores, 1_200_000_000);
    assert.equal(after.pods[0]?.containers[0]?.memory?.usageBytes, 3000);
    assert.equal(after.node.cpu?.usageNanoCores, 1_200_000_000);
    assert.equal(after.pods[0]?.network, undefined, "VIC's per-request network counters are not cumulative");
    assert.equal(asked, 2, "and a newer one asked for");
  });
});
