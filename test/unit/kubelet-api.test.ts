/**
 * The kubelet API server over real HTTPS and WebSocket connections, with a scripted provider
 * behind it: authentication (client certificates, TokenReview, anonymous), authorization
 * (SubjectAccessReview attributes), routing, logs, exec/attach channel protocols, /run, stats.
 */
import assert from "node:assert/strict";
import { request } from "node:https";
import { Duplex, PassThrough, Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import { Authenticator, type TokenReviewer } from "../../src/kubelet/api/authn.js";
import {
  AlwaysAllow,
  WebhookAuthorizer,
  type AccessReviewer,
  type Authorizer,
} from "../../src/kubelet/api/authz.js";
import { startKubeletServer, type KubeletServer } from "../../src/kubelet/api/server.js";
import type { Pod, SubjectAccessReview, TokenReview } from "../../src/kubelet/kube/types.js";
import {
  StreamingError,
  type ContainerLogOptions,
  type ContainerRef,
  type ContainerSession,
  type PodPorts,
  type PodRef,
  type PodStreamingProvider,
  type StreamOptions,
  type TerminalSize,
} from "../../src/kubelet/provider-api.js";
import type { StatsSummary } from "../../src/kubelet/stats/types.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  type CertifiedKey,
} from "../../src/pki/certificates.js";
import {
  runChannels,
  runSpdyExec,
  spdyForward,
  spdyUpgrade,
  type Credentials,
} from "../fixtures/k8s-api-server/kubelet-harness.js";

const SUMMARY: StatsSummary = {
  node: {
    nodeName: "vk",
    startTime: "2026-01-01T00:00:00Z",
    memory: { time: "2026-01-01T00:01:00Z", workingSetBytes: 10 },
  },
  pods: [
    {
      podRef: { name: "web", namespace: "team-a", uid: "u1" },
      startTime: "2026-01-01T00:00:00Z",
      containers: [
        {
          name: "app",
          startTime: "2026-01-01T00:00:10Z",
          cpu: { time: "2026-01-01T00:01:00Z", usageCoreNanoSeconds: 1_500_000_000 },
          memory: { time: "2026-01-01T00:01:00Z", workingSetBytes: 4096 },
        },
      ],
    },
  ],
};

/** A provider whose exec behaviour is chosen by the command's first word. */
class ScriptedProvider implements PodStreamingProvider {
  logCalls: Array<{ ref: ContainerRef; options: ContainerLogOptions }> = [];
  resizes: TerminalSize[] = [];
  execs: Array<{ ref: ContainerRef; command: string[]; options: StreamOptions }> = [];

  async listPods(): Promise<Pod[]> {
    return [{ metadata: { name: "web", namespace: "team-a" }, spec: { containers: [{ name: "app" }] } }];
  }

  async containerLogs(ref: ContainerRef, options: ContainerLogOptions): Promise<Readable> {
    if (ref.container !== "app")
      throw new StreamingError(`container ${ref.container} is not valid for pod ${ref.pod}`, 404);
    this.logCalls.push({ ref, options });
    return Readable.from([Buffer.from("one\n"), Buffer.from("two\n")]);
  }

  async exec(ref: ContainerRef, command: string[], options: StreamOptions): Promise<ContainerSession> {
    if (ref.pod !== "web") throw new StreamingError(`pod "${ref.pod}" not found`, 404);
    this.execs.push({ ref, command, options });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = new PassThrough();
    let exitCode = 0;
    const finished = new Promise<void>((resolve) => {
      switch (command[0]) {
        case "echo":
          stdout.end(`${command.slice(1).join(" ")}\n`);
          stderr.end();
          resolve();
          break;
        case "fail":
          stdout.end("partial\n");
          stderr.end("bad things\n");
          exitCode = Number(command[1] ?? 1);
          resolve();
          break;
        case "upper":
          stdin.on("data", (c: Buffer) => stdout.write(c.toString().toUpperCase()));
          stdin.on("end", () => {
            stdout.end();
            stderr.end();
            resolve();
          });
          break;
        default:
          throw new Error(`unscripted ${command[0]}`);
      }
    });
    return {
      ...(options.stdin ? { stdin } : {}),
      ...(options.stdout ? { stdout } : {}),
      ...(options.stderr ? { stderr } : {}),
      resize: async (size) => {
        this.resizes.push(size);
      },
      done: finished.then(() => ({ exitCode })),
      close: () => undefined,
    };
  }

