/**
 * `dinv env` output: the lines that set (or unset) environment variables in the user's shell,
 * in docker-machine's formats (commands/env.go) so scripts and habits carry over, followed by
 * the usage hint docker-machine prints. Pure functions, no I/O.
 */
import { basename } from "node:path";
import { DinvError } from "../../errors.js";

export const SHELLS = ["bash", "zsh", "fish", "powershell", "cmd", "emacs", "tcsh"] as const;
export type Shell = (typeof SHELLS)[number];

export interface HintOptions {
  /** The command the user runs to get these lines, e.g. `dinv env dev --shell fish`. */
  commandHint: string;
}

export function parseShell(value: string): Shell {
  const shell = (SHELLS as readonly string[]).find((s) => s === value);
  if (shell === undefined) {
    throw new DinvError(`unknown shell "${value}"`, { hint: `use one of ${SHELLS.join(", ")}` });
  }
  return shell as Shell;
}

/**
 * The user's shell, as docker-machine guesses it: the basename of $SHELL. Without $SHELL (Windows),
 * fish announces itself with __fish_bin_dir, cmd.exe sets PROMPT and PowerShell sets PSModulePath.
 * Anything unknown (sh, dash, ksh, ...) gets the POSIX `export` lines, as in docker-machine.
 */
export function detectShell(env: NodeJS.ProcessEnv): Shell {
  const shellPath = env.SHELL ?? "";
  if (shellPath !== "") {
    const name = basename(shellPath.replace(/\\/g, "/"))
      .toLowerCase()
      .replace(/\.exe$/, "");
    switch (name) {
      case "zsh":
      case "fish":
      case "tcsh":
      case "powershell":
      case "cmd":
        return name;
      case "csh":
        return "tcsh";
      case "pwsh":
        return "powershell";
      default:
        return "bash";
    }
  }
  if (env.__fish_bin_dir) return "fish";
  if (env.PROMPT) return "cmd";
  if (env.PSModulePath) return "powershell";
  return "bash";
}

/**
 * The command line for the hint, with docker-machine's rule: the program is put in double quotes
 * when it contains a space or a backslash (a Windows path such as C:\Program Files\dinv.exe).
 */
export function hintCommandLine(argv: readonly string[]): string {
  const [program, ...rest] = argv;
  if (program === undefined) return "";
  const shown = /[ \\]/.test(program) ? `"${program}"` : program;
  return [shown, ...rest].join(" ");
}

/**
 * Quoting. docker-machine pasted values between double quotes as they were, so a `"`, `$` or
 * backquote in a value ran code when the output was eval'd. dinv's rule, per shell:
 * - bash, zsh, tcsh: the value stays between double quotes, but every ASCII character outside
 *   [A-Za-z0-9 space , . _ + : @ % / = -] is written outside them, backslash-escaped
 *   (`"a"\$"b"`). That works in csh too (where a backslash inside double quotes escapes nothing),
 *   and keeps glob and tilde characters inert when the hint's unquoted `eval $(...)` re-splits
 *   the output. tcsh expands braces in that re-split output whatever the quoting, so `{` is
 *   refused for tcsh.
 * - fish: backslash before `\`, `"` and `$` (the only escapes fish knows inside double quotes).
 * - powershell: backquote before `` ` ``, `$` and `"` (and the typographic double quotes
 *   PowerShell also accepts as quotes).
 * - emacs: backslash before `\` and `"` (an Emacs Lisp string).
 * - cmd: no reliable escape exists for the FOR /f hint, so values holding any of `"&|<>^%!` are
 *   refused with an error naming the variable (use PowerShell for such values).
 * Control characters (newline, tab, ...) are refused for every shell: one variable, one line.
 * With the unquoted `eval $(...)` hint, runs of spaces collapse to one (the shell re-splits the
 * output); `eval "$(...)"` keeps them.
 */
const POSIX_SAFE = /^[A-Za-z0-9 ,._+:@%/=\u0080-\u{10FFFF}-]$/u;

function quotePosix(value: string): string {
  let out = '"';
  for (const ch of value) out += POSIX_SAFE.test(ch) ? ch : `"\\${ch}"`;
  return `${out}"`;
}

const quoteFish = (value: string) => `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
const quotePowerShell = (value: string) => `"${value.replace(/[`$"\u201C\u201D\u201E]/g, (c) => `\`${c}`)}"`;
const quoteElisp = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function refuse(value: string, chars: RegExp, name: string, shell: Shell, hint: string): string {
  const bad = chars.exec(value);
  if (bad) {
    const problem = `the value of ${name} contains ${JSON.stringify(bad[0])}, which ${shell} cannot take safely`;
    throw new DinvError(problem, { hint });
  }
  return value;
}

