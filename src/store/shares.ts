/**
 * A host's record of shared access (`dinv share`): one entry per share, in the host folder
 * (shares.json, 0600). Each share has a CA of its own whose only certificate went to its person
 * (its key was never stored); the host's engine trusts the store's CA plus the CAs of the shares
 * that are neither revoked nor expired, so a revoke drops exactly one CA from that bundle.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { StoreError, writePrivateFile } from "./secure-fs.js";

export const SHARES_FILE = "shares.json";

const ShareSchema = z.object({
  id: z.string().check(z.minLength(1)),
  person: z.string().check(z.minLength(1)),
  createdAt: z.string(),
  notAfter: z.string(),
  /** The share's own CA certificate (public): what the host's engine trusts for it. */
  caPem: z.string().check(z.minLength(1)),
  revokedAt: z.optional(z.string()),
});

const SharesSchema = z.object({ shares: z.array(ShareSchema) });

export type Share = z.infer<typeof ShareSchema>;

export type ShareState = "active" | "expired" | "revoked";

export function shareState(share: Share, now = Date.now()): ShareState {
  if (share.revokedAt) return "revoked";
  return Date.parse(share.notAfter) <= now ? "expired" : "active";
}

export function readShares(hostDir: string): Share[] {
  const file = join(hostDir, SHARES_FILE);
  if (!existsSync(file)) return [];
  try {
    return SharesSchema.parse(JSON.parse(readFileSync(file, "utf8"))).shares;
  } catch (err) {
    throw new StoreError(`${file} is damaged: ${(err as Error).message}`, {
      cause: err,
      hint: "fix or remove it (removing it ends every share at the host's next provisioning)",
    });
  }
}

export async function writeShares(hostDir: string, shares: Share[]): Promise<void> {
  await writePrivateFile(join(hostDir, SHARES_FILE), `${JSON.stringify({ shares }, null, 2)}\n`);
}

/** The CA certificates of the shares the host's engine should accept now. */
export function activeShareCas(hostDir: string): string[] {
  return readShares(hostDir)
    .filter((share) => shareState(share) === "active")
    .map((share) => share.caPem);
}
