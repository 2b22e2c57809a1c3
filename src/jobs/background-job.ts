/**
 * Gatehouse's background work besides deliveries: clock firings, escalation notices, digests and
 * exception reminders each run as a BackgroundJob — a run now and every interval, a run on demand
 * (`wake`, `wakeIn`), never two runs at once in a process, and, for the two that work through rows
 * (clocks, notices), rows claimed under a lease (storage/leases.ts) so that replicas share them and
 * a dead worker's rows come back.
 *
 * Decision (issue 22): one job mechanism — a lease on the row that holds the work's state — for
 * all of Gatehouse's work, no job library. What each kind of work does is decided by rows it owns
 * and must keep: an issue's clocks with their next due moment in business time, a notice with its
 * revision, Slack message and acknowledgement, a channel's next free send slot, a delivery with its
 * status, attempts and last error. A job kept apart from its row (a job library's table) keeps
 * that state twice and makes the two be reconciled by hand (the delivery path used to: a delivery
 * pending in its table and its job in pg-boss's, written in one transaction, a failure's last word
 * carried from one to the other by a dead-letter queue), and writes a second row for every one of
 * the 100,000 open clocks on each change. A lease on the row itself (`for update skip locked`,
 * `claimed_until`) is one statement, gives replicas what a job library's fetch gives them, keeps
 * working on the embedded database (one process), and leaves one place to look. Deliveries and
 * gate re-evaluations run on it too (storage/queue.ts), with worker slots and leases renewed while
 * a job runs; clocks and notices, on the application's clock (`now`, which tests and the policy's
 * calendar set), here.
 */

export interface BackgroundJobOptions<T> {
  /** One run: claims what is due, acts on it, and says what it did. */
  run: () => Promise<T>;
  /** Called with a run's error when a timer or `wake` (not a caller) started it. */
  onError: (err: unknown) => void;
  /**
   * Only this process works these rows (the embedded database, locked to one process): before the
   * first run, leases found are a dead run's and are given up rather than waited out.
   */
  releaseLeases?: () => Promise<number>;
  /** Told how many leases `releaseLeases` gave up (when any). */
  onReleased?: (n: number) => void;
}

export class BackgroundJob<T> {
  #interval: NodeJS.Timeout | null = null;
  #intervalMs = Infinity;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #running: Promise<T> | null = null;
  #again = false;
  #stopped = false;
  #released: Promise<void> | null = null;

  constructor(private readonly opts: BackgroundJobOptions<T>) {}

  /** Runs now (what was missed while down is handled at once), then every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    this.#stopped = false;
    this.#intervalMs = intervalMs;
    this.wake();
    this.#interval = setInterval(() => this.wake(), intervalMs);
    this.#interval.unref();
  }

  /** Stops the timers and waits for a run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#interval) clearInterval(this.#interval);
    if (this.#timer) clearTimeout(this.#timer);
    this.#interval = this.#timer = null;
    this.#timerAt = Infinity;
    await this.#running?.catch(() => undefined);
  }

  /** Runs now, or right after the run under way (which may have missed what woke it). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.run().catch(this.opts.onError);
  }

  /**
   * Runs in `ms` (something falls due then), once started; only the earliest such wake-up is kept,
   * and none at or beyond the next interval's run (which comes anyway; and a timer of over 24.8 days
   * would fire at once).
   */
  wakeIn(ms: number): void {
    if (this.#stopped || !this.#interval || ms >= this.#intervalMs) return;
    const at = Date.now() + Math.max(0, ms);
    if (at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#timerAt = Infinity;
        this.wake();
      },
      Math.max(0, ms),
    );
    this.#timer.unref();
  }

  /** start() was called (and not stop()): timers run the job. */
  get started(): boolean {
    return this.#interval !== null;
  }

  /** stop() was called: a run under way finishes what it holds and takes nothing more. */
  get stopping(): boolean {
    return this.#stopped;
  }

  /** One run; a call while one is under way shares it. */
  run(): Promise<T> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  async #run(): Promise<T> {
    if (this.opts.releaseLeases) {
      const release = this.opts.releaseLeases;
      this.#released ??= release().then((n) => {
        if (n > 0) this.opts.onReleased?.(n);
      });
      // A failed release is tried again at the next run (the leases then run out on their own).
      await this.#released.catch((err: unknown) => {
        this.#released = null;
        throw err;
      });
    }
    return this.opts.run();
  }
}
