/**
 * docker-machine's CLI contract (docs/docker-machine.md), through bin/dinv on the real engine:
 * each expected output is docker-machine's, written out here from its source and reference
 * (commands/*.go, libmachine), not derived from dinv's own code.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ENGINE_NAME, removeLabelled, runId, testEngine } from "../helpers/engine.js";
import { DINV_BIN, run, sandbox, type Sandbox } from "../helpers/cli.js";
import type { EngineClient } from "../../src/engine/client.js";
import { assertCleanFailure, assertOk } from "../helpers/assert.js";
import { reportCases } from "../helpers/cases.js";

const DOCKER_VARS = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"];

/** docker-machine's `env -u --shell S` output (commands/env.go, shellCfgUnset and the usage hint). */
const UNSET_OUTPUT: Record<string, (names: string[]) => string> = {
  bash: (n) =>
    `${n.map((v) => `unset ${v}\n`).join("")}# Run this command to configure your shell: \n# eval $(dinv env -u --shell bash)\n`,
  zsh: (n) =>
    `${n.map((v) => `unset ${v}\n`).join("")}# Run this command to configure your shell: \n# eval $(dinv env -u --shell zsh)\n`,
  fish: (n) =>
    `${n.map((v) => `set -e ${v};\n`).join("")}# Run this command to configure your shell: \n# eval (dinv env -u --shell fish)\n`,
  powershell: (n) =>
    `${n.map((v) => `Remove-Item Env:\\\\${v}\n`).join("")}# Run this command to configure your shell: \n# & dinv env -u --shell powershell | Invoke-Expression\n`,
  cmd: (n) =>
    `${n.map((v) => `SET ${v}=\n`).join("")}REM Run this command to configure your shell: \nREM \t@FOR /f "tokens=*" %i IN ('dinv env -u --shell cmd') DO @%i\n`,
  emacs: (n) =>
    `${n.map((v) => `(setenv "${v}" nil)\n`).join("")};; Run this command to configure your shell: \n;; (with-temp-buffer (shell-command "dinv env -u --shell emacs" (current-buffer)) (eval-buffer))\n`,
  tcsh: (n) =>
    `${n.map((v) => `unsetenv ${v};\n`).join("")}: Run this command to configure your shell: \n: eval \`dinv env -u --shell tcsh\`\n`,
};

/** docker-machine's commands (its CLI reference) plus dinv's own: every one has help. */
const COMMANDS = [
  "active",
  "config",
  "create",
  "env",
  "inspect",
  "ip",
  "kill",
  "ls",
  "provision",
  "regenerate-certs",
  "restart",
  "rm",
  "ssh",
  "scp",
  "mount",
  "start",
  "status",
  "stop",
  "upgrade",
  "url",
  "version",
  "exec",
  "logs",
  "export",
  "import",
  "kubelet",
];