  async attach(ref: ContainerRef, options: StreamOptions): Promise<ContainerSession> {
    const session = await this.exec(ref, ["upper"], options);
    return { ...session, done: session.done.then(() => ({})) };
  }

  /** Port 7 of pod "web" upper-cases what it gets (and ends when its input ends); others refuse. */
  async portForward(ref: PodRef): Promise<PodPorts> {
    if (ref.pod !== "web") throw new StreamingError(`pod "${ref.pod}" not found`, 404);
    return {
      uid: "uid-web",
      dial: async (port) => {
        if (port !== 7) throw new StreamingError(`nothing listens on port ${port} in the pod`, 503);
        return new Duplex({
          read() {},
          write(chunk: Buffer, _encoding, callback) {
            this.push(chunk.toString().toUpperCase());
            callback();
          },
          final(callback) {
            this.push(null);
            callback();
          },
        });
      },
    };
  }

  async statsSummary(): Promise<StatsSummary> {
    return SUMMARY;
  }
}

class FakeReviewer implements TokenReviewer, AccessReviewer {
  tokenReviews = 0;
  accessReviews: SubjectAccessReview[] = [];
  down = false;
  allow: (review: SubjectAccessReview) => boolean = () => true;

  async reviewToken(review: TokenReview): Promise<TokenReview> {
    this.tokenReviews++;
    if (this.down) throw new Error("connection refused");
    const users: Record<string, string> = { "good-token": "alice", "carol-token": "carol" };
    const username = users[review.spec.token];
    return {
      spec: review.spec,
      status: username
        ? { authenticated: true, user: { username, groups: ["devs"] } }
        : { authenticated: false, error: "nope" },
    };
  }

  async reviewAccess(review: SubjectAccessReview): Promise<SubjectAccessReview> {
    this.accessReviews.push(review);
    return { ...review, status: { allowed: this.allow(review), reason: "fake" } };
  }
}

interface Fixture {
  server: KubeletServer;
  provider: ScriptedProvider;
  reviewer: FakeReviewer;
  client: CertifiedKey;
  stranger: CertifiedKey;
  ca: string;
}

async function fixture(
  options: { anonymous?: boolean; authorizer?: "allow" | "webhook"; tokens?: boolean } = {},
): Promise<Fixture> {
  const ca = await createCertificateAuthority();
  const other = await createCertificateAuthority();
  const serving = await issueServerCertificate(ca, "vk", ["127.0.0.1", "localhost"]);
  const client = await issueClientCertificate(ca, { organization: "system:masters" });
  const stranger = await issueClientCertificate(other, { organization: "system:masters" });
  const provider = new ScriptedProvider();
  const reviewer = new FakeReviewer();
  const authorizer: Authorizer =
    options.authorizer === "webhook" ? new WebhookAuthorizer(reviewer) : new AlwaysAllow();
  const server = await startKubeletServer({
    host: "127.0.0.1",
    port: 0,
    tls: { cert: serving.certPem, key: serving.keyPem, clientCa: ca.certPem, source: "test" },
    authenticator: new Authenticator({
      x509: true,
      ...(options.tokens === false ? {} : { tokens: reviewer }),
      anonymous: options.anonymous ?? false,
    }),
    authorizer,
    nodeName: "vk",
    healthy: () => true,
    provider,
  });
  return { server, provider, reviewer, client, stranger, ca: ca.certPem };
}

