/**
 * A per-platform circuit: when GitHub or GitLab is unreachable (no connection, a timeout) or
 * answers 5xx to `failures` requests in a row, further requests of this process fail at once —
 * "GitHub unreachable since …: waiting" — for `cooldownMs`, instead of each job waiting out its own
 * timeouts and retries. After the cool-down one request goes through as a probe: an answer closes
 * the circuit (everything flows again), another failure opens it for another cool-down. Requests
 * that fail fast are not counted as failures (they never reached the platform).
 *
 * The job queue keeps retrying deliveries with its backoff meanwhile: a delivery whose retries all
 * fall within an outage ends `failed` with the circuit's message as its reason, and one retried
 * after the platform came back succeeds.
 *
 * `decide` and `record` are the pure decision (state and time in, state out); `PlatformCircuit`
 * holds the state for one platform in one process.
 */

export interface CircuitLimits {
  /** Consecutive failed requests (unreachable, timeout, 5xx) that open the circuit. */
  failures: number;
  /** How long an open circuit refuses requests before letting one probe through. */
  cooldownMs: number;
}

export const defaultCircuitLimits: CircuitLimits = { failures: 2, cooldownMs: 30_000 };

export type CircuitState =
  | { kind: 'closed'; consecutive: number; firstFailureAt: number | null; lastError: string | null }
  | { kind: 'open'; since: number; until: number; lastError: string }
  | { kind: 'probing'; since: number; lastError: string };

export const closedCircuit: CircuitState = { kind: 'closed', consecutive: 0, firstFailureAt: null, lastError: null };

/** May a request go out now? `probe`: it is the one request after a cool-down. */
export type Admission =
  | { kind: 'pass'; state: CircuitState }
  | { kind: 'probe'; state: CircuitState }
  | { kind: 'refuse'; since: number; until: number | null; lastError: string };

export function decide(state: CircuitState, now: number): Admission {
  switch (state.kind) {
    case 'closed':
      return { kind: 'pass', state };
    case 'open':
      if (now < state.until) return { kind: 'refuse', since: state.since, until: state.until, lastError: state.lastError };
      return { kind: 'probe', state: { kind: 'probing', since: state.since, lastError: state.lastError } };
    case 'probing':
      // Another request waits for the probe's outcome.
      return { kind: 'refuse', since: state.since, until: null, lastError: state.lastError };
  }
}

/** The outcome of a request that went out: `null` for an answer (below 500), else what went wrong. */
export function record(state: CircuitState, failure: string | null, now: number, limits: CircuitLimits): CircuitState {
  if (failure === null) return closedCircuit;
  if (state.kind === 'closed') {
    const consecutive = state.consecutive + 1;
    const since = state.firstFailureAt ?? now;
    if (consecutive >= limits.failures) return { kind: 'open', since, until: now + limits.cooldownMs, lastError: failure };
    return { kind: 'closed', consecutive, firstFailureAt: since, lastError: failure };
  }
  // The probe (or a request sent before the circuit opened) failed: another cool-down.
  return { kind: 'open', since: state.since, until: now + limits.cooldownMs, lastError: failure };
}

/** A request refused while the circuit is open: the platform is known to be unreachable. */
export class PlatformUnreachable extends Error {
  override name = 'PlatformUnreachable';
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class PlatformCircuit {
  readonly platform: string;
  readonly limits: CircuitLimits;
  readonly #now: () => number;
  #state: CircuitState = closedCircuit;
  #onChange: ((state: CircuitState) => void) | undefined;

  constructor(
    platform: string,
    limits: Partial<CircuitLimits> = {},
    now: () => number = Date.now,
    onChange?: (state: CircuitState) => void,
  ) {
    this.platform = platform;
    this.limits = { ...defaultCircuitLimits, ...limits };
    this.#now = now;
    this.#onChange = onChange;
  }

  /** True while requests are refused (open, or waiting for a probe's outcome). */
  get refusing(): boolean {
    return decide(this.#state, this.#now()).kind === 'refuse';
  }

  /**
   * Admits a request or throws `PlatformUnreachable`. Call `succeeded`/`failed` with the outcome
   * of an admitted request (or `abandoned` when it ended without one, e.g. cancelled by its caller).
   */
  admit(): void {
    const a = decide(this.#state, this.#now());
    if (a.kind === 'refuse') {
      const wait = a.until === null ? 'waiting for a probe request' : `waiting until ${iso(a.until)}`;
      throw new PlatformUnreachable(`${this.platform} unreachable since ${iso(a.since)} (${a.lastError}): ${wait} before trying again`);
    }
    this.#set(a.state);
  }

  succeeded(): void {
    this.#set(record(this.#state, null, this.#now(), this.limits));
  }

  failed(reason: string): void {
    this.#set(record(this.#state, reason, this.#now(), this.limits));
  }

  /** An admitted request ended without an outcome: a probe in flight lets the next request probe. */
  abandoned(): void {
    if (this.#state.kind === 'probing')
      this.#set({ kind: 'open', since: this.#state.since, until: this.#now(), lastError: this.#state.lastError });
  }

  #set(next: CircuitState): void {
    const changed = next.kind !== this.#state.kind;
    this.#state = next;
    if (changed) this.#onChange?.(next);
  }
}
