/** Step-by-step progress of a long operation; the CLI decides how to show it. */
export interface Progress {
  step(label: string): void;
  done(detail?: string): void;
  warn(message: string): void;
  /** How far the current step is (a terminal shows it in place; elsewhere it is dropped). */
  update?(detail: string): void;
}

export const silentProgress: Progress = {
  step: () => undefined,
  done: () => undefined,
  warn: () => undefined,
};
