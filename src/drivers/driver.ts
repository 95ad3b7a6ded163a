/**
 * Infrastructure drivers: where a host runs. Like libmachine's Driver, minus SSH: the
 * driver creates, starts, stops and removes the machine and reports its state; what runs
 * inside (certificates, engine options, readiness) belongs to the personality.
 */
export type HostState = "Running" | "Paused" | "Stopped" | "Stopping" | "Starting" | "Error" | "Timeout";

export interface MachineState {
  state: HostState;
  /** Why the state is Error/Timeout, or what looks wrong. */
  error?: string;
  /** The host port the TLS port is published on, when the machine runs. */
  port?: number;
}

export interface Driver {
  readonly name: string;
  state(): Promise<MachineState>;
  start(): Promise<void>;
  stop(timeoutSeconds: number): Promise<void>;
  kill(): Promise<void>;
  restart(timeoutSeconds: number): Promise<void>;
  /** Remove the machine; its cache volume too unless keepCache. Missing parts are not an error. */
  remove(options: { keepCache: boolean }): Promise<void>;
}