function get(
  f: Fixture,
  path: string,
  credentials: Credentials = {},
  method = "GET",
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: f.server.port,
        path,
        method,
        ca: f.ca,
        ...(credentials.cert ? { cert: credentials.cert.certPem, key: credentials.cert.keyPem } : {}),
        headers: {
          ...(credentials.token ? { Authorization: `Bearer ${credentials.token}` } : {}),
          ...headers,
        },
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"]) }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("kubelet API: authentication and authorization", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ authorizer: "webhook" });
  });
  after(() => f.server.close());

  it("refuses requests without credentials (401), before routing", async () => {
    assert.equal((await get(f, "/healthz")).status, 401);
    assert.equal((await get(f, "/no/such/path")).status, 401);
  });

  it("accepts a client certificate of the client CA, refuses one of another CA", async () => {
    assert.deepEqual((await get(f, "/healthz", { cert: f.client })).body, "ok");
    assert.equal((await get(f, "/healthz", { cert: f.stranger })).status, 401);
    const review = f.reviewer.accessReviews.at(-1);
    assert.equal(review?.spec.user, "system:masters client", "the user is the certificate's CN");
    assert.ok(review?.spec.groups?.includes("system:masters"));
  });

  it("checks bearer tokens with TokenReview and caches the answer", async () => {
    const before = f.reviewer.tokenReviews;
    assert.equal((await get(f, "/pods", { token: "good-token" })).status, 200);
    assert.equal((await get(f, "/pods", { token: "good-token" })).status, 200);
    assert.equal(f.reviewer.tokenReviews, before + 1, "one review for two requests");
    assert.equal((await get(f, "/pods", { token: "bad-token" })).status, 401);
  });

  it("refuses a token when the review fails, and asks again next time", async () => {
    f.reviewer.down = true;
    assert.equal((await get(f, "/pods", { token: "fresh-token" })).status, 401);
    const count = f.reviewer.tokenReviews;
    assert.equal((await get(f, "/pods", { token: "fresh-token" })).status, 401);
    assert.equal(f.reviewer.tokenReviews, count + 1, "failures are not cached");
    f.reviewer.down = false;
  });

  it("maps paths to node subresources and methods to verbs for SubjectAccessReview", async () => {
    f.reviewer.allow = (r) => r.spec.resourceAttributes?.subresource !== "proxy";
    const denied = await get(f, "/pods", { token: "carol-token" });
    assert.equal(denied.status, 403);
    assert.match(
      denied.body,
      /^Forbidden \(user=carol, verb=get, resource=nodes, subresource\(s\)=\[proxy\]\)/,
    );
    assert.equal((await get(f, "/stats/summary", { token: "carol-token" })).status, 200);
    assert.deepEqual(f.reviewer.accessReviews.at(-1)?.spec.resourceAttributes, {
      verb: "get",
      resource: "nodes",
      subresource: "stats",
      name: "vk",
      version: "v1",
      group: "",
    });
    assert.equal((await get(f, "/metrics/resource", { token: "carol-token" })).status, 200);
    assert.equal(f.reviewer.accessReviews.at(-1)?.spec.resourceAttributes?.subresource, "metrics");
    await get(f, "/run/team-a/web/app?cmd=echo", { token: "carol-token" }, "POST");
    assert.deepEqual(
      [
        f.reviewer.accessReviews.at(-1)?.spec.resourceAttributes?.verb,
        f.reviewer.accessReviews.at(-1)?.spec.resourceAttributes?.subresource,
      ],
      ["create", "proxy"],
    );
    f.reviewer.allow = () => true;
  });

  it("refuses an exec upgrade without credentials before any stream starts", async () => {
    const execs = f.provider.execs.length;
    await assert.rejects(
      runChannels({
        url: `wss://127.0.0.1:${f.server.port}/exec/team-a/web/app?command=echo&stdout=1`,
        protocols: ["v5.channel.k8s.io"],
        credentials: { ca: f.ca },
      }),
      (err: { status?: number }) => err.status === 401,
    );
    assert.equal(f.provider.execs.length, execs);
  });

  it("takes a bearer token from the WebSocket subprotocol list", async () => {
    const token = Buffer.from("good-token").toString("base64url");
    const result = await runChannels({
      url: `wss://127.0.0.1:${f.server.port}/exec/team-a/web/app?command=echo&command=hi&stdout=1`,
      protocols: ["v5.channel.k8s.io", `base64url.bearer.authorization.k8s.io.${token}`],
      credentials: { ca: f.ca },
    });
    assert.equal(result.protocol, "v5.channel.k8s.io");
    assert.equal(result.stdout, "hi\n");
  });
});

describe("kubelet API: anonymous and token settings", () => {
  it("lets anonymous requests in only with --anonymous-auth", async () => {
    const open = await fixture({ anonymous: true });
    try {
      assert.equal((await get(open, "/healthz")).status, 200);
    } finally {
      await open.server.close();
    }
  });

  it("refuses bearer tokens without --authn-webhook", async () => {
    const noTokens = await fixture({ tokens: false });
    try {
      const answer = await get(noTokens, "/healthz", { token: "good-token" });
      assert.equal(answer.status, 401);
      assert.equal(noTokens.reviewer.tokenReviews, 0);
    } finally {
      await noTokens.server.close();
    }
  });
});

