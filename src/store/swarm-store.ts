/**
 * Swarms in the store: `swarms/NAME/config.json` (which hosts are its nodes, in which role, on
 * which endpoints and networks) and `swarms/NAME/tokens.json` (the join tokens). Both 0600 in
 * 0700 folders; the tokens are never written anywhere else (not in config.json, not in logs).
 * The nodes themselves are ordinary hosts under `hosts/`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { en } from "zod/v4/locales";
import { DinvError } from "../errors.js";
import { validateHostName } from "./names.js";
import {
  ensurePrivateDir,
  readPrivateFile,
  storeFsError,
  StoreError,
  writePrivateFile,
} from "./secure-fs.js";

z.config(en());

export const SWARM_CONFIG_VERSION = 1;

const NonEmpty = () => z.string().check(z.minLength(1));

export const SwarmConfigSchema = z.object({
  version: z.literal(SWARM_CONFIG_VERSION),
  name: NonEmpty(),
  createdAt: z.string(),
  /** Swarm's default address pool for overlay networks (ingress included) and their subnet size. */
  addrPool: NonEmpty(),
  subnetSize: z.number(),
  /** The endpoints the nodes are spread over, each with the container network its nodes share. */
  endpoints: z.array(
    z.object({
      url: NonEmpty(),
      network: NonEmpty(),
      /** Whether dinv made that network (and removes it with the swarm). */
      madeByDinv: z.boolean(),
      /**
       * Nodes there get fixed addresses (host/swarm/node-addresses.ts) on a network dinv made with
       * its subnet given; absent in records of swarms made before, whose networks may refuse them.
       */
      fixedAddresses: z.optional(z.boolean()),
    }),
  ),
  /** The registry-cache host the nodes pull through, if any. */
  registryCache: z.optional(NonEmpty()),
  /** The highest node number given per role (host/swarm/node-names.ts: numbers are never reused). */
  lastIndex: z.optional(z.object({ manager: z.number(), worker: z.number() })),
  /** Nodes in the order they were added; each is a host of the store. */
  nodes: z.array(z.object({ host: NonEmpty(), role: z.enum(["manager", "worker"]) })),
});

export type SwarmConfig = z.infer<typeof SwarmConfigSchema>;
export type SwarmRole = SwarmConfig["nodes"][number]["role"];

const TokensSchema = z.object({ worker: NonEmpty(), manager: NonEmpty() });
export type JoinTokens = z.infer<typeof TokensSchema>;

export class SwarmNotFoundError extends DinvError {
  constructor(name: string) {
    super(`Swarm "${name}" does not exist`, { hint: "see `dinv swarm ls`" });
  }
}

export class SwarmExistsError extends DinvError {
  constructor(name: string) {
    super(`Swarm "${name}" already exists`, { hint: "pick another name, or remove it with `dinv swarm rm`" });
  }
}

/** The swarms of a store rooted at `root` (the host store's root). */
export class SwarmStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, "swarms");
  }

  swarmDir(name: string): string {
    return join(this.dir, validateHostName(name));
  }

  exists(name: string): boolean {
    return existsSync(this.swarmDir(name));
  }

  /** Reserve a name: exactly one of several concurrent creates wins the non-recursive mkdir. */
  claim(name: string): void {
    const dir = this.swarmDir(name);
    ensurePrivateDir(this.dir);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new SwarmExistsError(name);
      throw storeFsError(err, "create the swarm folder", dir, { unchanged: true });
    }
  }

  load(name: string): SwarmConfig {
    const dir = this.swarmDir(name);
    if (!existsSync(dir)) throw new SwarmNotFoundError(name);
    const file = join(dir, "config.json");
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new StoreError(`cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
        hint: `remove the swarm with \`dinv swarm rm -f ${name}\``,
      });
    }
    const parsed = SwarmConfigSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StoreError(
        `${file} is not a swarm configuration (${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""})`,
      );
    }
    return parsed.data;
  }

  async save(config: SwarmConfig): Promise<void> {
    const checked = SwarmConfigSchema.parse(config);
    await writePrivateFile(
      join(this.swarmDir(config.name), "config.json"),
      `${JSON.stringify(checked, null, 2)}\n`,
    );
  }

  async saveTokens(name: string, tokens: JoinTokens): Promise<void> {
    await writePrivateFile(
      join(this.swarmDir(name), "tokens.json"),
      `${JSON.stringify(TokensSchema.parse(tokens))}\n`,
    );
  }

  tokens(name: string): JoinTokens {
    const file = join(this.swarmDir(name), "tokens.json");
    const parsed = TokensSchema.safeParse(
      JSON.parse(readPrivateFile(file, `remove the swarm with \`dinv swarm rm -f ${name}\``)),
    );
    if (!parsed.success) throw new StoreError(`${file} holds no join tokens`);
    return parsed.data;
  }

  /** Names of the stored swarms, sorted. */
  list(): string[] {
    if (!existsSync(this.dir)) return [];
    try {
      return readdirSync(this.dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith("."))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      throw storeFsError(err, "list", this.dir);
    }
  }

  remove(name: string): void {
    const dir = this.swarmDir(name);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw storeFsError(err, "remove", dir);
    }
  }
}
