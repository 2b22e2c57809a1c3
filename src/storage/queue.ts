/**
 * The JobQueue and GateEvaluations ports on row leases, the mechanism clocks and escalation notices
 * use (storage/leases.ts): a delivery's job is its row in `deliveries`, a gate re-evaluation its row
 * in `gate_evaluations` (./queue-rows.ts). A worker claims due rows (`for update skip locked`:
 * replicas never take one row twice) under a lease it renews while the job runs, so a dead
 * replica's rows come back once their lease runs out (that run counted as a failed attempt); a
 * failed attempt is the same row due again later (backoff), and failed after the last retry.
 */
import type { Kysely } from 'kysely';
import type { DeliveryJob, GateEvaluationJob, GateEvaluations, JobQueue } from '../ports/queue.ts';
import { HandedBack, runInSlot } from '../ports/work-slot.ts';
import { yieldToRequests } from '../ports/yield.ts';
import { DeliveryRows, EvaluationRows, LEASE_RAN_OUT, type Claimed, type DeliveryJobState, type LeasedRows } from './queue-rows.ts';
import type { Database } from './schema.ts';
import { JobSlot, settlesWithin, Slots, TimedOut, Waker, withTimeout, type SlotHost } from './work-slots.ts';

export { evaluationKey } from './queue-rows.ts';
export type { DeliveryJobState } from './queue-rows.ts';

export interface QueueLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface QueueOptions {
  /** Retries after the first attempt. Default 5. */
  retryLimit?: number;
  /** Seconds before a retry. Default 2. */
  retryDelaySeconds?: number;
  /** Exponential backoff with jitter: delay·2^n/2 … delay·2^n before the n-th retry. Default true. */
  retryBackoff?: boolean;
  /**
   * A handler running longer has its attempt counted as failed. It cannot be cancelled: its row
   * stays leased (no retry runs beside it) until it ends, for at most as long again, then is let go.
   * Default 600.
   */
  expireInSeconds?: number;
  /** How often an idle worker looks for due rows (other replicas' and due retries). Default 1000. */
  pollIntervalMs?: number;
  /** Jobs handled at once by this process. Default 16. */
  concurrency?: number;
  /** Gate re-evaluations handled at once by this process (slots of their own). Default 4. */
  evaluationConcurrency?: number;
  /**
   * A job waiting for a write turn or a `Retry-After` this long or less gives its slot back and is
   * resumed when due (parked); a longer wait hands the job back to the queue, to start again then
   * (not a failed attempt). Default 10000.
   */
  parkUpToMs?: number;
  /** Jobs parked in memory at once, beyond which waiting jobs are handed back. Default 128. */
  maxParked?: number;
  /**
   * How long stop() waits for running handlers before leaving their jobs to their leases (taken
   * again when they run out, the cut-short run counted as a failed attempt). Default 3000.
   */
  stopTimeoutMs?: number;
  /**
   * The lease on a running job, renewed every third of it while the job runs: a replica that dies
   * leaves its jobs to be taken again within this long (plus a poll). Default 15.
   */
  leaseSeconds?: number;
  /**
   * Only this process works the queue (the embedded database, locked to one process): leases found
   * at start are a dead run's and are given up at once. Default false.
   */
  soleWorker?: boolean;
  /** How often a process working gate re-evaluations removes those that failed over two weeks ago (also at start). Default 3600000. */
  pruneIntervalMs?: number;
}

type Options = Required<QueueOptions>;

/** The queue's settings as this process runs them when none are given. */
export const defaultQueueOptions: Readonly<Options> = {
  retryLimit: 5,
  retryDelaySeconds: 2,
  retryBackoff: true,
  expireInSeconds: 600,
  pollIntervalMs: 1000,
  // Jobs wait on GitHub/GitLab far more than they compute. A job waiting for its write turn (GitHub
  // spaces writes ~1 s apart per installation) does not hold a slot: see `parkUpToMs`.
  concurrency: 16,
  evaluationConcurrency: 4,
  parkUpToMs: 10_000,
  maxParked: 128,
  stopTimeoutMs: 3_000,
  leaseSeconds: 15,
  soleWorker: false,
  pruneIntervalMs: 3_600_000,
};

