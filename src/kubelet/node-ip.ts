import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { Endpoint } from "../engine/endpoint.js";

/**
 * The address pods of this node are reached at (hostIP, the node's InternalIP): the endpoint's
 * address when it is a remote IP (a VCH), else this machine's first non-internal IPv4 address.
 */
export function defaultNodeIP(endpoint: Endpoint): string {
  if (endpoint.protocol === "tcp" && isIP(endpoint.host) && !endpoint.host.startsWith("127."))
    return endpoint.host;
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (found) return found.address;
  }
  return "127.0.0.1";
}
