import { EndpointError } from "../errors.js";

/** Paths of the TLS material used to reach an endpoint. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  /** Verify the server certificate against `ca` (docker's --tlsverify). */
  verify: boolean;
}

export type EndpointSource = "flag" | "env" | "context" | "default";

/** A Docker API endpoint, parsed and normalised. */
export type Endpoint = {
  /** Normalised URL: unix:///path or tcp://host:port. */
  url: string;
  source: EndpointSource;
  /** The Docker CLI context it came from, when source is "context". */
  context?: string;
} & (
  { protocol: "unix"; socketPath: string } | { protocol: "tcp"; host: string; port: number; tls?: TlsFiles }
);

export const DEFAULT_SOCKET = "/var/run/docker.sock";
const URL_HINT = "use unix:///path/to/docker.sock or tcp://HOST:PORT";

/**
 * Parse a Docker host URL as the docker CLI accepts it (unix://, tcp://, and https://
 * as an alias for TLS on tcp). `what` names where it came from, for the error message.
 */
export function parseHostUrl(raw: string, what: string): ParsedHostUrl {
  return parse(raw.trim(), what, raw);
}

export type ParsedHostUrl =
  | { protocol: "unix"; socketPath: string; url: string }
  | { protocol: "tcp"; host: string; port: number; url: string; https: boolean };

/** `given` is the value as the user wrote it, for error messages. */
function parse(value: string, what: string, given: string): ParsedHostUrl {
  const fail = (why: string): never => {
    throw new EndpointError(`${what} "${given}" is not a valid Docker endpoint (${why})`, { hint: URL_HINT });
  };
  if (value === "") fail("empty");
  // Like the docker CLI, a bare HOST:PORT means tcp:// (VIC's vic-machine prints DOCKER_HOST that way).
  if (!value.includes("://")) {
    if (value.includes("/")) fail("no scheme");
    return parse(`tcp://${value}`, what, given);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) fail("no scheme");
  if (scheme === "unix") {
    const socketPath = value.slice("unix://".length);
    if (!socketPath.startsWith("/")) fail("the socket path must be absolute");
    return { protocol: "unix", socketPath, url: `unix://${socketPath}` };
  }
  if (scheme === "ssh" || scheme === "npipe" || scheme === "fd") {
    fail(`${scheme}:// endpoints are not supported; expose the API on a TLS port instead`);
  }
  if (scheme !== "tcp" && scheme !== "http" && scheme !== "https") fail(`unknown scheme ${scheme}://`);
  // Check host and port by hand first: URL's own refusal would not say which part is wrong.
  const authority = /^[a-z]+:\/\/(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/i.exec(value);
  if (authority?.[1] === "") fail("no host");
  const portText = authority?.[2];
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) fail(`bad port "${portText}"`);
  const https = scheme === "https";
  // Not URL's port: parsed as http:, it would drop an explicit :80.
  const port = portText === undefined ? (https ? 2376 : 2375) : Number(portText);
  if (port < 1 || port > 65535) fail(`bad port "${portText}"`);
  let parsed: URL;
  try {
    parsed = new URL(value.replace(/^[a-z]+:/i, "http:"));
  } catch {
    return fail("cannot parse host and port");
  }
  if (parsed.hostname === "") fail("no host");
  if (parsed.pathname !== "/" && parsed.pathname !== "") fail("a path is not allowed");
  if (parsed.username || parsed.password || parsed.search || parsed.hash) fail("unexpected URL parts");
  // URL keeps IPv6 hosts in brackets; keep them for the URL, strip them for connecting.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return { protocol: "tcp", host, port, url: `tcp://${parsed.hostname}:${port}`, https };
}