/** Seconds before the n-th retry (n = 1…retryLimit): `delay·2^n/2·(1 + random)` with backoff, `delay` without. */
export function retryDelaySeconds(o: Pick<Options, 'retryDelaySeconds' | 'retryBackoff'>, n: number): number {
  if (!o.retryBackoff) return o.retryDelaySeconds;
  const most = o.retryDelaySeconds * 2 ** Math.min(16, n);
  return (most / 2) * (1 + Math.random());
}

/** Hand-backs of one attempt, beyond which a wait counts as a failed attempt (a rate limit answered again and again). */
export const MAX_HAND_BACKS = 20;

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

type Handler = (job: DeliveryJob) => Promise<void>;
type EvaluationHandler = (job: GateEvaluationJob) => Promise<void>;
type DeadLetterHandler = (job: DeliveryJob, error: string) => Promise<void>;

/** What a kind of job (deliveries, gate evaluations) reports of its runs. */
interface Kind<T> {
  what: string;
  rows: LeasedRows<T>;
  slots: Slots;
  waker: Waker;
  concurrency: number;
  /** A failed attempt (`last`: the row is failed now). */
  failed(job: T, attempt: number, error: string, last: boolean): Promise<void>;
}

export class LeaseQueue implements JobQueue, GateEvaluations {
  readonly #opts: Options;
  readonly #log: QueueLogger | undefined;
  readonly #deliveries: DeliveryRows;
  readonly #evaluations: EvaluationRows;
  readonly #waker = new Waker();
  readonly #evaluationWaker = new Waker();
  /** Timers that wake a claim loop when a row it put off falls due. */
  readonly #dueTimers = new Set<NodeJS.Timeout>();
  readonly #loops: Promise<void>[] = [];
  #working = false;
  #evaluating = false;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  /** Claims of the jobs running (or parked) here: their leases are renewed. */
  readonly #held = new Map<string, LeasedRows<unknown>>();
  #heartbeat: NodeJS.Timeout | null = null;
  #pruning: NodeJS.Timeout | null = null;
  #renewing: Promise<void> | null = null;
  readonly #slots: Slots;
  readonly #evaluationSlots: Slots;
  /** Jobs started and not yet ended (running or parked). */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #host: SlotHost;
  readonly #signalStop: () => void;
  #handedBack = 0;