describe(`docker-machine's CLI contract (real ${ENGINE_NAME})`, () => {
  let box: Sandbox;
  let engine: EngineClient;
  let work: string;
  const a = runId("dm-a");
  const b = runId("dm-b");
  let engineInstallWarning = "";

  before(async () => {
    engine = await testEngine();
    box = sandbox();
    work = mkdtempSync(join(tmpdir(), "dinv-dm-"));
    const created = await Promise.all([
      box.dinv([
        "create",
        "--no-context",
        "--engine-label",
        "env=test",
        "--engine-insecure-registry",
        "reg.example:5000",
        "--engine-opt",
        "log-level=warn",
        "--engine-env",
        "HTTP_PROXY=http://proxy.example:3128",
        "--tls-san",
        "dm.example",
        a,
      ]),
      box.dinv([
        "create",
        "--no-context",
        "-d",
        "docker",
        "--engine-install-url",
        "https://get.docker.com",
        b,
      ]),
    ]);
    created.forEach((result, i) => assertOk(result, `create ${i === 0 ? a : b}`));
    engineInstallWarning = created[1]?.stderr ?? "";
  });

  after(async () => {
    await box.dinv(["rm", "-f", "-y", a, b]);
    await removeLabelled(engine, a, "io.dinv.host");
    await removeLabelled(engine, b, "io.dinv.host");
    box.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  describe("env", () => {
    it("env -u takes no host name and prints docker-machine's unset lines for every shell", async (t) => {
      for (const [shell, expected] of Object.entries(UNSET_OUTPUT)) {
        const result = await box.dinv(["env", "-u", "--shell", shell]);
        assertOk(result, `env -u --shell ${shell}`);
        assert.equal(result.stdout, expected(DOCKER_VARS), shell);
        const long = await box.dinv(["env", "--unset", "--shell", shell]);
        assertOk(long, `env --unset --shell ${shell}`);
        assert.equal(long.stdout.split("\n")[0], result.stdout.split("\n")[0], `${shell}: --unset is -u`);
      }
      const proxy = await box.dinv(["env", "-u", "--shell", "bash", "--no-proxy"], {
        NO_PROXY: "corp.example",
      });
      assertOk(proxy, "env -u --no-proxy");
      // docker-machine pastes NO_PROXY's value after the name here (`unset NO_PROXYcorp.example`), a bug not kept.
      assert.deepEqual(
        proxy.stdout.split("\n").slice(0, 5),
        [...DOCKER_VARS, "NO_PROXY"].map((v) => `unset ${v}`),
      );
      reportCases(t, Object.keys(UNSET_OUTPUT).length * 2 + 1);
    });

    it("env -u NAME is docker-machine's error; env --swarm and env without a name one clear line", async () => {
      assertCleanFailure(
        await box.dinv(["env", "-u", a]),
        /^dinv: Expected no machine name when the -u flag is present\n$/,
      );
      assertCleanFailure(await box.dinv(["env", "--swarm", a]), /--swarm is not supported/);
      assertCleanFailure(await box.dinv(["env"]), /missing host name/);
    });

    for (const shell of ["bash", "zsh", "fish", "tcsh"]) {
      it(`sets and unsets the variables in a real ${shell}, through docker-machine's eval hint`, async () => {
        const url = (await box.dinv(["url", a])).stdout.trim();
        const set = `${DINV_BIN} env --shell ${shell} --no-proxy ${a}`;
        const unset = `${DINV_BIN} env -u --shell ${shell} --no-proxy`;
        // The hint's own form for each shell (commands/env.go GenerateUsageHint).
        const evalOf = (command: string) =>
          shell === "fish"
            ? `eval (${command})`
            : shell === "tcsh"
              ? `eval \`${command}\``
              : `eval $(${command})`;
        const grep = `env | grep -E '^(DOCKER_TLS_VERIFY|DOCKER_HOST|DOCKER_CERT_PATH|DOCKER_MACHINE_NAME|NO_PROXY)=' | sort`;
        const script = [
          evalOf(set),
          `echo "host=$DOCKER_HOST"`,
          grep,
          "echo @@", // not `echo --` (fish takes -- as the end of its options) nor `echo ==` (zsh expands =cmd)
          evalOf(unset),
          grep,
          "echo end",
        ].join("; ");
        const env: NodeJS.ProcessEnv = { ...box.env, NO_PROXY: "corp.example" };
        delete env.no_proxy;
        const result = await run(shell, ["-c", script], env);
        assertOk(result, `${shell} -c`);
        const [before, afterUnset] = result.stdout.split("@@\n");
        assert.equal(before?.split("\n")[0], `host=${url}`);
        const ip = (await box.dinv(["ip", a])).stdout.trim();
        assert.deepEqual(before?.trim().split("\n").slice(1), [
          `DOCKER_CERT_PATH=${join(box.store, "hosts", a)}`,
          `DOCKER_HOST=${url}`,
          `DOCKER_MACHINE_NAME=${a}`,
          "DOCKER_TLS_VERIFY=1",
          `NO_PROXY=corp.example,${ip}`,
        ]);
        assert.equal(afterUnset, "end\n", `${shell} left variables set:\n${afterUnset}`);
      });
    }
  });

  describe("start, stop and kill of a host already in that state", () => {
    it("say so with libmachine's message and exit 1", async () => {
      const start = await box.dinv(["start", a]);
      assertCleanFailure(start, new RegExp(`^dinv: Machine "${a}" is already running\\.\\n$`));
      assertOk(await box.dinv(["stop", b]), "stop");
      assertCleanFailure(await box.dinv(["stop", b]), new RegExp(`Machine "${b}" is already stopped\\.`));
      assertCleanFailure(await box.dinv(["kill", b]), new RegExp(`Machine "${b}" is already stopped\\.`));
      // Several hosts: each is tried, the failures are reported, the exit is 1.
      const both = await box.dinv(["start", a, b]);
      assert.equal(both.code, 1, both.stderr);
      assert.match(both.stderr, new RegExp(`Machine "${a}" is already running`));
      assert.match(both.stdout, new RegExp(`Started "${b}"`));
      assert.equal((await box.dinv(["status", b])).stdout, "Running\n");
    });
  });

  describe("inspect", () => {
    it("offers docker-machine's fields", async () => {
      const field = async (template: string) => {
        const result = await box.dinv(["inspect", "-f", template, a]);
        assertOk(result, `inspect -f ${template}`);
        return result.stdout.replace(/\n$/, "");
      };
      const hostDir = join(box.store, "hosts", a);
      assert.equal(await field("{{.DriverName}}"), "docker");
      assert.equal(await field("{{.Driver.IPAddress}}"), (await box.dinv(["ip", a])).stdout.trim());
      assert.equal(await field("{{.Driver.MachineName}}"), a);
      assert.equal(await field("{{.Driver.SSHUser}}|{{.Driver.SSHPort}}"), "|0");
      assert.equal(await field("{{.Driver.StorePath}}"), box.store);
      assert.equal(await field("{{.ConfigVersion}}"), "3");
      assert.equal(await field("{{.Name}}"), a);
      assert.deepEqual(JSON.parse(await field("{{json .HostOptions.EngineOptions.Labels}}")), ["env=test"]);
      assert.deepEqual(JSON.parse(await field("{{json .HostOptions.EngineOptions.InsecureRegistry}}")), [
        "reg.example:5000",
      ]);
      assert.deepEqual(JSON.parse(await field("{{json .HostOptions.EngineOptions.ArbitraryFlags}}")), [
        "log-level=warn",
      ]);
      assert.deepEqual(JSON.parse(await field("{{json .HostOptions.EngineOptions.Env}}")), [
        "HTTP_PROXY=http://proxy.example:3128",
      ]);
      assert.equal(await field("{{.HostOptions.EngineOptions.TlsVerify}}"), "true");
      const auth = JSON.parse(await field("{{json .HostOptions.AuthOptions}}")) as Record<string, unknown>;
      assert.equal(auth.CertDir, join(box.store, "certs"));
      assert.equal(auth.CaCertPath, join(hostDir, "ca.pem"));
      assert.equal(auth.CaPrivateKeyPath, join(box.store, "certs", "ca-key.pem"));
      assert.equal(auth.ServerCertPath, join(hostDir, "server.pem"));
      assert.equal(auth.ServerKeyPath, join(hostDir, "server-key.pem"));
      assert.equal(auth.ClientCertPath, join(hostDir, "cert.pem"));
      assert.equal(auth.ClientKeyPath, join(hostDir, "key.pem"));
      assert.equal(auth.StorePath, hostDir);
      assert.deepEqual(auth.ServerCertSANs, ["dm.example"]);
      for (const key of [
        "CaCertPath",
        "CaPrivateKeyPath",
        "ServerCertPath",
        "ServerKeyPath",
        "ClientCertPath",
        "ClientKeyPath",
      ])
        assert.ok(existsSync(auth[key] as string), `${key} exists`);
      // The paths work for the docker CLI as docker-machine users script it.
      const url = await field("{{.Driver.IPAddress}}");
      const port = await field("{{.Driver.EnginePort}}");
      const version = await box.docker([
        "--tlsverify",
        `--tlscacert=${auth.CaCertPath as string}`,
        `--tlscert=${auth.ClientCertPath as string}`,
        `--tlskey=${auth.ClientKeyPath as string}`,
        `-H=tcp://${url}:${port}`,
        "version",
        "--format",
        "{{.Server.Os}}",
      ]);
      assertOk(version, "docker with the AuthOptions paths");
      assert.equal(version.stdout.trim(), "linux");
      const pretty = await field("{{prettyjson .Driver}}");
      assert.match(pretty, /^\{\n {2}"IPAddress": /);
      // The plain document carries both: docker-machine's Host fields and dinv's own.
      const whole = JSON.parse((await box.dinv(["inspect", a])).stdout) as Record<string, unknown>;
      for (const key of [
        "ConfigVersion",
        "Driver",
        "DriverName",
        "HostOptions",
        "Name",
        "Endpoint",
        "Network",
        "Tls",
      ])
        assert.ok(key in whole, key);
    });
  });

  describe("scp", () => {
    it("copies a file here -> host -> here with its mode, and a folder with -r", async () => {
      const src = join(work, "src");
      mkdirSync(join(src, "sub"), { recursive: true });
      writeFileSync(join(src, "run.sh"), "#!/bin/sh\necho hi\n");
      chmodSync(join(src, "run.sh"), 0o751);
      writeFileSync(join(src, "sub", "key"), "secret\n");
      chmodSync(join(src, "sub", "key"), 0o600);
      chmodSync(join(src, "sub"), 0o750);
      symlinkSync("run.sh", join(src, "link"));
      chmodSync(src, 0o755);

      const first = await box.dinv(["scp", join(src, "run.sh"), `${a}:/tmp/`]);
      assertOk(first, "scp file host:folder/");
      // dinv ends when the copy is done, not when an idle connection times out (60 s).
      assert.ok(first.ms < 20_000, `scp took ${first.ms} ms`);
      const stat = await box.dinv(["exec", a, "--", "stat", "-c", "%a %U %n", "/tmp/run.sh"]);
      assert.equal(stat.stdout.trim(), "751 root /tmp/run.sh");
      assertOk(await box.dinv(["scp", `${a}:/tmp/run.sh`, join(work, "back.sh")]), "scp host:file here");
      assert.equal(readFileSync(join(work, "back.sh"), "utf8"), "#!/bin/sh\necho hi\n");
      assert.equal(statSync(join(work, "back.sh")).mode & 0o7777, 0o751);

      assertOk(await box.dinv(["scp", "-r", src, `${a}:/tmp/copy`]), "scp -r folder to a new name");
      const listing = await box.dinv([
        "exec",
        a,
        "--",
        "sh",
        "-c",
        "cd /tmp/copy && stat -c '%a %F %n' . sub sub/key run.sh link && readlink link",
      ]);
      assert.equal(
        listing.stdout,
        "755 directory .\n750 directory sub\n600 regular file sub/key\n751 regular file run.sh\n777 symbolic link link\nrun.sh\n",
      );
      assertOk(
        await box.dinv(["scp", "-r", `${a}:/tmp/copy`, work]),
        "scp -r host:folder into a folder here",
      );
      assert.equal(statSync(join(work, "copy", "sub")).mode & 0o7777, 0o750);
      assert.equal(statSync(join(work, "copy", "sub", "key")).mode & 0o7777, 0o600);
      assert.equal(readFileSync(join(work, "copy", "sub", "key"), "utf8"), "secret\n");
      assert.ok(lstatSync(join(work, "copy", "link")).isSymbolicLink());
      assert.equal(readlinkSync(join(work, "copy", "link")), "run.sh");
    });

    it("copies between two hosts, and takes relative paths from root's home", async () => {
      assertOk(await box.dinv(["scp", "-r", `${a}:/tmp/copy`, `${b}:/tmp/from-a`]), "host -> host");
      const stat = await box.dinv([
        "exec",
        b,
        "--",
        "stat",
        "-c",
        "%a %n",
        "/tmp/from-a/sub/key",
        "/tmp/from-a/run.sh",
      ]);
      assert.equal(stat.stdout, "600 /tmp/from-a/sub/key\n751 /tmp/from-a/run.sh\n");
      assertOk(
        await box.dinv(["scp", `docker@${b}:/tmp/from-a/run.sh`, `${b}:notes.sh`]),
        "user@host: and a relative path",
      );
      assert.equal(
        (await box.dinv(["exec", b, "--", "cat", "/root/notes.sh"])).stdout,
        "#!/bin/sh\necho hi\n",
      );
    });

    it("fails with one line for a missing path, a folder without -r, a missing destination folder", async (t) => {
      assertCleanFailure(
        await box.dinv(["scp", join(work, "nope"), `${a}:/tmp/`]),
        /nope: No such file or directory$/m,
      );
      assertCleanFailure(
        await box.dinv(["scp", `${a}:/nope`, work]),
        new RegExp(`${a}:/nope: No such file or directory`),
      );
      assertCleanFailure(
        await box.dinv(["scp", join(work, "src"), `${a}:/tmp/`]),
        /src: not a regular file: copy a folder with -r/,
      );
      assertCleanFailure(
        await box.dinv(["scp", join(work, "back.sh"), `${a}:/no/such/dir/x`]),
        new RegExp(`${a}:/no/such/dir/x: No such file or directory`),
      );
      assertCleanFailure(await box.dinv(["scp", "nohost-x:/a", work]), /Host "nohost-x" does not exist/);
      reportCases(t, 5);
    });
  });

  describe("ls", () => {
    it("--format with docker-machine's field names, and table headers", async () => {
      const fields =
        "{{.Name}}|{{.Active}}|{{.ActiveHost}}|{{.ActiveSwarm}}|{{.DriverName}}|{{.State}}|{{.URL}}|{{.Swarm}}|{{.DockerVersion}}|{{.Error}}|{{.ResponseTime}}";
      const result = await box.dinv(["ls", "--filter", `name=^${a}$`, "--format", fields]);
      assertOk(result, "ls --format");
      const url = (await box.dinv(["url", a])).stdout.trim();
      const [name, active, activeHost, activeSwarm, driver, state, rowUrl, swarm, docker, error, response] =
        result.stdout.trim().split("|");
      assert.deepEqual(
        [name, active, activeHost, activeSwarm, driver, state, rowUrl, swarm, error],
        [a, "-", "false", "false", "docker", "Running", url, "", ""],
      );
      assert.match(docker ?? "", /^v\d+\.\d+/);
      assert.match(response ?? "", /^\d+(\.\d+)?(ms|µs|s)$/, "a Go duration");
      const activeRow = await box.dinv(
        ["ls", "--filter", `name=^${a}$`, "-f", "{{.Active}} {{.ActiveHost}}"],
        { DOCKER_HOST: url },
      );
      assert.equal(activeRow.stdout, "* true\n");
      const table = await box.dinv([
        "ls",
        "--filter",
        `name=^${a}$`,
        "--format",
        "table {{.Name}}\\t{{.DriverName}}\\t{{.Error}}",
      ]);
      assertOk(table, "ls --format table");
      const [header, row] = table.stdout.split("\n");
      assert.equal(header, `NAME${" ".repeat(a.length - 1)}DRIVER   ERRORS`);
      assert.equal(row, `${a}   docker   `);
    });

    it("--filter on name, driver, state, label and swarm as docker-machine does", async (t) => {
      const names = async (...filters: string[]) => {
        const result = await box.dinv(["ls", "-q", ...filters.flatMap((f) => ["--filter", f])]);
        assertOk(result, `ls ${filters.join(" ")}`);
        return result.stdout.trim().split("\n").filter(Boolean).sort();
      };
      const both = [a, b].sort();
      assert.deepEqual(await names(`name=^(${a}|${b})$`), both);
      assert.deepEqual(await names(`name=^${a}$`, "driver=DOCKER"), [a]);
      assert.deepEqual(await names(`name=^(${a}|${b})$`, "state=running"), both);
      assert.deepEqual(await names(`name=^(${a}|${b})$`, "label=env=TEST"), [a]);
      assert.deepEqual(await names(`name=^(${a}|${b})$`, "label=env=other"), []);
      assert.deepEqual(await names(`name=^(${a}|${b})$`, "swarm=anything"), []);
      assert.deepEqual(await names(`NAME=^${b}$`), [b]);
      assertCleanFailure(await box.dinv(["ls", "--filter", "colour=red"]), /Unsupported filter key 'colour'/);
      assertCleanFailure(await box.dinv(["ls", "--filter", "novalue"]), /Unsupported filter syntax/);
      reportCases(t, 9);
    });

    it("--timeout / -t is accepted", async () => {
      const result = await box.dinv(["ls", "-t", "2", "--filter", `name=^${a}$`, "-q"]);
      assertOk(result, "ls -t");
      assert.equal(result.stdout, `${a}\n`);
    });
  });

  describe("status, url, ip, config", () => {
    it("print what docker-machine prints", async () => {
      assert.equal((await box.dinv(["status", a])).stdout, "Running\n");
      const url = (await box.dinv(["url", a])).stdout;
      assert.match(url, /^tcp:\/\/[\d.]+:\d+\n$/);
      const ips = await box.dinv(["ip", a, b]);
      assertOk(ips, "ip of two hosts");
      assert.match(ips.stdout, /^[\d.]+\n[\d.]+\n$/);
      const config = await box.dinv(["config", a]);
      const dir = join(box.store, "hosts", a);
      assert.equal(
        config.stdout,
        `--tlsverify\n--tlscacert="${dir}/ca.pem"\n--tlscert="${dir}/cert.pem"\n--tlskey="${dir}/key.pem"\n-H=${url}`,
      );
      assertCleanFailure(await box.dinv(["config", "--swarm", a]), /--swarm is not supported/);
      const active = await box.dinv(["active", "-t", "5"], { DOCKER_HOST: url.trim() });
      assertOk(active, "active");
      assert.equal(active.stdout, `${a}\n`);
      assertCleanFailure(
        await box.dinv(["active"], { DOCKER_HOST: "tcp://192.0.2.1:2376" }),
        /^dinv: No active host found/,
      );
    });
  });

  describe("storage path and global flags", () => {
    it("-s, --storage-path and MACHINE_STORAGE_PATH name the store; --native-ssh and -D are accepted", async (t) => {
      const noStore = { DINV_STORAGE_PATH: "" };
      const filter = ["--filter", `name=^${a}$`, "-q"];
      for (const args of [
        ["-s", box.store],
        ["--storage-path", box.store],
        ["--native-ssh", "-s", box.store],
        ["-D", "-s", box.store],
      ]) {
        const result = await box.dinv([...args, "ls", ...filter], noStore);
        assertOk(result, args.join(" "));
        assert.equal(result.stdout, `${a}\n`, args.join(" "));
      }
      const viaEnv = await box.dinv(["ls", ...filter], { ...noStore, MACHINE_STORAGE_PATH: box.store });
      assert.equal(viaEnv.stdout, `${a}\n`, "MACHINE_STORAGE_PATH");
      const empty = mkdtempSync(join(work, "empty-"));
      const other = await box.dinv(["-s", empty, "ls", "-q"]);
      assert.equal(other.stdout, "", "-s wins over DINV_STORAGE_PATH");
      reportCases(t, 6);
    });

    it("create -d/--driver takes docker, --engine-install-url is ignored, Swarm flags refused in one line", async () => {
      assertCleanFailure(
        await box.dinv(["create", "--driver", "virtualbox", "x-never"]),
        /the only driver is "docker"/,
      );
      assertCleanFailure(
        await box.dinv(["create", "--swarm-master", "x-never"]),
        /--swarm-master is not supported/,
      );
      assertCleanFailure(
        await box.dinv(["create", "--swarm-discovery", "token://x", "x-never"]),
        /--swarm-discovery is not supported/,
      );
      assert.match(engineInstallWarning, /warning: --engine-install-url is ignored/);
    });
  });

  describe("version", () => {
    it("version and -v print dinv's version line; version NAME the host engine's", async () => {
      for (const args of [["version"], ["-v"], ["--version"]]) {
        const result = await box.dinv(args);
        assertOk(result, args.join(" "));
        assert.match(result.stdout, /^dinv version \d+\.\d+\.\d+\n$/, args.join(" "));
      }
      const engine = await box.dinv(["version", a]);
      assertOk(engine, "version NAME");
      assert.match(engine.stdout, /^\d+\.\d+\.\d+/);
    });
  });

  describe("ssh", () => {
    it("runs a command with its own flags, as `docker-machine ssh NAME ls -la` does", async () => {
      const result = await box.dinv(["ssh", a, "ls", "-d", "/root"]);
      assertOk(result, "ssh with flags");
      assert.equal(result.stdout, "/root\n");
    });
  });

  describe("the host image", () => {
    it("has ps and pgrep (procps) for whoever debugs inside a host", async () => {
      const ps = await box.dinv(["ssh", a, "ps", "-e", "-o", "comm="]);
      assertOk(ps, "ps in the host");
      assert.match(ps.stdout, /^dockerd$/m);
      const pgrep = await box.dinv(["ssh", a, "pgrep", "-x", "dockerd"]);
      assertOk(pgrep, "pgrep in the host");
      assert.match(pgrep.stdout, /^\d+\n$/);
    });
  });

  describe("provision and mount", () => {
    it("provision issues a new server certificate and keeps the cache", async () => {
      assertOk(
        await box.dinv(["exec", a, "--", "docker", "volume", "create", "dm-keep"]),
        "volume in the host",
      );
      const before = readFileSync(join(box.store, "hosts", a, "server.pem"), "utf8");
      const result = await box.dinv(["provision", a]);
      assertOk(result, "provision");
      assert.equal(result.stdout, `Provisioned "${a}".\n`);
      assert.notEqual(readFileSync(join(box.store, "hosts", a, "server.pem"), "utf8"), before);
      const volumes = await box.dinv(["exec", a, "--", "docker", "volume", "ls", "-q"]);
      assert.match(volumes.stdout, /^dm-keep$/m);
      const flags = (await box.dinv(["config", a])).stdout.trim().split("\n");
      assertOk(await box.docker([...flags, "version"]), "docker after provision");
    });

    it("mount is refused with the reason", async () => {
      assertCleanFailure(
        await box.dinv(["mount", `${a}:/tmp`, join(work, "mnt")]),
        /not supported: .*SSHFS.*no SSH/,
      );
    });
  });

  describe("help", () => {
    it("every command has -h, --help and `help COMMAND`", async (t) => {
      const top = await box.dinv(["help"]);
      assertOk(top, "help");
      for (const command of COMMANDS) {
        // An alias shows beside its command (exec|ssh).
        assert.match(top.stdout, new RegExp(`^  (\\S+\\|)?${command}\\b`, "m"), `${command} listed`);
        for (const args of [
          [command, "-h"],
          [command, "--help"],
          ["help", command],
        ]) {
          const result = await box.dinv(args);
          assertOk(result, args.join(" "));
          assert.match(result.stdout, new RegExp(`^Usage: dinv (\\S+\\|)?${command}\\b`), args.join(" "));
        }
      }
      reportCases(t, COMMANDS.length * 3);
    });
  });
});
