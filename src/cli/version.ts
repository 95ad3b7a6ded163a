import { readFileSync } from "node:fs";

/** Set by the bundle (scripts/bundle.mjs); undefined when running the tsc output. */
declare const DINV_VERSION: string | undefined;

let cached: string | undefined;

/** The version in package.json (read once; dist/src/cli/ is three levels below the root). */
export function packageVersion(): string {
  if (typeof DINV_VERSION === "string") return DINV_VERSION;
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    cached = pkg.version;
  }
  return cached;
}

/** What `dinv version` prints. */
export function versionLine(): string {
  return `dinv version ${packageVersion()}`;
}
