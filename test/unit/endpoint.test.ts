import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../src/engine/client.js";
import { contextPaths } from "../../src/store/docker-context.js";
import type { Endpoint, TlsFiles } from "../../src/engine/endpoint.js";
import { parseHostUrl } from "../../src/engine/endpoint.js";
import { resolveEndpoint } from "../../src/engine/resolve.js";
import { createCertificateAuthority, issueClientCertificate } from "../../src/pki/certificates.js";
import { EndpointError } from "../../src/errors.js";

const PEM = {
  ca: "-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n",
  cert: "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n",
  key: "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n",
};

let root: string;
let counter = 0;

/** A fresh, empty DOCKER_CONFIG folder: tests never see the machine's ~/.docker. */
function freshConfigDir(): string {
  const dir = join(root, `config-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Write a context the way the docker CLI (28.x) does: meta/<sha256>/meta.json, tls/<sha256>/docker/*.pem. */
function writeContext(
  configDir: string,
  name: string,
  host: string,
  options: { skipTlsVerify?: boolean; tls?: Partial<Record<"ca" | "cert" | "key", string>> } = {},
): void {
  const id = createHash("sha256").update(name).digest("hex");
  const metaDir = join(configDir, "contexts", "meta", id);
  mkdirSync(metaDir, { recursive: true });
  const meta = {
    Name: name,
    Metadata: {},
    Endpoints: { docker: { Host: host, SkipTLSVerify: options.skipTlsVerify ?? false } },
  };
  writeFileSync(join(metaDir, "meta.json"), JSON.stringify(meta));
  const files = Object.entries(options.tls ?? {});
  if (files.length === 0) return;
  const tlsDir = join(configDir, "contexts", "tls", id, "docker");
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  for (const [kind, content] of files) {
    writeFileSync(join(tlsDir, `${kind}.pem`), content, { mode: 0o600 });
  }
}

function setCurrentContext(configDir: string, name: string): void {
  writeFileSync(
    join(configDir, "config.json"),
    JSON.stringify({ auths: {}, currentContext: name }, null, "\t"),
  );
}

function tcp(endpoint: Endpoint): Extract<Endpoint, { protocol: "tcp" }> {
  assert.equal(endpoint.protocol, "tcp", `expected a tcp endpoint, got ${endpoint.url}`);
  return endpoint as Extract<Endpoint, { protocol: "tcp" }>;
}

function certDir(files: Array<"ca" | "cert" | "key">): string {
  const dir = join(root, `certs-${++counter}`);
  mkdirSync(dir, { recursive: true });
  for (const kind of files) writeFileSync(join(dir, `${kind}.pem`), PEM[kind], { mode: 0o600 });
  return dir;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), "dinv-endpoint-test-"));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("resolveEndpoint precedence", () => {
  it("prefers --endpoint over DOCKER_HOST, DOCKER_CONTEXT and currentContext", () => {
    const config = freshConfigDir();
    writeContext(config, "ctx-a", "tcp://context-a.example:2376");
    setCurrentContext(config, "ctx-a");
    const ep = resolveEndpoint(
      { endpoint: "tcp://flag.example:1111" },
      { DOCKER_CONFIG: config, DOCKER_HOST: "tcp://env.example:2222", DOCKER_CONTEXT: "ctx-a" },
    );
    assert.equal(ep.source, "flag");
    assert.equal(ep.url, "tcp://flag.example:1111");
    assert.equal(ep.context, undefined);
  });

  it("prefers DOCKER_HOST over DOCKER_CONTEXT and currentContext (as the docker CLI does)", () => {
    const config = freshConfigDir();
    writeContext(config, "ctx-a", "tcp://context-a.example:2376");
    setCurrentContext(config, "ctx-a");
    const ep = tcp(
      resolveEndpoint(
        {},
        { DOCKER_CONFIG: config, DOCKER_HOST: "tcp://env.example:2222", DOCKER_CONTEXT: "ctx-a" },
      ),
    );
    assert.equal(ep.source, "env");
    assert.equal(ep.host, "env.example");
    assert.equal(ep.port, 2222);
    assert.equal(ep.tls, undefined);
  });

  it("prefers DOCKER_CONTEXT over config.json's currentContext", () => {
    const config = freshConfigDir();
    writeContext(config, "ctx-a", "tcp://context-a.example:2376");
    writeContext(config, "ctx-b", "tcp://context-b.example:2377");
    setCurrentContext(config, "ctx-a");
    const ep = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "ctx-b" }));
    assert.equal(ep.source, "context");
    assert.equal(ep.context, "ctx-b");
    assert.equal(ep.url, "tcp://context-b.example:2377");
  });

  it("uses config.json's currentContext when nothing else is set", () => {
    const config = freshConfigDir();
    writeContext(config, "ctx-a", "tcp://context-a.example:2376");
    writeContext(config, "ctx-b", "tcp://context-b.example:2377");
    setCurrentContext(config, "ctx-a");
    const ep = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config }));
    assert.equal(ep.source, "context");
    assert.equal(ep.context, "ctx-a");
    assert.equal(ep.host, "context-a.example");
    assert.equal(ep.port, 2376);
  });

  it("falls back to the default socket (no config, empty DOCKER_HOST, or the 'default' context)", () => {
    const config = freshConfigDir();
    const expected = { url: "unix:///var/run/docker.sock", source: "default", protocol: "unix" };
    for (const env of [
      { DOCKER_CONFIG: config },
      { DOCKER_CONFIG: config, DOCKER_HOST: "" },
      { DOCKER_CONFIG: config, DOCKER_CONTEXT: "default" },
    ]) {
      const ep = resolveEndpoint({}, env);
      assert.deepEqual(ep, { ...expected, socketPath: "/var/run/docker.sock" }, JSON.stringify(env));
    }
    setCurrentContext(config, "default");
    assert.equal(resolveEndpoint({}, { DOCKER_CONFIG: config }).source, "default");
  });

  it("takes a unix socket from DOCKER_HOST", () => {
    const ep = resolveEndpoint(
      {},
      { DOCKER_CONFIG: freshConfigDir(), DOCKER_HOST: "unix:///run/x/docker.sock" },
    );
    assert.deepEqual(ep, {
      url: "unix:///run/x/docker.sock",
      source: "env",
      protocol: "unix",
      socketPath: "/run/x/docker.sock",
    });
  });
});

describe("docker CLI contexts", () => {
  it("keys a context by the sha256 of its name, as the docker CLI does", () => {
    // Hash seen on disk after `docker context create foo` (docker CLI 28.2).
    const paths = contextPaths("/cfg", "foo");
    const id = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    assert.equal(paths.metaDir, `/cfg/contexts/meta/${id}`);
    assert.equal(paths.tlsDir, `/cfg/contexts/tls/${id}`);
  });

  it("reads the host and the TLS files of a context, verifying by default", () => {
    const config = freshConfigDir();
    writeContext(config, "secure", "tcp://10.1.2.3:2376", { tls: PEM });
    const ep = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "secure" }));
    const tlsDir = join(contextPaths(config, "secure").tlsDir, "docker");
    assert.deepEqual(ep.tls, {
      verify: true,
      ca: join(tlsDir, "ca.pem"),
      cert: join(tlsDir, "cert.pem"),
      key: join(tlsDir, "key.pem"),
    });
    assert.equal(ep.host, "10.1.2.3");
    assert.equal(ep.context, "secure");
    assert.equal(readFileSync(ep.tls?.key ?? "", "utf8"), PEM.key);
  });

  it("turns SkipTLSVerify into TLS without verification, with or without files", () => {
    const config = freshConfigDir();
    writeContext(config, "skip-files", "tcp://h1:2376", {
      skipTlsVerify: true,
      tls: { cert: PEM.cert, key: PEM.key },
    });
    writeContext(config, "skip-bare", "tcp://h2:2376", { skipTlsVerify: true });
    const withFiles = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "skip-files" }));
    assert.equal(withFiles.tls?.verify, false);
    assert.equal(withFiles.tls?.ca, undefined);
    assert.ok(withFiles.tls?.cert?.endsWith("/docker/cert.pem"));
    // The docker CLI speaks TLS here too (checked: it sends a ClientHello), so must we.
    const bare = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "skip-bare" }));
    assert.deepEqual(bare.tls, { verify: false });
  });

  it("speaks plain tcp to a context without TLS material, and reads unix contexts", () => {
    const config = freshConfigDir();
    writeContext(config, "plain", "tcp://plain.example:2375");
    writeContext(config, "local", "unix:///var/run/other.sock");
    assert.equal(tcp(resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "plain" })).tls, undefined);
    const local = resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "local" });
    assert.equal(local.protocol, "unix");
    assert.equal(local.url, "unix:///var/run/other.sock");
    assert.equal(local.context, "local");
  });

  it("says clearly when the selected context does not exist", () => {
    const config = freshConfigDir();
    writeContext(config, "other", "tcp://other:2376");
    for (const env of [{ DOCKER_CONTEXT: "missing-ctx" }, {}]) {
      if (!("DOCKER_CONTEXT" in env)) setCurrentContext(config, "missing-ctx");
      assert.throws(
        () => resolveEndpoint({}, { DOCKER_CONFIG: config, ...env }),
        (err: unknown) =>
          err instanceof EndpointError &&
          /docker context "missing-ctx" does not exist/.test(err.message) &&
          /docker context use|--endpoint/.test(err.userMessage),
      );
    }
  });

  it("reports a broken config.json, a context without a docker endpoint and a bad context host", () => {
    const broken = freshConfigDir();
    writeFileSync(join(broken, "config.json"), "{ not json");
    assert.throws(
      () => resolveEndpoint({}, { DOCKER_CONFIG: broken }),
      (err: unknown) => err instanceof EndpointError && err.message.includes(join(broken, "config.json")),
    );

    const config = freshConfigDir();
    const { metaDir } = contextPaths(config, "empty");
    mkdirSync(metaDir, { recursive: true });
    writeFileSync(join(metaDir, "meta.json"), JSON.stringify({ Name: "empty", Metadata: {}, Endpoints: {} }));
    assert.throws(
      () => resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "empty" }),
      (err: unknown) =>
        err instanceof EndpointError && /context "empty" has no docker endpoint/.test(err.message),
    );

    writeContext(config, "badhost", "ssh://user@box");
    assert.throws(
      () => resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "badhost" }),
      (err: unknown) =>
        err instanceof EndpointError &&
        err.message.includes('docker context "badhost"') &&
        err.message.includes("ssh://"),
    );
  });

  it("reads exactly what `docker context create` wrote", async (t) => {
    const which = spawnSync("docker", ["--version"], { encoding: "utf8" });
    if (which.error !== undefined || which.status !== 0) {
      t.skip("the docker CLI is not installed");
      return;
    }
    const config = freshConfigDir();
    // The CLI checks the material: give it a real CA and client certificate.
    const ca = await createCertificateAuthority();
    const client = await issueClientCertificate(ca);
    const real = { ca: ca.certPem, cert: client.certPem, key: client.keyPem };
    const material = join(root, `cli-material-${++counter}`);
    mkdirSync(material);
    for (const kind of ["ca", "cert", "key"] as const)
      writeFileSync(join(material, `${kind}.pem`), real[kind]);
    const run = (args: string[]) => {
      const result = spawnSync("docker", args, {
        encoding: "utf8",
        env: { ...process.env, DOCKER_CONFIG: config, DOCKER_HOST: "", DOCKER_CONTEXT: "" },
      });
      assert.equal(result.status, 0, `docker ${args.join(" ")}: ${result.stderr}`);
    };
    const files = ["ca", "cert", "key"].map((k) => `${k}=${join(material, `${k}.pem`)}`).join(",");
    run(["context", "create", "cli-made", "--docker", `host=tcp://127.0.0.1:1234,${files}`]);
    run(["context", "create", "cli-v6", "--docker", "host=tcp://[::1]:2376,skip-tls-verify=true"]);
    run(["context", "use", "cli-made"]);

    const ep = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config }));
    assert.equal(ep.source, "context");
    assert.equal(ep.context, "cli-made");
    assert.equal(ep.url, "tcp://127.0.0.1:1234");
    assert.equal(ep.host, "127.0.0.1");
    assert.equal(ep.port, 1234);
    const tls = ep.tls as TlsFiles;
    assert.equal(tls.verify, true);
    for (const kind of ["ca", "cert", "key"] as const) {
      const path = tls[kind];
      assert.ok(path, `${kind} found`);
      assert.ok(path.startsWith(contextPaths(config, "cli-made").tlsDir), path);
      assert.equal(readFileSync(path, "utf8"), real[kind], `${kind} content`);
    }

    const v6 = tcp(resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "cli-v6" }));
    assert.equal(v6.host, "::1");
    assert.equal(v6.url, "tcp://[::1]:2376");
    assert.deepEqual(v6.tls, { verify: false });
  });
});

