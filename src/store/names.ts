import { DinvError } from "../errors.js";

/** docker-machine's rule for host names, capped at 63 characters (one DNS label). */
const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;
export const MAX_HOST_NAME = 63;

/** Personality names: lower case, as they name folders of the store and container labels. */
export const PERSONALITY_NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/;

export class InvalidNameError extends DinvError {}

export function validateHostName(name: string): string {
  const rule = "names start with a letter or digit and use only letters, digits, '.' and '-'";
  if (name.length === 0) throw new InvalidNameError("host name is empty", { hint: rule });
  if (name.length > MAX_HOST_NAME) {
    throw new InvalidNameError(`host name is ${name.length} characters long`, {
      hint: `at most ${MAX_HOST_NAME}`,
    });
  }
  if (!HOST_NAME.test(name) || name.includes("..")) {
    throw new InvalidNameError(`invalid host name "${printable(name)}"`, { hint: rule });
  }
  return name;
}

/** Show control and non-ASCII characters escaped, so a hostile name cannot garble the terminal. */
function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, (c) => `\\u{${c.codePointAt(0)?.toString(16)}}`);
}
