/** Query parameters of the kubelet API, parsed and validated as a kubelet does (400 on nonsense). */
import type { ContainerLogOptions, StreamOptions } from "../provider-api.js";

export class BadRequest extends Error {}

/** Go's strconv.ParseBool, which the API machinery uses for query booleans. */
export function parseBool(name: string, value: string | null, fallback = false): boolean {
  if (value === null) return fallback;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False", ""].includes(value)) return false;
  throw new BadRequest(`${name}: invalid boolean "${value}"`);
}

function integer(q: URLSearchParams, name: string, min: number): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min)
    throw new BadRequest(`${name} must be an integer of at least ${min}, not "${raw}"`);
  return n;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function logOptions(q: URLSearchParams): ContainerLogOptions {
  const sinceSeconds = integer(q, "sinceSeconds", 1);
  const sinceTime = q.get("sinceTime") ?? undefined;
  if (sinceTime !== undefined && (!RFC3339.test(sinceTime) || Number.isNaN(Date.parse(sinceTime))))
    throw new BadRequest(`sinceTime must be an RFC 3339 time, not "${sinceTime}"`);
  if (sinceSeconds !== undefined && sinceTime !== undefined)
    throw new BadRequest("at most one of sinceTime or sinceSeconds may be specified");
  const tailLines = integer(q, "tailLines", 0);
  const limitBytes = integer(q, "limitBytes", 1);
  return {
    follow: parseBool("follow", q.get("follow")),
    timestamps: parseBool("timestamps", q.get("timestamps")),
    previous: parseBool("previous", q.get("previous")),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined ? { sinceTime } : {}),
  };
}

/** exec/attach stream flags: a tty merges stderr into stdout, and at least one stream is needed. */
export function streamOptions(q: URLSearchParams): StreamOptions {
  const tty = parseBool("tty", q.get("tty"));
  const options = {
    stdin: parseBool("stdin", q.get("stdin") ?? q.get("input")),
    stdout: parseBool("stdout", q.get("stdout") ?? q.get("output")),
    stderr: parseBool("stderr", q.get("stderr") ?? q.get("error")) && !tty,
    tty,
  };
  if (!options.stdin && !options.stdout && !options.stderr)
    throw new BadRequest("you must specify at least 1 of stdin, stdout, stderr");
  return options;
}

/** The exec command: repeated `command` parameters. */
export function execCommand(q: URLSearchParams): string[] {
  const command = q.getAll("command");
  if (command.length === 0 || command[0] === "") throw new BadRequest("command is required");
  return command;
}

/** The /run command: `cmd` split on whitespace (the kubelet's form), else repeated `command`. */
export function runCommand(q: URLSearchParams): string[] {
  const cmd = q.get("cmd");
  if (cmd !== null) {
    const words = cmd.split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) throw new BadRequest("cmd is empty");
    return words;
  }
  return execCommand(q);
}

/** A port number 1–65535 written in decimal; undefined for anything else. */
export function parsePort(text: string | null | undefined): number | undefined {
  if (!text || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** A channel number is one byte and every port takes two: 2 × 128 channels. */
const MAX_FORWARDED_PORTS = 128;

/** WebSocket port-forward's ports: repeated and/or comma-separated `ports` parameters. */
export function forwardPorts(q: URLSearchParams): number[] {
  const values = q.getAll("ports");
  if (values.length === 0) throw new BadRequest('query parameter "ports" is required');
  const ports = values.flatMap((value) =>
    value.split(",").map((text) => {
      const port = parsePort(text.trim());
      if (port === undefined) throw new BadRequest(`unable to parse "${text}" as a port (1-65535)`);
      return port;
    }),
  );
  if (ports.length > MAX_FORWARDED_PORTS)
    throw new BadRequest(`at most ${MAX_FORWARDED_PORTS} ports may be forwarded over one connection`);
  return ports;
}
