/**
 * The JobQueue port on pg-boss 10, on the same database as the store (PGlite through
 * `db.executeSql`, PostgreSQL through the shared pool). pg-boss owns the job table, retries with
 * backoff and the dead-letter queue; the fetch loop is ours (see `PgBossQueue.work`).
 */
import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import { z } from 'zod';
import type { DeliveryJob, GateEvaluationJob, GateEvaluations, JobQueue } from '../ports/queue.ts';
import { GroupCommit } from './group-commit.ts';
import { HandedBack, runInSlot, type WorkSlot } from '../ports/work-slot.ts';
import { yieldToRequests } from '../ports/yield.ts';

export interface QueueLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What pg-boss needs from a database: one text (maybe several statements) plus parameters. */
export interface SqlExecutor {
  executeSql(text: string, values?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface QueueOptions {
  /** Queue name; the dead-letter queue is `<name>_dead`. Default `deliveries`. */
  name?: string;
  /** Retries after the first attempt. Default 5. */
  retryLimit?: number;
  /** Seconds before a retry (whole seconds, pg-boss's unit). Default 2. */
  retryDelaySeconds?: number;
  /** Exponential backoff with jitter: delay·2^n/2 … delay·2^n. Default true. */
  retryBackoff?: boolean;
  /** A handler running longer is abandoned and its job retried. Default 600. */
  expireInSeconds?: number;
  /** How often an idle worker looks for jobs (other replicas' and due retries). Default 1000. */
  pollIntervalMs?: number;
  /** Same as pollIntervalMs, in pg-boss's unit; pollIntervalMs wins when both are given. */
  pollingIntervalSeconds?: number;
  /** Jobs handled at once by this process. Default 16. */
  concurrency?: number;
  /** Gate re-evaluations handled at once by this process (their own queue). Default 4. */
  evaluationConcurrency?: number;
  /**
   * A job waiting for a write turn or a `Retry-After` this long or less gives its slot back and is
   * resumed when due (parked); a longer wait hands the job back to the queue, to start again then
   * (not a failed attempt). Default 10000.
   */
  parkUpToMs?: number;
  /** Jobs parked in memory at once, beyond which waiting jobs are handed back. Default 128. */
  maxParked?: number;
  /** pg-boss maintenance (expiry, archiving); `false` turns it off. Default 120 s. */
  maintenanceIntervalSeconds?: number | false;
  /** How long stop() waits for running handlers before handing their jobs back. Default 3000. */
  stopTimeoutMs?: number;
  /**
   * Fail jobs left `active` by a previous process, at start. Only correct when no other process
   * can be working (PGlite: one process per data dir). Default false.
   */
  failStaleActive?: boolean;
  /** pg-boss schema. Default `pgboss`. */
  schema?: string;
  /**
   * With a liveness session (PostgreSQL, several processes): a job active for longer than this
   * whose process is gone is failed, so that it is retried now rather than when it expires. Default 10.
   */
  reclaimAfterSeconds?: number;
}

/**
 * One database session of this process's own (PostgreSQL). While a job runs, the session holds an
 * advisory lock on the job; PostgreSQL drops a session's locks when its process dies, so an active
 * job whose lock can be taken has lost its worker.
 */
export interface LivenessSession extends SqlExecutor {
  close(): Promise<void>;
}

type Required_ = Required<Omit<QueueOptions, 'maintenanceIntervalSeconds' | 'pollingIntervalSeconds'>> & {
  maintenanceIntervalSeconds: number | false;
};

/** Advisory locks on running jobs use the two-int4 key space: (JOB_LOCKS, hashtext(job id)). */
const JOB_LOCKS = 0x47484a42;

const DEFAULTS: Required_ = {
  name: 'deliveries',
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
  maintenanceIntervalSeconds: 120,
  stopTimeoutMs: 3_000,
  failStaleActive: false,
  schema: 'pgboss',
  reclaimAfterSeconds: 10,
};

/** The delivery queue's retry settings as this process runs them when none are given. */
export const defaultQueueRetries: Readonly<Pick<Required_, 'retryLimit' | 'retryDelaySeconds' | 'retryBackoff' | 'pollIntervalMs'>> = {
  retryLimit: DEFAULTS.retryLimit,
  retryDelaySeconds: DEFAULTS.retryDelaySeconds,
  retryBackoff: DEFAULTS.retryBackoff,
  pollIntervalMs: DEFAULTS.pollIntervalMs,
};

/**
 * The longest a job can wait between its attempts in all (seconds): pg-boss 10 sets the n-th
 * retry (n = 1…retryLimit) to start after `delay·2^n/2·(1 + random)`, at most `delay·2^n`, with
 * backoff, and after `delay` without.
 */
export function worstRetryWaitSeconds(o: Pick<Required_, 'retryLimit' | 'retryDelaySeconds' | 'retryBackoff'>): number {
  let total = 0;
  for (let n = 1; n <= o.retryLimit; n++) total += o.retryBackoff ? o.retryDelaySeconds * 2 ** Math.min(16, n) : o.retryDelaySeconds;
  return total;
}

const jobData = z.object({ platform: z.enum(['github', 'gitlab', 'slack']), deliveryId: z.string() });
const evaluationData = z.object({
  platform: z.enum(['github', 'gitlab']),
  installationId: z.number().int().nullable(),
  repo: z.object({
    platform: z.enum(['github', 'gitlab']),
    fullName: z.string().min(1),
    id: z.number().nullable(),
    defaultBranch: z.string().nullable(),
  }),
  sha: z.string().min(1),
  deliveryId: z.string(),
});

/** The key under which evaluations of one repository's commit join: one waits at a time (pg-boss's `short` policy). */
export const evaluationKey = (job: Pick<GateEvaluationJob, 'repo' | 'sha'>): string =>
  `${job.repo.platform}:${job.repo.fullName.toLowerCase()}@${job.sha.toLowerCase()}`;
/** The output of a job handed back (see `#handBack`). */
const handedBackOutput = z.object({ handedBack: z.string(), times: z.number().int().optional() });
/** Hand-backs of one attempt, beyond which a wait counts as a failed attempt (a rate limit answered again and again). */
const MAX_HAND_BACKS = 20;
const failureOutput = z.union([z.object({ message: z.string() }), z.object({ value: z.object({ message: z.string() }) })]);

const NAMESPACE = Buffer.from('8d0f3c6e5b2a4f7e9a1c2b3d4e5f6071', 'hex');

/** Deterministic UUID (v5 layout, SHA-1 of a fixed namespace and the delivery). */
export function deliveryJobId(job: DeliveryJob): string {
  const b = createHash('sha1').update(NAMESPACE).update(`${job.platform}\u0000${job.deliveryId}`).digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Wakes sleeping loops; a wake during a fetch makes the next sleep return at once. */
class Waker {
  #generation = 0;
  readonly #sleepers = new Set<() => void>();

  get generation(): number {
    return this.#generation;
  }

  wake(): void {
    this.#generation += 1;
    for (const s of [...this.#sleepers]) s();
  }

  sleep(ms: number, since: number): Promise<void> {
    if (this.#generation !== since) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }
}

/** The worker slots of one queue: a parked job resuming takes a free slot before the fetch loops do. */
class Slots {
  #free: number;
  readonly #resuming: (() => void)[] = [];
  readonly #fetching: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(resuming: boolean): Promise<void> {
    if (this.#free > 0 && (resuming || this.#resuming.length === 0)) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => (resuming ? this.#resuming : this.#fetching).push(resolve));
  }

  release(): void {
    const next = this.#resuming.shift() ?? this.#fetching.shift();
    if (next) next();
    else this.#free += 1;
  }

  /** Stopping: the fetch loops waiting for a slot go on (to see that they should stop). */
  releaseFetchers(): void {
    for (const go of this.#fetching.splice(0)) {
      this.#free -= 1;
      go();
    }
  }
}

/** What a running job's slot needs from its queue. */
interface SlotHost {
  readonly parkUpToMs: number;
  readonly maxParked: number;
  parked: number;
  readonly stopping: boolean;
  /** Resolves when the queue stops (parked jobs are then handed back at their time). */
  readonly stopped: Promise<void>;
}

/** The slot of one running job (see ../ports/work-slot.ts). */
class JobSlot implements WorkSlot {
  readonly jobId: string;
  readonly ranBefore: boolean;
  readonly #slots: Slots;
  readonly #host: SlotHost;
  #holding = true;
  #given!: () => void;
  /** Resolves the first time the job gives its slot back (parked) or ends. */
  readonly given = new Promise<void>((resolve) => (this.#given = resolve));

  constructor(jobId: string, ranBefore: boolean, slots: Slots, host: SlotHost) {
    this.jobId = jobId;
    this.ranBefore = ranBefore;
    this.#slots = slots;
    this.#host = host;
  }

  parks(at: number): boolean {
    return at - Date.now() <= this.#host.parkUpToMs && this.#host.parked < this.#host.maxParked && !this.#host.stopping;
  }

  async waitUntil(at: number, reason: string): Promise<void> {
    if (at - Date.now() <= 0) return;
    if (!this.parks(at)) throw new HandedBack(at, reason);
    this.#host.parked += 1;
    this.#giveBack();
    let timer: NodeJS.Timeout | undefined;
    try {
      const stopped = await Promise.race([
        this.#host.stopped.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), at - Date.now());
        }),
      ]);
      if (stopped) throw new HandedBack(at, `${reason} (the worker is stopping)`);
    } finally {
      clearTimeout(timer);
      this.#host.parked -= 1;
    }
    if (!this.#holding) {
      await this.#slots.acquire(true);
      this.#holding = true;
    }
  }

  #giveBack(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#slots.release();
    this.#given();
  }

  /** The job ended (its outcome recorded). */
  end(): void {
    this.#giveBack();
    this.#given();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`handler exceeded ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

type Handler = (job: DeliveryJob) => Promise<void>;
type EvaluationHandler = (job: GateEvaluationJob) => Promise<void>;
type DeadLetterHandler = (job: DeliveryJob, error: string) => Promise<void>;

export class PgBossQueue implements JobQueue, GateEvaluations {
  readonly #boss: PgBoss;
  readonly #opts: Required_;
  readonly #log: QueueLogger | undefined;
  readonly #waker = new Waker();
  readonly #deadWaker = new Waker();
  readonly #evaluationWaker = new Waker();
  /** Timers that wake the evaluation loops when a scheduled evaluation falls due. */
  readonly #dueTimers = new Set<NodeJS.Timeout>();
  #evaluating = false;
  readonly #loops: Promise<void>[] = [];
  #working = false;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  readonly #executor: SqlExecutor;
  readonly #liveness: LivenessSession | undefined;
  /** Jobs running in this process (their liveness locks are ours). */
  readonly #running = new Set<string>();
  #reclaimTimer: NodeJS.Timeout | null = null;
  #reclaiming: Promise<void> | null = null;
  /** Worker slots of the deliveries and of the gate evaluations. */
  readonly #slots: Slots;
  readonly #evaluationSlots: Slots;
  /** Jobs started and not yet ended (running or parked). */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #host: SlotHost;
  readonly #signalStop: () => void;
  #handedBack = 0;

  private constructor(
    boss: PgBoss,
    opts: Required_,
    log: QueueLogger | undefined,
    executor: SqlExecutor,
    liveness: LivenessSession | undefined,
  ) {
    this.#boss = boss;
    this.#opts = opts;
    this.#log = log;
    this.#executor = executor;
    this.#liveness = liveness;
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

  /** Jobs parked now (waiting for a write turn or a `Retry-After` without a slot), and jobs handed back since the start. */
  get pacing(): { parked: number; handedBack: number } {
    return { parked: this.#host.parked, handedBack: this.#handedBack };
  }

  get deadLetterName(): string {
    return `${this.#opts.name}_dead`;
  }

  /** The queue of gate re-evaluations (policy `short`: one waiting job per repository and commit). */
  get evaluationQueueName(): string {
    return `${this.#opts.name}_gate`;
  }

  /** Installs or migrates pg-boss's schema, creates the queues, and applies the retry settings. */
  static async start(
    executor: SqlExecutor,
    options: QueueOptions = {},
    log?: QueueLogger,
    liveness?: LivenessSession,
  ): Promise<PgBossQueue> {
    const { pollingIntervalSeconds, ...rest } = options;
    const opts: Required_ = {
      ...DEFAULTS,
      ...(pollingIntervalSeconds !== undefined ? { pollIntervalMs: Math.round(pollingIntervalSeconds * 1000) } : {}),
      ...definedOnly(rest),
    };
    const maintenance = opts.maintenanceIntervalSeconds;
    const boss = new PgBoss({
      db: { executeSql: (text: string, values: unknown[]) => executor.executeSql(text, values) },
      schema: opts.schema,
      schedule: false, // no cron: saves a polling worker and two timers
      supervise: maintenance !== false,
      ...(maintenance !== false ? { maintenanceIntervalSeconds: maintenance } : {}),
      migrate: true,
    });
    boss.on('error', (err: unknown) => log?.error({ err }, 'job queue error'));
    await boss.start();
    const q = new PgBossQueue(boss, opts, log, executor, liveness);
    try {
      const queueConfig = {
        retryLimit: opts.retryLimit,
        retryDelay: opts.retryDelaySeconds,
        retryBackoff: opts.retryBackoff,
        expireInSeconds: opts.expireInSeconds,
      };
      await boss.createQueue(q.deadLetterName, { name: q.deadLetterName, ...queueConfig, retryBackoff: false, retryDelay: 1 });
      await boss.createQueue(opts.name, { name: opts.name, ...queueConfig, deadLetter: q.deadLetterName });
      // createQueue keeps an existing queue's settings; make this run's settings current.
      await boss.updateQueue(opts.name, { name: opts.name, ...queueConfig, deadLetter: q.deadLetterName });
      const evaluations = { name: q.evaluationQueueName, ...queueConfig, policy: 'short' as const };
      await boss.createQueue(q.evaluationQueueName, evaluations);
      await boss.updateQueue(q.evaluationQueueName, evaluations);
      if (opts.failStaleActive) await q.#failStaleActive(executor);
    } catch (err) {
      await boss.stop({ graceful: false, close: false }).catch(() => undefined);
      throw err;
    }
    return q;
  }

  async #failStaleActive(executor: SqlExecutor): Promise<void> {
    for (const name of [this.#opts.name, this.deadLetterName, this.evaluationQueueName]) {
      const { rows } = await executor.executeSql(
        `select id::text as id from ${this.#opts.schema}.job where name = $1 and state = 'active'`,
        [name],
      );
      const ids = rows.map((r) => String(r['id']));
      if (ids.length === 0) continue;
      for (const id of ids) await this.#boss.fail(name, id, { message: 'the process stopped while the job was active' });
      this.#log?.warn({ queue: name, jobs: ids.length }, 'failed jobs left active by a previous run; they will be retried');
    }
  }

  /** Concurrent enqueues share one insert (group commit); the queue's retry settings apply. */
  readonly #inserts = new GroupCommit<DeliveryJob, void>(async (jobs) => {
    await this.enqueueMany(jobs);
    return jobs.map(() => undefined);
  }, 256);

  /** One insert for many jobs; ids are deterministic, so a job already there is left alone. */
  async enqueueMany(jobs: readonly DeliveryJob[]): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    const name = this.#opts.name;
    await this.#boss.insert(
      jobs.map((job) => ({ id: deliveryJobId(job), name, data: { platform: job.platform, deliveryId: job.deliveryId } })),
    );
    this.#waker.wake();
  }

  /**
   * pg-boss's insert for these jobs as one statement, not run: the embedded inbox sends it to the
   * database with the deliveries, in one transaction. Call `jobsAdded()` once it has committed.
   */
  async insertStatement(jobs: readonly DeliveryJob[]): Promise<{ text: string; values: unknown[] }> {
    if (this.#stopping) throw new Error('job queue is stopped');
    let statement: { text: string; values: unknown[] } | null = null;
    const capture = {
      executeSql: async (text: string, values: unknown[]) => {
        statement = { text, values: [...values] };
        return { rows: [] };
      },
    };
    const name = this.#opts.name;
    await this.#boss.insert(
      jobs.map((job) => ({ id: deliveryJobId(job), name, data: { platform: job.platform, deliveryId: job.deliveryId } })),
      { db: capture },
    );
    if (!statement) throw new Error('pg-boss did not produce an insert statement');
    return statement;
  }

  /** Jobs were written outside `enqueue` (see `insertStatement`): the fetch loop looks now. */
  jobsAdded(): void {
    this.#waker.wake();
  }

  async enqueue(job: DeliveryJob): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    await this.#inserts.submit(job);
    this.#waker.wake();
  }

  /**
   * Our own fetch loop over pg-boss's fetch/complete/fail rather than `boss.work()`: pg-boss's
   * worker does not await complete()/fail() and can start a fetched job after stop() resolved,
   * which races with closing the database. Local enqueues wake the loop at once.
   */
  async work(handler: Handler, onDeadLetter: DeadLetterHandler): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    if (this.#working) throw new Error('work() was already called');
    this.#working = true;
    for (let i = 0; i < Math.max(1, this.#opts.concurrency); i++) {
      this.#loops.push(this.#loop(this.#opts.name, this.#waker, (job) => this.#runJob(job, handler), this.#slots));
    }
    this.#loops.push(this.#loop(this.deadLetterName, this.#deadWaker, (job) => this.#runDead(job, onDeadLetter)));
    if (this.#liveness) {
      const sweep = (): void => {
        this.#reclaiming ??= this.#reclaim()
          .catch((err: unknown) => this.#log?.error({ err }, 'looking for jobs of stopped processes failed'))
          .finally(() => (this.#reclaiming = null));
      };
      sweep();
      this.#reclaimTimer = setInterval(sweep, Math.max(1, this.#opts.reclaimAfterSeconds / 2) * 1000);
      this.#reclaimTimer.unref();
    }
  }

  /**
   * A gate re-evaluation `delayMs` from now, keyed by repository and commit: while one with the
   * same key waits to start (pg-boss `short` policy: one `created` job per key), the insert does
   * nothing and this call joins it. A running or retrying evaluation does not count as waiting,
   * so a conclusion that arrives while one runs gets an evaluation of its own.
   */
  async schedule(job: GateEvaluationJob, delayMs: number): Promise<boolean> {
    if (this.#stopping) throw new Error('job queue is stopped');
    const data = evaluationData.parse(job);
    const seconds = Math.max(0, delayMs) / 1000;
    const id = await this.#boss.send(this.evaluationQueueName, data, {
      singletonKey: evaluationKey(job),
      // pg-boss reads a number as seconds (an interval, so fractions work), on the database's clock.
      ...(seconds > 0 ? { startAfter: seconds } : {}),
    });
    if (id === null) return false;
    if (seconds === 0) {
      this.#evaluationWaker.wake();
    } else {
      const timer = setTimeout(() => {
        this.#dueTimers.delete(timer);
        this.#evaluationWaker.wake();
      }, delayMs + 20);
      timer.unref();
      this.#dueTimers.add(timer);
    }
    return true;
  }

  /** Starts running gate re-evaluations (failures are retried like deliveries; the last one is logged). */
  async workEvaluations(handler: EvaluationHandler): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    if (this.#evaluating) throw new Error('workEvaluations() was already called');
    this.#evaluating = true;
    for (let i = 0; i < Math.max(1, this.#opts.evaluationConcurrency); i++) {
      this.#loops.push(
        this.#loop(
          this.evaluationQueueName,
          this.#evaluationWaker,
          (job) => this.#guarded(job, () => this.#runEvaluation(job, handler)),
          this.#evaluationSlots,
        ),
      );
    }
  }

  #runEvaluation(job: PgBoss.JobWithMetadata<unknown>, handler: EvaluationHandler): Promise<void> {
    return this.#runParsed(this.evaluationQueueName, evaluationData, job, 'gate evaluation', handler, (data, last, fields) => {
      const logged = { repo: data.repo.fullName, sha: data.sha, ...fields };
      if (last) this.#log?.error(logged, 'gate evaluation failed after every retry; the next conclusion on the commit schedules another');
      else this.#log?.warn(logged, 'gate evaluation failed; will retry');
    });
  }

  /**
   * One job of `name`: its data parsed (malformed: dropped, logged), the handler given the
   * queue's time limit, the job completed, or failed (retried by pg-boss) and reported.
   */
  async #runParsed<T>(
    name: string,
    schema: z.ZodType<T>,
    job: PgBoss.JobWithMetadata<unknown>,
    what: string,
    handler: (data: T) => Promise<void>,
    onFailed: (data: T, last: boolean, fields: { attempt: number; last: boolean; error: string }) => void,
  ): Promise<void> {
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) {
      this.#log?.error({ job: job.id }, `malformed ${what} job; dropped`);
      await this.#boss.complete(name, job.id);
      return;
    }
    try {
      await withTimeout(handler(parsed.data), this.#opts.expireInSeconds * 1000);
    } catch (err) {
      const times = (handedBackOutput.safeParse(job.output).data?.times ?? 0) + 1;
      if (err instanceof HandedBack && times <= MAX_HAND_BACKS) return this.#handBack(name, job.id, err, times);
      const message = err instanceof HandedBack ? `${err.message} (handed back ${MAX_HAND_BACKS} times already)` : errorMessage(err);
      await this.#boss.fail(name, job.id, { message });
      const last = job.retryCount >= job.retryLimit;
      onFailed(parsed.data, last, { attempt: job.retryCount + 1, last, error: message });
      return;
    }
    await this.#boss.complete(name, job.id);
  }

  /**
   * The job waits far (or many wait already): back to `retry` with its start at the wait's end, its
   * retry count unchanged; it runs again from the start then. Its writes are "ensure" writes: what
   * it wrote before is found written and left alone.
   */
  async #handBack(name: string, id: string, back: HandedBack, times: number): Promise<void> {
    const ms = Math.max(0, back.at - Date.now());
    await this.#executor.executeSql(
      `update ${this.#opts.schema}.job set state = 'retry', start_after = now() + make_interval(secs => $3::float8), started_on = null,
        output = $4::jsonb where name = $1 and id = $2::uuid and state = 'active'`,
      [name, id, ms / 1000, JSON.stringify({ handedBack: back.message, times })],
    );
    this.#handedBack += 1;
    this.#log?.info({ job: id, queue: name, waitMs: Math.round(ms), reason: back.message }, 'job handed back until its turn');
    const waker = name === this.#opts.name ? this.#waker : this.#evaluationWaker;
    const timer = setTimeout(() => {
      this.#dueTimers.delete(timer);
      waker.wake();
    }, ms + 20);
    timer.unref();
    this.#dueTimers.add(timer);
  }

  /** Active jobs (deliveries and gate evaluations) of processes that are gone (their liveness lock is free) are failed, so retried now. */
  async #reclaim(): Promise<void> {
    for (const name of [this.#opts.name, this.evaluationQueueName]) await this.#reclaimQueue(name);
  }

  async #reclaimQueue(name: string): Promise<void> {
    const session = this.#liveness;
    if (!session || this.#stopping) return;
    const { rows } = await this.#executor.executeSql(
      `select id::text as id from ${this.#opts.schema}.job where name = $1 and state = 'active' and started_on < now() - make_interval(secs => $2)`,
      [name, this.#opts.reclaimAfterSeconds],
    );
    for (const id of rows.map((r) => String(r['id']))) {
      if (this.#running.has(id) || this.#stopping) continue;
      const got = await session.executeSql('select pg_try_advisory_lock($1::int4, hashtext($2)) as ok', [JOB_LOCKS, id]);
      if (got.rows[0]?.['ok'] !== true) continue; // its process is alive and working on it
      try {
        await this.#boss.fail(name, id, { message: 'the process working on it stopped' });
        this.#log?.warn({ job: id, queue: name }, 'a job whose process stopped was failed; it will be retried');
        (name === this.#opts.name ? this.#waker : this.#evaluationWaker).wake();
      } finally {
        await session.executeSql('select pg_advisory_unlock($1::int4, hashtext($2))', [JOB_LOCKS, id]);
      }
    }
  }

  async depth(): Promise<number> {
    return this.#boss.getQueueSize(this.#opts.name, { before: 'completed' });
  }

  /**
   * Queues a delivery again after its job ended (failed or completed): the old job is removed so
   * that the deterministic id is free. A job still waiting or running is left alone.
   */
  async requeue(job: DeliveryJob): Promise<void> {
    await this.requeueWithin(this.#executor, job);
    this.#waker.wake();
  }

  /**
   * `requeue`'s two statements run by `run` (a transaction's, so that the delivery's state and its
   * job change together); call `jobsAdded()` once it has committed.
   */
  async requeueWithin(run: SqlExecutor, job: DeliveryJob): Promise<void> {
    if (this.#stopping) throw new Error('job queue is stopped');
    await run.executeSql(
      `delete from ${this.#opts.schema}.job where name = $1 and id = $2 and state not in ('created', 'retry', 'active')`,
      [this.#opts.name, deliveryJobId(job)],
    );
    // pg-boss's insert skips an id that is taken: a job still waiting or running stays as it is.
    const insert = await this.insertStatement([job]);
    await run.executeSql(insert.text, insert.values);
  }

  /** Job state by delivery (for tests and diagnostics): null when unknown or archived. */
  async jobState(job: DeliveryJob): Promise<{ state: string; retryCount: number } | null> {
    const j = await this.#boss.getJobById<unknown>(this.#opts.name, deliveryJobId(job));
    return j ? { state: j.state, retryCount: j.retryCount } : null;
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    // Parked jobs are handed back at their time; fetch loops waiting for a slot see the stop.
    this.#signalStop();
    this.#slots.releaseFetchers();
    this.#evaluationSlots.releaseFetchers();
    if (this.#reclaimTimer) clearInterval(this.#reclaimTimer);
    await this.#reclaiming;
    for (const t of this.#dueTimers) clearTimeout(t);
    this.#dueTimers.clear();
    this.#waker.wake();
    this.#deadWaker.wake();
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
    if (timedOut)
      this.#log?.warn({ timeoutMs: this.#opts.stopTimeoutMs }, 'job queue stopped with handlers still running; their jobs will be retried');
    await this.#boss.stop({ graceful: false, close: false, wait: true });
    // Handlers still running keep their jobs' locks until this process ends: closing the liveness
    // session now would let another replica take a job this one is still working on.
    if (!timedOut) await this.#liveness?.close().catch(() => undefined);
  }

  /**
   * One fetch loop. With `slots`, a loop takes a slot before it fetches, and goes on once its job
   * has given the slot back: ended, or parked waiting for a write turn (the job resumes in a slot
   * of its own when due, before the loops fetch more).
   */
  async #loop(name: string, waker: Waker, run: (job: PgBoss.JobWithMetadata<unknown>) => Promise<void>, slots?: Slots): Promise<void> {
    while (!this.#stopping) {
      if (slots) {
        await slots.acquire(false);
        if (this.#stopping) {
          slots.release();
          break;
        }
      }
      const since = waker.generation;
      let jobs: PgBoss.JobWithMetadata<unknown>[] = [];
      try {
        jobs = await this.#boss.fetch<unknown>(name, { batchSize: 1, includeMetadata: true });
      } catch (err) {
        this.#log?.error({ err, queue: name }, 'fetching a job failed');
      }
      if (jobs.length === 0) {
        slots?.release();
        if (!this.#stopping) await waker.sleep(this.#opts.pollIntervalMs, since);
        continue;
      }
      for (const job of jobs) {
        const recorded = (err: unknown): void => this.#log?.error({ err, queue: name, job: job.id }, 'recording a job outcome failed');
        if (!slots) {
          await run(job).catch(recorded);
        } else {
          const slot = new JobSlot(job.id, handedBackOutput.safeParse(job.output).success, slots, this.#host);
          const running: Promise<void> = runInSlot(slot, () => run(job))
            .catch(recorded)
            .finally(() => {
              slot.end();
              this.#inFlight.delete(running);
            });
          this.#inFlight.add(running);
          await slot.given;
        }
        // Deliveries share the thread with the HTTP server: it answers between two of them, even
        // when every await of a delivery found its answer ready.
        await yieldToRequests();
      }
    }
  }

  async #runJob(job: PgBoss.JobWithMetadata<unknown>, handler: Handler): Promise<void> {
    return this.#guarded(job, () => this.#runJobUnguarded(job, handler));
  }

  /** Holds the job's liveness lock (when there is a session) from before the handler until its outcome is recorded. */
  async #guarded(job: PgBoss.JobWithMetadata<unknown>, run: () => Promise<void>): Promise<void> {
    const session = this.#liveness;
    if (!session) return run();
    this.#running.add(job.id);
    let locked = false;
    try {
      // Never blocks the session (its queries run one at a time): a lock held elsewhere is another
      // process's reclaim sweep, a moment long.
      const got = await session.executeSql('select pg_try_advisory_lock($1::int4, hashtext($2)) as ok', [JOB_LOCKS, job.id]);
      locked = got.rows[0]?.['ok'] === true;
      if (!locked) this.#log?.warn({ job: job.id }, 'the job liveness lock is held elsewhere; running the job anyway');
    } catch (err) {
      this.#log?.warn({ err, job: job.id }, 'could not take the job liveness lock; running the job anyway');
    }
    try {
      await run();
    } finally {
      this.#running.delete(job.id);
      if (locked) await session.executeSql('select pg_advisory_unlock($1::int4, hashtext($2))', [JOB_LOCKS, job.id]).catch(() => undefined);
    }
  }

  #runJobUnguarded(job: PgBoss.JobWithMetadata<unknown>, handler: Handler): Promise<void> {
    return this.#runParsed(this.#opts.name, jobData, job, 'delivery', handler, (data, last, fields) => {
      this.#log?.warn({ ...data, ...fields }, 'job failed');
      if (last) this.#deadWaker.wake();
    });
  }

  async #runDead(job: PgBoss.JobWithMetadata<unknown>, onDeadLetter: DeadLetterHandler): Promise<void> {
    const name = this.deadLetterName;
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      this.#log?.error({ job: job.id }, 'malformed dead-letter job; dropped');
      await this.#boss.complete(name, job.id);
      return;
    }
    const out = failureOutput.safeParse(job.output);
    const error = out.success ? ('message' in out.data ? out.data.message : out.data.value.message) : 'unknown error';
    try {
      await onDeadLetter(parsed.data, error);
    } catch (err) {
      await this.#boss.fail(name, job.id, { message: errorMessage(err) });
      return;
    }
    await this.#boss.complete(name, job.id);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
