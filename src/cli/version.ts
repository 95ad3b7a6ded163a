import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The version in package.json (read once; dist/src/cli/ is three levels below the root). */
export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    cached = pkg.version;
  }
  return cached;
}
