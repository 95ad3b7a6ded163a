import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { writePrivateFile } from "./secure-fs.js";

/**
 * What dinv learned about an endpoint that is costly to learn again (probes start containers):
 * whether the kernel behind it allows privileged containers, and the per-container limits
 * containers need there (null: the engine's defaults start). Kept per endpoint URL and engine
 * version, so an engine upgrade asks again.
 */
export const UlimitsSchema = z.object({
  nofile: z.int().check(z.positive()),
  nproc: z.int().check(z.positive()),
});
const FactSchema = z.object({
  engineVersion: z.string(),
  privilege: z.enum(["privileged", "explicit", "none"]),
  /** Absent in files written before limits were probed: unknown, so probed again. */
  ulimits: z.optional(z.nullable(UlimitsSchema)),
  checkedAt: z.string(),
});
const FactsSchema = z.record(z.string(), FactSchema);
export type EndpointFacts = z.infer<typeof FactsSchema>;
export type PrivilegeFact = EndpointFacts[string]["privilege"];
/** How containers run on an endpoint: rights for a nested engine and limits (none: the engine's). */
export interface RuntimeFact {
  privilege: PrivilegeFact;
  ulimits?: z.infer<typeof UlimitsSchema>;
}

const FILE = "endpoints.json";

function read(root: string): EndpointFacts {
  try {
    return FactsSchema.parse(JSON.parse(readFileSync(join(root, FILE), "utf8")));
  } catch {
    return {}; // missing or unreadable: a cache, so start afresh
  }
}

export function knownRuntime(root: string, url: string, engineVersion: string): RuntimeFact | undefined {
  const fact = read(root)[url];
  if (!fact || fact.engineVersion !== engineVersion || fact.ulimits === undefined) return undefined;
  return { privilege: fact.privilege, ...(fact.ulimits ? { ulimits: fact.ulimits } : {}) };
}

export async function rememberRuntime(
  root: string,
  url: string,
  engineVersion: string,
  runtime: RuntimeFact,
): Promise<void> {
  const facts = read(root);
  facts[url] = {
    engineVersion,
    privilege: runtime.privilege,
    ulimits: runtime.ulimits ?? null,
    checkedAt: new Date().toISOString(),
  };
  await writePrivateFile(join(root, FILE), `${JSON.stringify(facts, null, 2)}\n`);
}
