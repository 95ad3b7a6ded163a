import assert from "node:assert/strict";

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export function assertOk(result: Outcome, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stderr}\n${result.stdout}`);
}

/** One clear line on stderr, exit 1, no stack trace. */
export function assertCleanFailure(result: Pick<Outcome, "code" | "stderr">, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}
