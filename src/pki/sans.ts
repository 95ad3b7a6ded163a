import { isIP } from "node:net";
import { PkiError } from "../errors.js";

export interface SubjectAltNames {
  dns: string[];
  ips: string[];
}

// RFC 1123 labels; a leading "*." wildcard is allowed for DNS SANs.
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Validate one SAN value; returns whether it is an IP or a DNS name. */
export function classifySan(value: string): "ip" | "dns" {
  const v = value.trim();
  if (isIP(v.replace(/^\[(.*)\]$/, "$1")) !== 0) return "ip";
  // A name whose last label is all digits ("10.0.0.256", "1.2.3") is a mistyped IP, not a host name.
  if (v.length <= 253 && DNS_NAME.test(v) && !/(^|\.)\d+$/.test(v)) return "dns";
  throw new PkiError(`"${value}" is not a valid IP address or DNS name for a certificate`, {
    hint: "give an IP address or a host name such as docker.example.com",
  });
}

/** Split SAN values into IPs and DNS names, validated and deduplicated (IPs canonicalised). */
export function splitSans(values: Iterable<string>): SubjectAltNames {
  const dns = new Map<string, string>();
  const ips = new Set<string>();
  for (const raw of values) {
    const value = raw.trim();
    if (classifySan(value) === "ip") ips.add(canonicalIp(value.replace(/^\[(.*)\]$/, "$1")));
    else dns.set(value.toLowerCase(), value.toLowerCase());
  }
  return { dns: [...dns.values()], ips: [...ips] };
}

function canonicalIp(ip: string): string {
  if (isIP(ip) === 4)
    return ip
      .split(".")
      .map((part) => String(Number(part)))
      .join(".");
  // Let URL do the IPv6 canonical form (zero compression, lower case).
  return new URL(`http://[${ip}]/`).hostname.replace(/^\[(.*)\]$/, "$1");
}