function checkVariable(name: string, value: string | undefined): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new DinvError(`invalid environment variable name "${name}"`, {
      hint: "letters, digits and underscores, not starting with a digit",
    });
  }
  // eslint-disable-next-line no-control-regex
  if (value !== undefined && /[\u0000-\u001f\u007f]/.test(value)) {
    throw new DinvError(`the value of ${name} contains a control character`, {
      hint: "environment values printed by dinv env must fit on one line",
    });
  }
}

function setLine(shell: Shell, name: string, value: string): string {
  switch (shell) {
    case "bash":
    case "zsh":
      return `export ${name}=${quotePosix(value)}`;
    case "fish":
      return `set -gx ${name} ${quoteFish(value)};`;
    case "powershell":
      return `$Env:${name} = ${quotePowerShell(value)}`;
    case "cmd":
      return `SET ${name}=${refuse(value, /["&|<>^%!]/, name, shell, "use --shell powershell")}`;
    case "emacs":
      return `(setenv "${name}" ${quoteElisp(value)})`;
    case "tcsh":
      return `setenv ${name} ${quotePosix(refuse(value, /[{]/, name, shell, "use another --shell"))};`;
  }
}

function unsetLine(shell: Shell, name: string): string {
  switch (shell) {
    case "bash":
    case "zsh":
      return `unset ${name}`;
    case "fish":
      return `set -e ${name};`;
    case "powershell":
      // docker-machine's exact text (a Go raw string with two backslashes).
      return `Remove-Item Env:\\\\${name}`;
    case "cmd":
      return `SET ${name}=`;
    case "emacs":
      return `(setenv "${name}" nil)`;
    case "tcsh":
      return `unsetenv ${name};`;
  }
}

/** docker-machine's usage hint: two comment lines, the second being the command to run. */
export function usageHint(shell: Shell, commandHint: string): string {
  let comment = "#";
  let command: string;
  switch (shell) {
    case "fish":
      command = `eval (${commandHint})`;
      break;
    case "powershell":
      command = `& ${commandHint} | Invoke-Expression`;
      break;
    case "cmd":
      command = `\t@FOR /f "tokens=*" %i IN ('${commandHint}') DO @%i`;
      comment = "REM";
      break;
    case "emacs":
      command = `(with-temp-buffer (shell-command ${quoteElisp(commandHint)} (current-buffer)) (eval-buffer))`;
      comment = ";;";
      break;
    case "tcsh":
      command = `eval \`${commandHint}\``;
      comment = ":";
      break;
    default:
      command = `eval $(${commandHint})`;
  }
  return `${comment} Run this command to configure your shell: \n${comment} ${command}\n`;
}

/** One line per variable in the shell's syntax (unset lines first, for `unset`), then the usage hint. */
export function formatEnv(
  vars: ReadonlyArray<readonly [string, string]>,
  shell: Shell,
  opts: HintOptions & { unset?: readonly string[] },
): string {
  const unsets = (opts.unset ?? []).map((name) => {
    checkVariable(name, undefined);
    return `${unsetLine(shell, name)}\n`;
  });
  const lines = vars.map(([name, value]) => {
    checkVariable(name, value);
    return `${setLine(shell, name, value)}\n`;
  });
  return unsets.join("") + lines.join("") + usageHint(shell, opts.commandHint);
}

/** One unset line per variable in the shell's syntax, then the usage hint. */
export function formatUnset(names: readonly string[], shell: Shell, opts: HintOptions): string {
  const lines = names.map((name) => {
    checkVariable(name, undefined);
    return `${unsetLine(shell, name)}\n`;
  });
  return lines.join("") + usageHint(shell, opts.commandHint);
}

/**
 * NO_PROXY with the host's IP appended, unless the comma-separated list already holds it
 * (compared entry by entry; docker-machine's substring test took 10.0.0.1 as present in 10.0.0.10).
 */
export function noProxyValue(existing: string | undefined, hostIp: string): string {
  if (existing === undefined || existing.trim() === "") return hostIp;
  const entries = existing.split(",").map((e) => e.trim());
  if (entries.includes(hostIp)) return existing;
  return existing.endsWith(",") ? `${existing}${hostIp}` : `${existing},${hostIp}`;
}
