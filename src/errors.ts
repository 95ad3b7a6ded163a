/**
 * Typed errors at the boundaries. A DinvError is an expected failure: the CLI prints
 * its message (and hint) on one line and exits 1, without a stack trace.
 * Anything else reaching the top level is a bug and is shown in full only with --debug.
 */
export class DinvError extends Error {
  /** What the user can do about it, appended to the message. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }

  /** The one line shown to the user. */
  get userMessage(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message;
  }
}

/** The endpoint (flag, environment, context) could not be understood or reached. */
export class EndpointError extends DinvError {}

/** Certificate or key material is missing, unreadable or invalid. */
export class PkiError extends DinvError {}

/** The engine answered with an error or not at all. */
export class EngineError extends DinvError {}

export function errorMessage(err: unknown): string {
  if (err instanceof DinvError) return err.userMessage;
  if (err instanceof Error) return err.message;
  return String(err);
}