describe("DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH", () => {
  it("verifies with the three files of DOCKER_CERT_PATH", () => {
    const certs = certDir(["ca", "cert", "key"]);
    const ep = tcp(
      resolveEndpoint(
        {},
        {
          DOCKER_CONFIG: freshConfigDir(),
          DOCKER_HOST: "tcp://192.0.2.10:2376",
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: certs,
        },
      ),
    );
    assert.deepEqual(ep.tls, {
      verify: true,
      ca: join(certs, "ca.pem"),
      cert: join(certs, "cert.pem"),
      key: join(certs, "key.pem"),
    });
  });

  it('treats any non-empty DOCKER_TLS_VERIFY as on, even "0" (docker\'s rule)', () => {
    const certs = certDir(["ca", "cert", "key"]);
    const env = { DOCKER_CONFIG: freshConfigDir(), DOCKER_HOST: "tcp://h:2376", DOCKER_CERT_PATH: certs };
    assert.equal(tcp(resolveEndpoint({}, { ...env, DOCKER_TLS_VERIFY: "0" })).tls?.verify, true);
    assert.equal(tcp(resolveEndpoint({}, { ...env, DOCKER_TLS_VERIFY: "" })).tls, undefined);
  });

  it("DOCKER_TLS alone is TLS without verification, and needs no CA file", () => {
    const certs = certDir(["cert", "key"]);
    const ep = tcp(
      resolveEndpoint(
        {},
        {
          DOCKER_CONFIG: freshConfigDir(),
          DOCKER_HOST: "tcp://h:2376",
          DOCKER_TLS: "1",
          DOCKER_CERT_PATH: certs,
        },
      ),
    );
    assert.deepEqual(ep.tls, { verify: false, cert: join(certs, "cert.pem"), key: join(certs, "key.pem") });
  });

  it("uses client files only when present, and insists on the CA when verifying", () => {
    const onlyCa = certDir(["ca"]);
    const ep = tcp(
      resolveEndpoint(
        {},
        {
          DOCKER_CONFIG: freshConfigDir(),
          DOCKER_HOST: "tcp://h:2376",
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: onlyCa,
        },
      ),
    );
    assert.deepEqual(ep.tls, { verify: true, ca: join(onlyCa, "ca.pem") });

    const empty = certDir([]);
    const missing = resolveEndpoint(
      {},
      {
        DOCKER_CONFIG: freshConfigDir(),
        DOCKER_HOST: "tcp://h:2376",
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: empty,
      },
    );
    assert.equal(tcp(missing).tls?.ca, join(empty, "ca.pem"));
    // The missing CA is reported when connecting, naming the file.
    assert.throws(
      () => connect(missing),
      (err: unknown) =>
        err instanceof EndpointError &&
        err.message.includes(join(empty, "ca.pem")) &&
        err.message.includes("ENOENT"),
    );
  });

  it("defaults DOCKER_CERT_PATH to the docker config folder", () => {
    const config = freshConfigDir();
    for (const kind of ["ca", "cert", "key"] as const) writeFileSync(join(config, `${kind}.pem`), PEM[kind]);
    const ep = tcp(
      resolveEndpoint({}, { DOCKER_CONFIG: config, DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1" }),
    );
    assert.equal(ep.tls?.ca, join(config, "ca.pem"));
    assert.equal(ep.tls?.key, join(config, "key.pem"));
  });

  it("ignores DOCKER_CERT_PATH when TLS is not asked for", () => {
    const ep = tcp(
      resolveEndpoint(
        {},
        { DOCKER_CONFIG: freshConfigDir(), DOCKER_HOST: "tcp://h:2375", DOCKER_CERT_PATH: certDir(["ca"]) },
      ),
    );
    assert.equal(ep.tls, undefined);
  });
});

describe("host URLs", () => {
  const env = (host: string) => ({ DOCKER_CONFIG: root, DOCKER_HOST: host });

  it("gives tcp:// port 2375 and https:// port 2376 and TLS", () => {
    const plain = tcp(resolveEndpoint({}, env("tcp://docker.example")));
    assert.equal(plain.port, 2375);
    assert.equal(plain.url, "tcp://docker.example:2375");
    assert.equal(plain.tls, undefined);

    const secure = tcp(resolveEndpoint({}, env("https://docker.example")));
    assert.equal(secure.port, 2376);
    assert.equal(secure.url, "tcp://docker.example:2376");
    assert.deepEqual(secure.tls, { verify: true });
  });

  it("keeps tcp:// on 2375 even with DOCKER_TLS_VERIFY, as the docker CLI does", () => {
    const ep = tcp(
      resolveEndpoint(
        {},
        { ...env("tcp://docker.example"), DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certDir(["ca"]) },
      ),
    );
    assert.equal(ep.port, 2375);
    assert.equal(ep.tls?.verify, true);
  });

  it("keeps an explicit port, including :80 and :443", () => {
    assert.equal(tcp(resolveEndpoint({}, env("tcp://h:80"))).port, 80);
    assert.equal(tcp(resolveEndpoint({}, env("https://h:443"))).port, 443);
    assert.equal(tcp(resolveEndpoint({}, env("tcp://h:65535"))).port, 65535);
  });

  it("accepts a bare HOST:PORT as tcp://, as the docker CLI and vic-machine's output do", () => {
    const ep = tcp(resolveEndpoint({}, env("192.168.100.220:2376")));
    assert.equal(ep.url, "tcp://192.168.100.220:2376");
    assert.equal(ep.host, "192.168.100.220");
    assert.equal(ep.port, 2376);
  });

  it("handles IPv6 hosts: brackets in the URL, none in the host", () => {
    const loop = tcp(resolveEndpoint({}, env("tcp://[::1]:2376")));
    assert.equal(loop.host, "::1");
    assert.equal(loop.port, 2376);
    assert.equal(loop.url, "tcp://[::1]:2376");

    const doc = tcp(resolveEndpoint({}, env("tcp://[2001:DB8:0:0::1]")));
    assert.equal(doc.host, "2001:db8::1");
    assert.equal(doc.port, 2375);
    assert.equal(doc.url, "tcp://[2001:db8::1]:2375");
  });

  const malformed: Array<[string, RegExp]> = [
    ["://docker.example:2375", /no scheme/],
    ["ssh://user@docker.example", /ssh:\/\/ endpoints are not supported/],
    ["npipe:////./pipe/docker_engine", /not supported/],
    ["ftp://docker.example", /unknown scheme/],
    ["tcp://docker.example:99999", /bad port "99999"/],
    ["tcp://docker.example:0", /bad port "0"/],
    ["tcp://docker.example:http", /bad port "http"/],
    ["tcp://docker.example:", /bad port ""/],
    ["tcp://:2376", /no host/],
    ["tcp://docker.example:2376/v1.41", /a path is not allowed/],
    ["tcp://docker.example:2376?tls=1", /unexpected URL parts/],
    ["tcp://user:secret@docker.example:2376", /bad port|unexpected URL parts/],
    ["unix://var/run/docker.sock", /must be absolute/],
    ["/var/run/docker.sock", /no scheme/],
    ["tcp:/docker.example", /no scheme/],
    ["not an endpoint at all", /cannot parse/],
    ["tcp://[::1:2376", /cannot parse|bad port/],
    ["   ", /empty/],
  ];
  for (const [value, why] of malformed) {
    it(`refuses DOCKER_HOST=${JSON.stringify(value)} naming the variable and the value`, () => {
      assert.throws(
        () => resolveEndpoint({}, env(value)),
        (err: unknown) => {
          assert.ok(err instanceof EndpointError, `EndpointError, got ${String(err)}`);
          assert.ok(
            err.message.startsWith(`DOCKER_HOST "${value}" is not a valid Docker endpoint`),
            err.message,
          );
          assert.match(err.message, why);
          assert.match(err.userMessage, /tcp:\/\/HOST:PORT/);
          return true;
        },
      );
    });
  }

  it("names --endpoint in the error when the flag is malformed", () => {
    assert.throws(
      () => resolveEndpoint({ endpoint: "" }, { DOCKER_CONFIG: root }),
      (err: unknown) =>
        err instanceof EndpointError && err.message.startsWith('--endpoint "" is not a valid'),
    );
  });

  it("parseHostUrl reports https separately from tcp", () => {
    assert.deepEqual(parseHostUrl("HTTPS://Docker.Example:3000", "x"), {
      protocol: "tcp",
      host: "docker.example",
      port: 3000,
      url: "tcp://docker.example:3000",
      https: true,
    });
  });
});

describe("--tls* flags", () => {
  const files = { tlsCaCert: "/p/ca.pem", tlsCert: "/p/cert.pem", tlsKey: "/p/key.pem" };

  it("verifies by default when files are given", () => {
    const ep = tcp(resolveEndpoint({ endpoint: "tcp://h:2376", ...files }, { DOCKER_CONFIG: root }));
    assert.deepEqual(ep.tls, { verify: true, ca: "/p/ca.pem", cert: "/p/cert.pem", key: "/p/key.pem" });
    assert.equal(ep.source, "flag");
  });

  it("allows --tlsverify=false without a CA, and nothing else", () => {
    const ep = tcp(resolveEndpoint({ endpoint: "tcp://h:2376", tlsVerify: false }, { DOCKER_CONFIG: root }));
    assert.deepEqual(ep.tls, { verify: false });
  });

  it("refuses verification without --tlscacert", () => {
    for (const flags of [
      { tlsVerify: true },
      { tlsCert: "/p/cert.pem", tlsKey: "/p/key.pem" },
      { tlsVerify: true, tlsCert: "/p/cert.pem", tlsKey: "/p/key.pem" },
    ]) {
      assert.throws(
        () => resolveEndpoint({ endpoint: "tcp://h:2376", ...flags }, { DOCKER_CONFIG: root }),
        (err: unknown) => err instanceof EndpointError && /needs --tlscacert/.test(err.message),
        JSON.stringify(flags),
      );
    }
  });

  it("wants --tlscert and --tlskey together", () => {
    for (const flags of [
      { tlsCaCert: "/p/ca.pem", tlsCert: "/p/cert.pem" },
      { tlsCaCert: "/p/ca.pem", tlsKey: "/p/key.pem" },
    ]) {
      assert.throws(
        () => resolveEndpoint({ endpoint: "tcp://h:2376", ...flags }, { DOCKER_CONFIG: root }),
        (err: unknown) =>
          err instanceof EndpointError && /--tlscert and --tlskey go together/.test(err.message),
      );
    }
  });

  it("apply to DOCKER_HOST and win over DOCKER_TLS_VERIFY / DOCKER_CERT_PATH", () => {
    const ep = tcp(
      resolveEndpoint(files, {
        DOCKER_CONFIG: root,
        DOCKER_HOST: "tcp://h:2376",
        DOCKER_TLS: "1",
        DOCKER_CERT_PATH: certDir(["ca", "cert", "key"]),
      }),
    );
    assert.equal(ep.source, "env");
    assert.deepEqual(ep.tls, { verify: true, ca: "/p/ca.pem", cert: "/p/cert.pem", key: "/p/key.pem" });
  });

  it("are refused without --endpoint or DOCKER_HOST instead of being silently ignored", () => {
    const config = freshConfigDir();
    writeContext(config, "ctx", "tcp://ctx:2376");
    for (const env of [{ DOCKER_CONFIG: config, DOCKER_CONTEXT: "ctx" }, { DOCKER_CONFIG: config }]) {
      assert.throws(
        () => resolveEndpoint(files, env),
        (err: unknown) => err instanceof EndpointError && /--endpoint or DOCKER_HOST/.test(err.message),
      );
    }
  });

  it("leave the environment's TLS alone when none is given", () => {
    const certs = certDir(["ca"]);
    const ep = tcp(
      resolveEndpoint(
        {},
        { DOCKER_CONFIG: root, DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs },
      ),
    );
    assert.deepEqual(ep.tls, { verify: true, ca: join(certs, "ca.pem") });
  });
});

describe("connect ignores the docker environment it was not given", () => {
  it("keeps a unix endpoint on its socket while DOCKER_HOST names a TLS host", async () => {
    const { connect } = await import("../../src/engine/client.js");
    const saved = { DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_TLS_VERIFY: process.env.DOCKER_TLS_VERIFY };
    process.env.DOCKER_HOST = "tcp://127.0.0.1:22999";
    process.env.DOCKER_TLS_VERIFY = "1";
    try {
      const client = connect({
        url: "unix:///run/x.sock",
        source: "flag",
        protocol: "unix",
        socketPath: "/run/x.sock",
      });
      const modem = client.docker.modem as unknown as {
        socketPath?: string;
        host?: string;
        protocol?: string;
      };
      assert.equal(modem.socketPath, "/run/x.sock");
      assert.equal(modem.host, undefined);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe("connect refuses a TLS key others can read, as ssh does", () => {
  it("names the file and the chmod that fixes it", async () => {
    const { connect } = await import("../../src/engine/client.js");
    const { EndpointError } = await import("../../src/errors.js");
    const { mkdtempSync, writeFileSync, chmodSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "dinv-keymode-"));
    for (const file of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, file), "x");
    const endpoint = {
      url: "tcp://127.0.0.1:2376",
      source: "flag" as const,
      protocol: "tcp" as const,
      host: "127.0.0.1",
      port: 2376,
      tls: { verify: true, ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") },
    };
    chmodSync(join(dir, "key.pem"), 0o644);
    assert.throws(
      () => connect(endpoint),
      (err: unknown) =>
        err instanceof EndpointError &&
        /readable by others/.test(err.message) &&
        /chmod 600 .*key\.pem/.test(err.hint ?? ""),
    );
    chmodSync(join(dir, "key.pem"), 0o600);
    assert.doesNotThrow(() => connect(endpoint));
  });
});
