/**
 * `dinv env` lines for every shell, compared line by line with docker-machine's formats, and
 * eval'd by the real shells (those installed) with hostile values: the variable must come out
 * exactly as given and no code in it may run.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  detectShell,
  formatEnv,
  formatUnset,
  hintCommandLine,
  noProxyValue,
  parseShell,
  SHELLS,
  type Shell,
} from "../../src/cli/format/shell-env.js";
import { DinvError } from "../../src/errors.js";

const VARS: Array<[string, string]> = [
  ["DOCKER_TLS_VERIFY", "1"],
  ["DOCKER_HOST", "tcp://127.0.0.1:32768"],
  ["DOCKER_CERT_PATH", "/home/me/.dinv/hosts/dev"],
  ["DOCKER_MACHINE_NAME", "dev"],
];
const NAMES = VARS.map(([name]) => name);
const lines = (text: string) => text.split("\n");

describe("formatEnv: docker-machine's formats, line by line", () => {
  const cases: Record<Shell, { set: string[]; unset: string[]; hint: string[] }> = {
    bash: {
      set: [
        'export DOCKER_TLS_VERIFY="1"',
        'export DOCKER_HOST="tcp://127.0.0.1:32768"',
        'export DOCKER_CERT_PATH="/home/me/.dinv/hosts/dev"',
        'export DOCKER_MACHINE_NAME="dev"',
      ],
      unset: [
        "unset DOCKER_TLS_VERIFY",
        "unset DOCKER_HOST",
        "unset DOCKER_CERT_PATH",
        "unset DOCKER_MACHINE_NAME",
      ],
      hint: ["# Run this command to configure your shell: ", "# eval $(dinv env dev)"],
    },
    zsh: {
      set: [
        'export DOCKER_TLS_VERIFY="1"',
        'export DOCKER_HOST="tcp://127.0.0.1:32768"',
        'export DOCKER_CERT_PATH="/home/me/.dinv/hosts/dev"',
        'export DOCKER_MACHINE_NAME="dev"',
      ],
      unset: [
        "unset DOCKER_TLS_VERIFY",
        "unset DOCKER_HOST",
        "unset DOCKER_CERT_PATH",
        "unset DOCKER_MACHINE_NAME",
      ],
      hint: ["# Run this command to configure your shell: ", "# eval $(dinv env dev)"],
    },
    fish: {
      set: [
        'set -gx DOCKER_TLS_VERIFY "1";',
        'set -gx DOCKER_HOST "tcp://127.0.0.1:32768";',
        'set -gx DOCKER_CERT_PATH "/home/me/.dinv/hosts/dev";',
        'set -gx DOCKER_MACHINE_NAME "dev";',
      ],
      unset: [
        "set -e DOCKER_TLS_VERIFY;",
        "set -e DOCKER_HOST;",
        "set -e DOCKER_CERT_PATH;",
        "set -e DOCKER_MACHINE_NAME;",
      ],
      hint: ["# Run this command to configure your shell: ", "# eval (dinv env dev)"],
    },
    powershell: {
      set: [
        '$Env:DOCKER_TLS_VERIFY = "1"',
        '$Env:DOCKER_HOST = "tcp://127.0.0.1:32768"',
        '$Env:DOCKER_CERT_PATH = "/home/me/.dinv/hosts/dev"',
        '$Env:DOCKER_MACHINE_NAME = "dev"',
      ],
      unset: [
        "Remove-Item Env:\\\\DOCKER_TLS_VERIFY",
        "Remove-Item Env:\\\\DOCKER_HOST",
        "Remove-Item Env:\\\\DOCKER_CERT_PATH",
        "Remove-Item Env:\\\\DOCKER_MACHINE_NAME",
      ],
      hint: ["# Run this command to configure your shell: ", "# & dinv env dev | Invoke-Expression"],
    },
    cmd: {
      set: [
        "SET DOCKER_TLS_VERIFY=1",
        "SET DOCKER_HOST=tcp://127.0.0.1:32768",
        "SET DOCKER_CERT_PATH=/home/me/.dinv/hosts/dev",
        "SET DOCKER_MACHINE_NAME=dev",
      ],
      unset: [
        "SET DOCKER_TLS_VERIFY=",
        "SET DOCKER_HOST=",
        "SET DOCKER_CERT_PATH=",
        "SET DOCKER_MACHINE_NAME=",
      ],
      hint: [
        "REM Run this command to configure your shell: ",
        "REM \t@FOR /f \"tokens=*\" %i IN ('dinv env dev') DO @%i",
      ],
    },
    emacs: {
      set: [
        '(setenv "DOCKER_TLS_VERIFY" "1")',
        '(setenv "DOCKER_HOST" "tcp://127.0.0.1:32768")',
        '(setenv "DOCKER_CERT_PATH" "/home/me/.dinv/hosts/dev")',
        '(setenv "DOCKER_MACHINE_NAME" "dev")',
      ],
      unset: [
        '(setenv "DOCKER_TLS_VERIFY" nil)',
        '(setenv "DOCKER_HOST" nil)',
        '(setenv "DOCKER_CERT_PATH" nil)',
        '(setenv "DOCKER_MACHINE_NAME" nil)',
      ],
      hint: [
        ";; Run this command to configure your shell: ",
        ';; (with-temp-buffer (shell-command "dinv env dev" (current-buffer)) (eval-buffer))',
      ],
    },
    tcsh: {
      set: [
        'setenv DOCKER_TLS_VERIFY "1";',
        'setenv DOCKER_HOST "tcp://127.0.0.1:32768";',
        'setenv DOCKER_CERT_PATH "/home/me/.dinv/hosts/dev";',
        'setenv DOCKER_MACHINE_NAME "dev";',
      ],
      unset: [
        "unsetenv DOCKER_TLS_VERIFY;",
        "unsetenv DOCKER_HOST;",
        "unsetenv DOCKER_CERT_PATH;",
        "unsetenv DOCKER_MACHINE_NAME;",
      ],
      hint: [": Run this command to configure your shell: ", ": eval `dinv env dev`"],
    },
  };

  for (const shell of SHELLS) {
    const expected = cases[shell];
    it(`${shell}: set`, () => {
      const out = formatEnv(VARS, shell, { commandHint: "dinv env dev" });
      assert.deepEqual(lines(out), [...expected.set, ...expected.hint, ""]);
    });
    it(`${shell}: unset`, () => {
      const out = formatUnset(NAMES, shell, { commandHint: "dinv env dev" });
      assert.deepEqual(lines(out), [...expected.unset, ...expected.hint, ""]);
    });
  }

  it("puts the whole command, flags included, in the hint", () => {
    const out = formatEnv([["A", "b"]], "fish", { commandHint: "dinv env --shell fish dev" });
    assert.equal(lines(out)[2], "# eval (dinv env --shell fish dev)");
  });

  it("hintCommandLine quotes a program path with a space or backslash, as docker-machine does", () => {
    assert.equal(hintCommandLine(["dinv", "env", "dev"]), "dinv env dev");
    assert.equal(
      hintCommandLine(["C:\\Program Files\\dinv.exe", "env", "dev"]),
      '"C:\\Program Files\\dinv.exe" env dev',
    );
  });

  it("escapes quotes and backslashes in the emacs hint, which is a Lisp string", () => {
    const out = formatEnv([["A", "b"]], "emacs", { commandHint: '"C:\\dinv.exe" env dev' });
    assert.equal(
      lines(out)[2],
      ';; (with-temp-buffer (shell-command "\\"C:\\\\dinv.exe\\" env dev" (current-buffer)) (eval-buffer))',
    );
  });
});

describe("formatEnv: quoting", () => {
  const hostile = 'a"b$(touch /tmp/x)`id`\\c';
  const hint = { commandHint: "dinv env dev" };
  const first = (shell: Shell, value: string) => lines(formatEnv([["K", value]], shell, hint))[0];

  it("bash: specials leave the double quotes, backslash-escaped", () => {
    assert.equal(first("bash", hostile), 'export K="a"\\""b"\\$""\\("touch /tmp/x"\\)""\\`"id"\\`""\\\\"c"');
  });
  it('fish: backslash before \\ " $', () => {
    assert.equal(first("fish", hostile), 'set -gx K "a\\"b\\$(touch /tmp/x)`id`\\\\c";');
  });
  it('powershell: backquote before ` $ "', () => {
    assert.equal(first("powershell", hostile), '$Env:K = "a`"b`$(touch /tmp/x)``id``\\c"');
  });
  it('emacs: backslash before \\ and "', () => {
    assert.equal(first("emacs", hostile), '(setenv "K" "a\\"b$(touch /tmp/x)`id`\\\\c")');
  });
  it("paths with spaces stay inside the quotes", () => {
    assert.equal(first("bash", "/home/me/My Docs/dev"), 'export K="/home/me/My Docs/dev"');
    assert.equal(first("tcsh", "/home/me/My Docs/dev"), 'setenv K "/home/me/My Docs/dev";');
    assert.equal(first("cmd", "C:\\Users\\Me Too\\dev"), "SET K=C:\\Users\\Me Too\\dev");
  });
  it("cmd refuses characters it cannot take safely", () => {
    for (const value of ['a"b', "a&b", "a|b", "a<b", "a>b", "a^b", "a%PATH%", "a!b!"]) {
      assert.throws(() => formatEnv([["K", value]], "cmd", hint), DinvError, value);
    }
  });
  it("tcsh refuses braces, which it expands whatever the quoting", () => {
    assert.throws(() => formatEnv([["K", "a{b,c}"]], "tcsh", hint), /tcsh/);
  });
  it("every shell refuses control characters and bad names", () => {
    for (const shell of SHELLS) {
      assert.throws(() => formatEnv([["K", "a\nb"]], shell, hint), /control character/);
      assert.throws(() => formatEnv([["K", "a\tb"]], shell, hint), /control character/);
      assert.throws(() => formatEnv([["1K", "x"]], shell, hint), /invalid environment variable name/);
      assert.throws(() => formatUnset(["K;rm"], shell, hint), /invalid environment variable name/);
    }
  });
});

describe("formatEnv eval'd by the real shells", () => {
  const dir = mkdtempSync(join(tmpdir(), "dinv-shell-env-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, "pwned");
  // Single spaces only: the hint's unquoted `eval $(...)` collapses runs of spaces.
  const hostile = `a"b$(touch ${marker})\`touch ${marker}\`\\c'd!e x*y ?[g] ~h #i;j&k|l<m>n(o)p%q=r,s@t+u:v/w é`;
  const values: Array<[string, string]> = [
    ["DINV_T_HOSTILE", hostile],
    ["DINV_T_PATH", "/tmp/dinv test/hosts/dev"],
    ["DINV_T_HOST", "tcp://127.0.0.1:32768"],
  ];
  // Files an unescaped glob in the re-split output would match: the first one turns `x*y` into
  // code (`touch pwned` in the working folder), the second changes the value.
  writeFileSync(join(dir, 'x";touch pwned;"y'), "");
  writeFileSync(join(dir, "ag"), "");

  const has = (program: string) =>
    ["/bin", "/usr/bin", "/usr/local/bin"].some((d) => existsSync(join(d, program)));

  /** Run SCRIPT in SHELL with the formatted output in $DINV_T_FILE; return its stdout. */
  function run(shell: string, args: string[], script: string, output: string): string {
    const file = join(dir, `out-${shell}.txt`);
    writeFileSync(file, output);
    return execFileSync(shell, [...args, script], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, DINV_T_FILE: file },
      encoding: "utf8",
    });
  }

  const shells: Array<{
    shell: Shell;
    program: string;
    args: string[];
    /** eval the output the way the hint says, then print each variable on its own line */
    scripts: string[];
    unset: string;
  }> = [
    {
      shell: "bash",
      program: "bash",
      args: ["-c"],
      scripts: [
        'eval $(cat "$DINV_T_FILE"); printf "%s\\n" "$DINV_T_HOSTILE" "$DINV_T_PATH" "$DINV_T_HOST"',
        'shopt -s extglob; eval "$(cat "$DINV_T_FILE")"; printf "%s\\n" "$DINV_T_HOSTILE" "$DINV_T_PATH" "$DINV_T_HOST"',
      ],
      unset: 'export DINV_T_PATH=x; eval $(cat "$DINV_T_FILE"); printf "%s\\n" "${DINV_T_PATH-unset}"',
    },
    {
      shell: "zsh",
      program: "zsh",
      args: ["-c"],
      scripts: [
        'eval $(cat "$DINV_T_FILE"); printf "%s\\n" "$DINV_T_HOSTILE" "$DINV_T_PATH" "$DINV_T_HOST"',
        'eval "$(cat "$DINV_T_FILE")"; printf "%s\\n" "$DINV_T_HOSTILE" "$DINV_T_PATH" "$DINV_T_HOST"',
      ],
      unset: 'export DINV_T_PATH=x; eval $(cat "$DINV_T_FILE"); printf "%s\\n" "${DINV_T_PATH-unset}"',
    },
    {
      shell: "fish",
      program: "fish",
      args: ["--no-config", "-c"],
      scripts: ['eval (cat "$DINV_T_FILE"); printf "%s\\n" "$DINV_T_HOSTILE" "$DINV_T_PATH" "$DINV_T_HOST"'],
      unset:
        'set -gx DINV_T_PATH x; eval (cat "$DINV_T_FILE"); if set -q DINV_T_PATH; echo set; else; echo unset; end',
    },
    {
      shell: "tcsh",
      program: "tcsh",
      args: ["-f", "-c"],
      scripts: [
        "eval `cat $DINV_T_FILE:q`; printenv DINV_T_HOSTILE; printenv DINV_T_PATH; printenv DINV_T_HOST",
      ],
      unset:
        "setenv DINV_T_PATH x; eval `cat $DINV_T_FILE:q`; if ( $?DINV_T_PATH ) echo set; if ( ! $?DINV_T_PATH ) echo unset",
    },
  ];

  for (const { shell, program, args, scripts, unset } of shells) {
    const skip = has(program) ? false : `${program} is not installed`;
    it(`${shell}: set, exactly and without running anything`, { skip }, () => {
      rmSync(marker, { force: true });
      const output = formatEnv(values, shell, { commandHint: "dinv env dev" });
      for (const script of scripts) {
        const printed = run(program, args, script, output);
        assert.deepEqual(lines(printed), [...values.map(([, v]) => v), ""], `${program}: ${script}`);
        assert.equal(existsSync(marker), false, `${program} ran code from a value`);
      }
    });
    it(`${shell}: unset`, { skip }, () => {
      const output = formatUnset(
        values.map(([name]) => name),
        shell,
        { commandHint: "dinv env -u" },
      );
      assert.equal(run(program, args, unset, output).trim(), "unset");
    });
  }
});

