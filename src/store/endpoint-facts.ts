import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { writePrivateFile } from "./secure-fs.js";

/**
 * What dinv learned about an endpoint that is costly to learn again: whether the kernel
 * behind it allows privileged containers (a probe starts a container). Kept per endpoint
 * URL and engine version, so an engine upgrade asks again.
 */
const FactsSchema = z.record(
  z.string(),
  z.object({
    engineVersion: z.string(),
    privilege: z.enum(["privileged", "explicit", "none"]),
    checkedAt: z.string(),
  }),
);
export type EndpointFacts = z.infer<typeof FactsSchema>;
export type PrivilegeFact = EndpointFacts[string]["privilege"];

const FILE = "endpoints.json";

function read(root: string): EndpointFacts {
  try {
    return FactsSchema.parse(JSON.parse(readFileSync(join(root, FILE), "utf8")));
  } catch {
    return {}; // missing or unreadable: a cache, so start afresh
  }
}

export function knownPrivilege(root: string, url: string, engineVersion: string): PrivilegeFact | undefined {
  const fact = read(root)[url];
  return fact && fact.engineVersion === engineVersion ? fact.privilege : undefined;
}

export async function rememberPrivilege(
  root: string,
  url: string,
  engineVersion: string,
  privilege: PrivilegeFact,
): Promise<void> {
  const facts = read(root);
  facts[url] = { engineVersion, privilege, checkedAt: new Date().toISOString() };
  await writePrivateFile(join(root, FILE), `${JSON.stringify(facts, null, 2)}\n`);
}
