/**
 * A job that runs now and then every interval, never two runs at once: what the clock scheduler,
 * the digest scheduler and the exception reminders share. `run()` is also what tests call.
 */
export class Periodic<T> {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<T> | null = null;

  constructor(
    private readonly job: () => Promise<T>,
    /** Called with a run's error when the timer (not a caller) started it. */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs now, then every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    const tick = (): void => {
      this.run().catch(this.onError);
    };
    tick();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }

  /** One run; a call while one is under way shares it. */
  run(): Promise<T> {
    this.#running ??= this.job().finally(() => (this.#running = null));
    return this.#running;
  }
}