  private constructor(db: Kysely<Database>, opts: Options, log: QueueLogger | undefined) {
    this.#opts = opts;
    this.#log = log;
    this.#deliveries = new DeliveryRows(db);
    this.#evaluations = new EvaluationRows(db);
    this.#slots = new Slots(Math.max(1, opts.concurrency));
    this.#evaluationSlots = new Slots(Math.max(1, opts.evaluationConcurrency));
    let signal!: () => void;
    const stopped = new Promise<void>((resolve) => (signal = resolve));
    this.#signalStop = signal;
    const isStopping = (): boolean => this.#stopping;
    this.#host = {
      parkUpToMs: opts.parkUpToMs,
      maxParked: opts.maxParked,
      parked: 0,
      get stopping() {
        return isStopping();
      },
      stopped,
    };
  }

  /** The queue on `db` (migrated); with `soleWorker`, leases left by a previous run are given up. */
  static async start(db: Kysely<Database>, options: QueueOptions = {}, log?: QueueLogger): Promise<LeaseQueue> {
    const opts: Options = { ...defaultQueueOptions, ...definedOnly(options) };
    const q = new LeaseQueue(db, opts, log);
    await q.#evaluations.prune();
    if (opts.soleWorker) {
      const deliveries = await q.#deliveries.releaseAll();
      const evaluations = await q.#evaluations.releaseAll();
      if (deliveries + evaluations > 0)
        log?.warn(
          { deliveries, evaluations },
          'jobs left running by a previous run were given up; they run again now (one failed attempt each)',
        );
    }
    return q;
  }

  /** Jobs parked now (waiting for a write turn or a `Retry-After` without a slot), and jobs handed back since the start. */
  get pacing(): { parked: number; handedBack: number } {
    return { parked: this.#host.parked, handedBack: this.#handedBack };
  }

  /**
   * Queues a stored pending delivery that is not queued (one kept while its platform was off);
   * idempotent: a delivery waiting or running is left alone, as is one handled or failed. A new
   * delivery is queued as it is stored (its row is its job).
   */
  async enqueue(job: DeliveryJob): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    if (await this.#deliveries.queue(job)) this.#waker.wake();
  }

  /** As `enqueue`. (A failed delivery is set back to pending and due by `Store.retryDelivery`, one update.) */
  requeue(job: DeliveryJob): Promise<void> {
    return this.enqueue(job);
  }

  /** Deliveries were stored (and so queued) outside `enqueue`: the claim loop looks now. */
  jobsAdded(): void {
    this.#waker.wake();
  }

  async depth(): Promise<number> {
    return this.#deliveries.depth();
  }

  /** Where a delivery's job stands (for tests and diagnostics): null when it has none. */
  jobState(job: DeliveryJob): Promise<DeliveryJobState | null> {
    return this.#deliveries.state(job);
  }

  /**
   * Starts running deliveries. A failed attempt is logged and retried with backoff; the last one
   * marks the row failed with its error (the same update), then `onDeadLetter` is told.
   */
  async work(handler: Handler, onDeadLetter: DeadLetterHandler): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    if (this.#working) throw new Error('work() was already called');
    this.#working = true;
    const kind: Kind<DeliveryJob> = {
      what: 'delivery',
      rows: this.#deliveries,
      slots: this.#slots,
      waker: this.#waker,
      concurrency: this.#opts.concurrency,
      failed: async (job, attempt, error, last) => {
        this.#log?.warn({ ...job, attempt, last, error }, 'job failed');
        if (last) await onDeadLetter(job, error);
      },
    };
    this.#startHeartbeat();
    this.#loops.push(this.#loop(kind, handler));
  }

  /**
   * A gate re-evaluation `delayMs` from now, keyed by repository and commit: while one with the
   * same key waits to start, this call joins it (nothing is written). A running or retrying
   * evaluation does not count as waiting, so a conclusion that arrives while one runs gets an
   * evaluation of its own.
   */
  async schedule(job: GateEvaluationJob, delayMs: number): Promise<boolean> {
    if (this.#stopping) throw new Error('job queue is stopped');
    const scheduled = await this.#evaluations.schedule(job, delayMs);
    if (scheduled) this.#wakeIn(this.#evaluationWaker, delayMs);
    return scheduled;
  }

  /** Starts running gate re-evaluations (failures are retried like deliveries; the last one is logged and kept as failed). */
  async workEvaluations(handler: EvaluationHandler): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    if (this.#evaluating) throw new Error('workEvaluations() was already called');
    this.#evaluating = true;
    const kind: Kind<GateEvaluationJob> = {
      what: 'gate evaluation',
      rows: this.#evaluations,
      slots: this.#evaluationSlots,
      waker: this.#evaluationWaker,
      concurrency: this.#opts.evaluationConcurrency,
      failed: async (job, attempt, error, last) => {
        const logged = { repo: job.repo.fullName, sha: job.sha, attempt, last, error };
        if (last) this.#log?.error(logged, 'gate evaluation failed after every retry; the next conclusion on the commit schedules another');
        else this.#log?.warn(logged, 'gate evaluation failed; will retry');
      },
    };
    this.#startHeartbeat();
    this.#loops.push(this.#loop(kind, handler));
    // Failed re-evaluations are kept two weeks, then removed, also in a process that runs for weeks.
    this.#pruning = setInterval(() => {
      this.#evaluations.prune().catch((err: unknown) => this.#log?.warn({ err }, 'removing old failed gate evaluations failed'));
    }, this.#opts.pruneIntervalMs);
    this.#pruning.unref();
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    if (this.#pruning) clearInterval(this.#pruning);
    // Parked jobs are handed back at their time; a claim loop waiting for a slot sees the stop.
    this.#signalStop();
    this.#slots.releaseFetchers();
    this.#evaluationSlots.releaseFetchers();
    for (const t of this.#dueTimers) clearTimeout(t);
    this.#dueTimers.clear();
    this.#waker.wake();
    this.#evaluationWaker.wake();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled(this.#loops)
        .then(() => Promise.allSettled([...this.#inFlight]))
        .then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.#opts.stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // Handlers still running lose their leases' renewal: their jobs are taken again once the
    // leases run out (at the next start, on the embedded database), the cut-short run counted as
    // a failed attempt. Their leases are not given up here: the handlers may still write.
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    await this.#renewing;
    if (timedOut)
      this.#log?.warn({ timeoutMs: this.#opts.stopTimeoutMs }, 'job queue stopped with handlers still running; their jobs will be retried');
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    const every = Math.max(100, (this.#opts.leaseSeconds * 1000) / 3);
    this.#heartbeat = setInterval(() => {
      if (this.#renewing || this.#held.size === 0) return;
      this.#renewing = this.#renew()
        .catch((err: unknown) => this.#log?.error({ err }, 'renewing the leases of running jobs failed'))
        .finally(() => (this.#renewing = null));
    }, every);
    this.#heartbeat.unref();
  }

  async #renew(): Promise<void> {
    const byRows = new Map<LeasedRows<unknown>, string[]>();
    for (const [claim, rows] of this.#held) byRows.set(rows, [...(byRows.get(rows) ?? []), claim]);
    for (const [rows, claims] of byRows) await rows.renew(claims, this.#opts.leaseSeconds);
  }

  /** Wakes `waker` once `ms` have passed (a row falls due then). */
  #wakeIn(waker: Waker, ms: number): void {
    if (ms <= 0) return waker.wake();
    const timer = setTimeout(() => {
      this.#dueTimers.delete(timer);
      waker.wake();
    }, ms + 20);
    timer.unref();
    this.#dueTimers.add(timer);
  }

  /**
   * The claim loop of one kind: it takes a slot (and any others free), claims as many due rows,
   * starts each in its slot, and goes on; a job parked waiting for a write turn gives its slot back
   * and resumes in one of its own when due, before the loop claims more. Idle, it sleeps until
   * woken (a local enqueue, a row falling due) or for `pollIntervalMs`.
   */
  async #loop<T>(kind: Kind<T>, handler: (job: T) => Promise<void>): Promise<void> {
    while (!this.#stopping) {
      await kind.slots.acquire(false);
      if (this.#stopping) {
        kind.slots.release();
        break;
      }
      let taken = 1;
      while (taken < kind.concurrency && kind.slots.tryAcquire()) taken += 1;
      const since = kind.waker.generation;
      let claimed: Claimed<T>[] = [];
      try {
        claimed = await kind.rows.claim(taken, this.#opts.leaseSeconds);
      } catch (err) {
        this.#log?.error({ err, queue: kind.what }, 'claiming jobs failed');
      }
      for (let i = claimed.length; i < taken; i++) kind.slots.release();
      if (claimed.length === 0) {
        if (!this.#stopping) await kind.waker.sleep(this.#opts.pollIntervalMs, since);
        continue;
      }
      for (const c of claimed) {
        this.#held.set(c.claim, kind.rows as LeasedRows<unknown>);
        const slot = new JobSlot(c.id, c.handBacks > 0, kind.slots, this.#host);
        const running: Promise<void> = runInSlot(slot, () => this.#run(kind, c, handler))
          .catch((err: unknown) => this.#log?.error({ err, queue: kind.what, job: c.id }, 'recording a job outcome failed'))
          .finally(() => {
            this.#held.delete(c.claim);
            slot.end();
            this.#inFlight.delete(running);
          });
        this.#inFlight.add(running);
        // Deliveries share the thread with the HTTP server: it answers between two of them, even
        // when every await of a delivery found its answer ready.
        await yieldToRequests();
      }
    }
  }

  /** One claimed job: the handler under the time limit, then its outcome written to its row. */
  async #run<T>(kind: Kind<T>, c: Claimed<T>, handler: (job: T) => Promise<void>): Promise<void> {
    const job = c.job;
    if (job === null) {
      this.#log?.error({ job: c.id }, `malformed ${kind.what} job; dropped`);
      await kind.rows.drop(c);
      return;
    }
    if (c.leaseRanOut) {
      // An earlier run of this row did not end (its worker stopped, died or stalled): counted as a
      // failed attempt, so that a job that kills its worker does not run forever.
      const last = c.attempts > this.#opts.retryLimit;
      this.#log?.warn({ job: c.id, queue: kind.what, attempts: c.attempts, last }, 'a job whose lease ran out mid-run is taken again');
      if (last) {
        await kind.rows.giveUp(c, LEASE_RAN_OUT);
        await kind.failed(job, c.attempts, LEASE_RAN_OUT, true);
        return;
      }
    }
    const limitMs = this.#opts.expireInSeconds * 1000;
    let running: Promise<void> | undefined;
    try {
      running = handler(job);
      await withTimeout(running, limitMs);
    } catch (err) {
      if (err instanceof TimedOut && running) await this.#outlive(kind, c, running, limitMs);
      const times = c.handBacks + 1;
      if (err instanceof HandedBack && times <= MAX_HAND_BACKS) return this.#handBack(kind, c, err);
      const message = err instanceof HandedBack ? `${err.message} (handed back ${MAX_HAND_BACKS} times already)` : errorMessage(err);
      const n = c.attempts + 1;
      const delay = retryDelaySeconds(this.#opts, n);
      const last = await kind.rows.fail(c, message, delay, this.#opts.retryLimit);
      if (!last) this.#wakeIn(kind.waker, delay * 1000);
      await kind.failed(job, n, message, last);
      return;
    }
    if (!(await kind.rows.complete(c)))
      this.#log?.warn({ job: c.id, queue: kind.what }, 'a job ended after its lease had run out: another worker may have run it too');
  }

  /**
   * A handler past its time limit may still write: its row stays leased (renewed) until it ends,
   * so that its retry never runs beside it, for at most `limitMs` more; after that the row is let
   * go (its retry may then run while it still hangs).
   */
  async #outlive<T>(kind: Kind<T>, c: Claimed<T>, running: Promise<void>, limitMs: number): Promise<void> {
    this.#log?.error({ job: c.id, queue: kind.what, limitMs }, 'a job ran past its time limit; its row is held until it ends');
    if (!(await settlesWithin(running, limitMs)))
      this.#log?.error({ job: c.id, queue: kind.what, limitMs }, 'a job still runs at twice its time limit; its row is let go for a retry');
  }

  /**
   * The job waits far (or many wait already): back to waiting with its start at the wait's end,
   * its attempts unchanged; it runs again from the start then. Its writes are "ensure" writes: what
   * it wrote before is found written and left alone.
   */
  async #handBack<T>(kind: Kind<T>, c: Claimed<T>, back: HandedBack): Promise<void> {
    const ms = Math.max(0, back.at - Date.now());
    await kind.rows.handBack(c, ms, back.message);
    this.#handedBack += 1;
    this.#log?.info({ job: c.id, queue: kind.what, waitMs: Math.round(ms), reason: back.message }, 'job handed back until its turn');
    if (!this.#stopping) this.#wakeIn(kind.waker, ms);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