describe("parseShell and detectShell", () => {
  it("parses the seven shells and refuses others, listing them", () => {
    for (const shell of SHELLS) assert.equal(parseShell(shell), shell);
    assert.throws(
      () => parseShell("ksh"),
      (err: unknown) =>
        err instanceof DinvError &&
        /unknown shell "ksh"/.test(err.message) &&
        err.userMessage.includes("bash, zsh, fish, powershell, cmd, emacs, tcsh"),
    );
  });

  it("takes $SHELL's basename, as docker-machine does", () => {
    assert.equal(detectShell({ SHELL: "/bin/bash" }), "bash");
    assert.equal(detectShell({ SHELL: "/usr/bin/zsh" }), "zsh");
    assert.equal(detectShell({ SHELL: "/usr/local/bin/fish" }), "fish");
    assert.equal(detectShell({ SHELL: "/bin/tcsh" }), "tcsh");
    assert.equal(detectShell({ SHELL: "/bin/csh" }), "tcsh");
    assert.equal(detectShell({ SHELL: "/usr/bin/pwsh" }), "powershell");
    assert.equal(detectShell({ SHELL: "/bin/sh" }), "bash");
    assert.equal(detectShell({ SHELL: "C:\\Program Files\\Git\\bin\\bash.exe" }), "bash");
  });

  it("without $SHELL: fish, cmd, PowerShell hints, else bash", () => {
    assert.equal(detectShell({}), "bash");
    assert.equal(detectShell({ __fish_bin_dir: "/usr/bin" }), "fish");
    assert.equal(detectShell({ PROMPT: "$P$G", PSModulePath: "C:\\x" }), "cmd");
    assert.equal(detectShell({ PSModulePath: "C:\\x" }), "powershell");
  });
});

describe("noProxyValue", () => {
  it("starts the list when there is none", () => {
    assert.equal(noProxyValue(undefined, "10.0.0.1"), "10.0.0.1");
    assert.equal(noProxyValue("", "10.0.0.1"), "10.0.0.1");
  });
  it("appends the IP once", () => {
    assert.equal(noProxyValue("localhost,.corp", "10.0.0.1"), "localhost,.corp,10.0.0.1");
    assert.equal(noProxyValue("localhost, 10.0.0.1", "10.0.0.1"), "localhost, 10.0.0.1");
    assert.equal(noProxyValue("localhost,", "10.0.0.1"), "localhost,10.0.0.1");
  });
  it("compares whole entries, not substrings", () => {
    assert.equal(noProxyValue("10.0.0.10", "10.0.0.1"), "10.0.0.10,10.0.0.1");
  });
});