describe("kubelet API: endpoints", () => {
  let f: Fixture;
  let admin: Credentials;
  const url = (path: string) => `wss://127.0.0.1:${f.server.port}${path}`;
  before(async () => {
    f = await fixture();
    admin = { cert: f.client, ca: f.ca };
  });
  after(() => f.server.close());

  it("answers 404 for unknown paths and 405 for a wrong method", async () => {
    assert.equal((await get(f, "/nope", admin)).status, 404);
    assert.equal((await get(f, "/containerLogs/a/b", admin)).status, 404);
    assert.equal((await get(f, "/pods", admin, "DELETE")).status, 405);
    assert.equal((await get(f, "/run/team-a/web/app?cmd=echo", admin, "GET")).status, 405);
  });

  it("serves /pods as a PodList", async () => {
    const answer = await get(f, "/pods", admin);
    const list = JSON.parse(answer.body) as { kind: string; items: Pod[] };
    assert.equal(list.kind, "PodList");
    assert.equal(list.items[0]?.metadata?.name, "web");
  });

  it("streams container logs with the options parsed", async () => {
    const answer = await get(
      f,
      "/containerLogs/team-a/web/app?follow=true&tailLines=10&timestamps=1&limitBytes=5&sinceSeconds=60",
      admin,
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "one\ntwo\n");
    assert.match(answer.type, /^text\/plain/);
    assert.deepEqual(f.provider.logCalls.at(-1), {
      ref: { namespace: "team-a", pod: "web", container: "app" },
      options: {
        follow: true,
        timestamps: true,
        previous: false,
        tailLines: 10,
        limitBytes: 5,
        sinceSeconds: 60,
      },
    });
    assert.equal((await get(f, "/containerLogs/team-a/web/other", admin)).status, 404);
    const both = await get(
      f,
      "/containerLogs/team-a/web/app?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
      admin,
    );
    assert.equal(both.status, 400);
    assert.match(both.body, /at most one of sinceTime or sinceSeconds/);
    assert.equal((await get(f, "/containerLogs/team-a/web/app?follow=maybe", admin)).status, 400);
  });

  it("execs over v5: stdout, stderr and the exit code as a NonZeroExitCode status", async () => {
    const result = await runChannels({
      url: url("/exec/team-a/web/app?command=fail&command=3&stdout=1&stderr=1"),
      protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
      credentials: admin,
    });
    assert.equal(result.protocol, "v5.channel.k8s.io");
    assert.equal(result.stdout, "partial\n");
    assert.equal(result.stderr, "bad things\n");
    assert.deepEqual(JSON.parse(result.error), {
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: exit status 3",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
    assert.equal(result.closeCode, 1000);
  });

  it("follows the client's protocol preference (v4 first → v4)", async () => {
    const result = await runChannels({
      url: url("/exec/team-a/web/app?command=echo&command=x&stdout=true"),
      protocols: ["v4.channel.k8s.io", "v5.channel.k8s.io"],
      credentials: admin,
    });
    assert.equal(result.protocol, "v4.channel.k8s.io");
    assert.deepEqual(JSON.parse(result.error), { metadata: {}, status: "Success" });
  });

  it("relays stdin, ends it on the v5 close signal, and forwards resize messages", async () => {
    const result = await runChannels({
      url: url("/exec/team-a/web/app?command=upper&stdin=1&stdout=1&tty=1"),
      protocols: ["v5.channel.k8s.io"],
      credentials: admin,
      onOpen: (send) => {
        send(4, JSON.stringify({ Width: 80, Height: 24 }));
        send(4, "not json");
        send(0, "abc");
        send(255, Buffer.from([0]));
      },
    });
    assert.equal(result.stdout, "ABC");
    assert.deepEqual(f.provider.resizes, [{ width: 80, height: 24 }]);
    assert.deepEqual(f.provider.execs.at(-1)?.options, {
      stdin: true,
      stdout: true,
      stderr: false,
      tty: true,
    });
  });

  it("ignores the close signal under v4 (stdin stays open until the socket closes)", async () => {
    const result = await runChannels({
      url: url("/exec/team-a/web/app?command=upper&stdin=1&stdout=1"),
      protocols: ["v4.channel.k8s.io"],
      credentials: admin,
      onOpen: (send, ws) => {
        send(0, "q");
        send(255, Buffer.from([0]));
        setTimeout(() => ws.close(), 200);
      },
    });
    assert.equal(result.stdout, "Q");
    assert.equal(result.error, "", "no status: the client left first");
  });

  it("attaches (no exit code: Success at the end)", async () => {
    const result = await runChannels({
      url: url("/attach/team-a/web/app?stdin=1&stdout=1"),
      protocols: ["v5.channel.k8s.io"],
      credentials: admin,
      onOpen: (send) => {
        send(0, "x");
        send(255, Buffer.from([0]));
      },
    });
    assert.equal(result.stdout, "X");
    assert.deepEqual(JSON.parse(result.error), { metadata: {}, status: "Success" });
  });

  it("refuses exec without an upgrade, SPDY without a protocol offer, no known subprotocol, no streams or command", async () => {
    const plain = await get(f, "/exec/team-a/web/app?command=echo&stdout=1", admin, "POST");
    assert.equal(plain.status, 400);
    assert.match(plain.body, /Upgrade request required/);
    const spdy = await get(f, "/exec/team-a/web/app?command=echo&stdout=1", admin, "POST", {
      Connection: "Upgrade",
      Upgrade: "SPDY/3.1",
    });
    assert.equal(spdy.status, 400);
    assert.match(spdy.body, /X-Stream-Protocol-Version is required/);
    for (const [path, protocols, pattern] of [
      ["/exec/team-a/web/app?command=echo&stdout=1", ["channel.k8s.io"], /no supported subprotocol/],
      ["/exec/team-a/web/app?command=echo", ["v5.channel.k8s.io"], /at least 1 of stdin, stdout, stderr/],
      ["/exec/team-a/web/app?stdout=1", ["v5.channel.k8s.io"], /command is required/],
      ["/exec/team-a/gone/app?command=echo&stdout=1", ["v5.channel.k8s.io"], /pod "gone" not found/],
    ] as const) {
      await assert.rejects(
        runChannels({ url: url(path), protocols: [...protocols], credentials: admin }),
        (err: Error & { status?: number }) =>
          (err.status === 400 || err.status === 404) && pattern.test(err.message),
        path,
      );
    }
  });

  it("runs a command on POST /run: output on success, 500 on a non-zero exit", async () => {
    const ok = await get(f, "/run/team-a/web/app?cmd=echo%20a%20%20b", admin, "POST");
    assert.deepEqual([ok.status, ok.body], [200, "a b\n"]);
    assert.deepEqual(f.provider.execs.at(-1)?.command, ["echo", "a", "b"]);
    const failed = await get(f, "/run/team-a/web/app?command=fail&command=2", admin, "POST");
    assert.equal(failed.status, 500);
    assert.match(failed.body, /'fail 2' exited with 2: partial\nbad things/);
  });

  it("serves /stats/summary and /metrics/resource", async () => {
    const summary = JSON.parse((await get(f, "/stats/summary", admin)).body) as StatsSummary;
    assert.deepEqual(summary, SUMMARY);
    const metrics = await get(f, "/metrics/resource", admin);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    assert.match(
      metrics.body,
      /\ncontainer_cpu_usage_seconds_total\{container="app",namespace="team-a",pod="web"\} 1\.5 1767225660000\n/,
    );
  });

  it("closes open WebSocket sessions when the server stops", async () => {
    const g = await fixture();
    const ws = new WebSocket(
      `wss://127.0.0.1:${g.server.port}/exec/team-a/web/app?command=upper&stdin=1&stdout=1`,
      ["v5.channel.k8s.io"],
      {
        ca: g.ca,
        cert: g.client.certPem,
        key: g.client.keyPem,
      },
    );
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const closed = new Promise((resolve) => ws.once("close", resolve));
    await g.server.close();
    await closed;
  });
});

describe("kubelet API: SPDY/3.1 exec and attach", () => {
  let f: Fixture;
  let admin: Credentials;
  before(async () => {
    f = await fixture();
    admin = { cert: f.client, ca: f.ca };
  });
  after(() => f.server.close());

  it("negotiates the client's first known protocol, 400 without offers, 403 with none known", async () => {
    const path = "/exec/team-a/web/app?command=echo&command=hi&stdout=1";
    const none = await spdyUpgrade(f.server.port, path, [], admin);
    assert.equal(none.status, 400);
    assert.match(none.body, /X-Stream-Protocol-Version is required/);
    const unknown = await spdyUpgrade(f.server.port, path, ["v9.channel.k8s.io"], admin);
    assert.equal(unknown.status, 403);
    assert.match(unknown.body, /unable to negotiate protocol/);
    assert.match(String(unknown.headers["x-accepted-stream-protocol-versions"]), /v4\.channel\.k8s\.io/);
    const v3 = await runSpdyExec(f.server.port, path, admin, {
      protocols: ["v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"],
      streams: ["stdout"],
    });
    assert.equal(v3.protocol, "v3.channel.k8s.io");
    assert.deepEqual([v3.stdout, v3.error], ["hi\n", ""], "v3 says nothing on success");
  });

  it("execs over v4: output, then a NonZeroExitCode status with the exit code", async () => {
    const ok = await runSpdyExec(
      f.server.port,
      "/exec/team-a/web/app?command=echo&command=hello&stdout=1",
      admin,
      {
        streams: ["stdout"],
      },
    );
    assert.equal(ok.stdout, "hello\n");
    assert.deepEqual(JSON.parse(ok.error), { metadata: {}, status: "Success" });
    const failed = await runSpdyExec(
      f.server.port,
      "/exec/team-a/web/app?command=fail&command=3&stdout=1&stderr=1",
      admin,
      { streams: ["stdout", "stderr"] },
    );
    assert.deepEqual([failed.stdout, failed.stderr], ["partial\n", "bad things\n"]);
    const status = JSON.parse(failed.error) as { reason: string; details: { causes: unknown[] } };
    assert.equal(status.reason, "NonZeroExitCode");
    assert.deepEqual(status.details.causes, [{ reason: "ExitCode", message: "3" }]);
    const v2 = await runSpdyExec(
      f.server.port,
      "/exec/team-a/web/app?command=fail&command=4&stdout=1",
      admin,
      {
        protocols: ["v2.channel.k8s.io"],
        streams: ["stdout"],
      },
    );
    assert.equal(
      v2.error,
      "command terminated with non-zero exit code: exit status 4",
      "v2: the failure's text",
    );
  });

  it("relays stdin until its FIN, and terminal sizes from the resize stream", async () => {
    const result = await runSpdyExec(
      f.server.port,
      "/exec/team-a/web/app?command=upper&stdin=1&stdout=1&tty=1",
      admin,
      { streams: ["stdin", "stdout", "resize"], stdin: "spdy stdin\n", resize: { Width: 100, Height: 30 } },
    );
    assert.equal(result.stdout, "SPDY STDIN\n");
    assert.deepEqual(JSON.parse(result.error), { metadata: {}, status: "Success" });
    assert.deepEqual(f.provider.resizes.at(-1), { width: 100, height: 30 });
  });

  it("attaches over SPDY", async () => {
    const result = await runSpdyExec(f.server.port, "/attach/team-a/web/app?stdin=1&stdout=1", admin, {
      streams: ["stdin", "stdout"],
      stdin: "attached\n",
    });
    assert.equal(result.stdout, "ATTACHED\n");
  });

  it("refuses an unauthenticated SPDY upgrade (401) and an unknown pod (404) before switching protocols", async () => {
    const path = "/exec/team-a/web/app?command=echo&stdout=1";
    const anonymous = await spdyUpgrade(f.server.port, path, ["v4.channel.k8s.io"], { ca: f.ca });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.connection, undefined);
    const gone = await spdyUpgrade(
      f.server.port,
      "/exec/team-a/gone/app?command=echo&stdout=1",
      ["v4.channel.k8s.io"],
      admin,
    );
    assert.equal(gone.status, 404);
  });

  it("resets a stream the request did not ask for", async () => {
    const upgrade = await spdyUpgrade(
      f.server.port,
      "/exec/team-a/web/app?command=echo&stdout=1",
      ["v4.channel.k8s.io"],
      admin,
    );
    const connection = upgrade.connection;
    assert.ok(connection);
    const stray = connection.openStream({ streamType: "stdin" });
    await assert.rejects(stray.replied, /reset by the peer/);
    connection.destroy();
  });
});

describe("kubelet API: port-forward", () => {
  let f: Fixture;
  let admin: Credentials;
  before(async () => {
    f = await fixture();
    admin = { cert: f.client, ca: f.ca };
  });
  after(() => f.server.close());

  it("forwards over SPDY: one connection per stream pair, failures as JSON on the error stream", async () => {
    const upgrade = await spdyUpgrade(
      f.server.port,
      "/portForward/team-a/web",
      ["portforward.k8s.io"],
      admin,
    );
    assert.equal(upgrade.status, 101);
    assert.equal(upgrade.protocol, "portforward.k8s.io");
    const connection = upgrade.connection;
    assert.ok(connection);
    const [one, two] = await Promise.all([
      spdyForward(connection, 7, 0, "first"),
      spdyForward(connection, 7, 1, "second"),
    ]);
    assert.deepEqual(one, { data: "FIRST", error: "" });
    assert.deepEqual(two, { data: "SECOND", error: "" });
    const refused = await spdyForward(connection, 9, 2, "x");
    assert.equal(refused.data, "");
    const answer = JSON.parse(refused.error) as { message: string; closeConnection: boolean };
    assert.match(
      answer.message,
      /^error forwarding port 9 to pod team-a\/web, uid uid-web: nothing listens on port 9/,
    );
    await connection.close();
  });

  it("forwards over WebSocket: channel pairs per port, each opened with the port number", async () => {
    const ws = new WebSocket(
      `wss://127.0.0.1:${f.server.port}/portForward/team-a/web?ports=7,9`,
      ["v4.channel.k8s.io"],
      {
        ca: f.ca,
        cert: f.client.certPem,
        key: f.client.keyPem,
      },
    );
    // Each channel's first message is its port (2 bytes, little-endian); later ones carry text.
    const seen = new Set<number>();
    const messages: Array<[number, string]> = [];
    ws.on("message", (data: Buffer) => {
      const channel = data[0] as number;
      const payload = data.subarray(1);
      const first = !seen.has(channel);
      seen.add(channel);
      messages.push([channel, first ? `port ${payload.readUInt16LE()}` : payload.toString()]);
      // Port 7's connection stays open (v4 cannot half-close): done once both answers came.
      const answered = (c: number) => messages.filter(([m]) => m === c).length > 1;
      if (answered(0) && answered(3)) ws.close();
    });
    ws.once("open", () => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("over ws")])));
    await new Promise((resolve) => ws.once("close", resolve));
    assert.equal(ws.protocol, "v4.channel.k8s.io");
    assert.deepEqual(messages.slice(0, 4), [
      [0, "port 7"],
      [1, "port 7"],
      [2, "port 9"],
      [3, "port 9"],
    ]);
    assert.ok(
      messages.some(([c, text]) => c === 0 && text === "OVER WS"),
      JSON.stringify(messages),
    );
    assert.ok(
      messages.some(
        ([c, text]) => c === 3 && /error forwarding port 9 .*nothing listens on port 9/.test(text),
      ),
      JSON.stringify(messages),
    );
  });

  it("refuses port-forward without an upgrade, without ports, and for an unknown pod", async () => {
    assert.equal((await get(f, "/portForward/team-a/web", admin)).status, 400);
    const noPorts = await spdyUpgrade(
      f.server.port,
      "/portForward/team-a/gone",
      ["portforward.k8s.io"],
      admin,
    );
    assert.equal(noPorts.status, 404);
    const wrongProtocol = await spdyUpgrade(
      f.server.port,
      "/portForward/team-a/web",
      ["v4.channel.k8s.io"],
      admin,
    );
    assert.equal(wrongProtocol.status, 403);
    await assert.rejects(
      runChannels({
        url: `wss://127.0.0.1:${f.server.port}/portForward/team-a/web`,
        protocols: ["v4.channel.k8s.io"],
        credentials: admin,
      }),
      (err: Error & { status?: number }) => err.status === 400 && /"ports" is required/.test(err.message),
    );
  });
});
