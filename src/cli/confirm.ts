import { DinvError } from "../errors.js";

/**
 * Ask on the terminal before removing (docker-machine's `rm` does); `-y` or `-f` skip it. Off a
 * terminal nothing is removed without one of them: a script must say so.
 */
export async function confirmRemoval(what: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new DinvError("refusing to remove without confirmation", {
      hint: "pass -y (or -f) when not on a terminal",
    });
  }
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${what} Are you sure? (y/n): `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new DinvError("removal cancelled");
}
