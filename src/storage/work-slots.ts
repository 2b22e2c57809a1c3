/**
 * The worker slots of a lease queue (storage/queue.ts) and the slot a running job sees
 * (ports/work-slot.ts): a job waiting for a write turn gives its slot back (parked) and takes one
 * again when due, before the queue claims more; a wait too far away hands the job back.
 */
import { HandedBack, type WorkSlot } from '../ports/work-slot.ts';

/** Wakes sleeping loops; a wake during a claim makes the next sleep return at once. */
export class Waker {
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

/** The worker slots of one kind of job: a parked job resuming takes a free slot before the claim loop does. */
export class Slots {
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

  /** A free slot now, if there is one no resuming job waits for. */
  tryAcquire(): boolean {
    if (this.#free <= 0 || this.#resuming.length > 0) return false;
    this.#free -= 1;
    return true;
  }

  release(): void {
    const next = this.#resuming.shift() ?? this.#fetching.shift();
    if (next) next();
    else this.#free += 1;
  }

  /** Stopping: the claim loop waiting for a slot goes on (to see that it should stop). */
  releaseFetchers(): void {
    for (const go of this.#fetching.splice(0)) {
      this.#free -= 1;
      go();
    }
  }
}

/** What a running job's slot needs from its queue. */
export interface SlotHost {
  readonly parkUpToMs: number;
  readonly maxParked: number;
  parked: number;
  readonly stopping: boolean;
  /** Resolves when the queue stops (parked jobs are then handed back at their time). */
  readonly stopped: Promise<void>;
}

/** The slot of one running job (see ../ports/work-slot.ts). */
export class JobSlot implements WorkSlot {
  readonly jobId: string;
  readonly ranBefore: boolean;
  readonly #slots: Slots;
  readonly #host: SlotHost;
  #holding = true;

  constructor(jobId: string, ranBefore: boolean, slots: Slots, host: SlotHost) {
    this.jobId = jobId;
    this.ranBefore = ranBefore;
    this.#slots = slots;
    this.#host = host;
  }

  /** Whether a wait until `at` would be spent parked in memory (else the job is handed back). */
  #parks(at: number): boolean {
    return at - Date.now() <= this.#host.parkUpToMs && this.#host.parked < this.#host.maxParked && !this.#host.stopping;
  }

  async waitUntil(at: number, reason: string): Promise<void> {
    if (at - Date.now() <= 0) return;
    if (!this.#parks(at)) throw new HandedBack(at, reason);
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
  }

  /** The job ended (its outcome recorded). */
  end(): void {
    this.#giveBack();
  }
}

/** A handler ran past its time limit (it may still be running). */
export class TimedOut extends Error {}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`handler exceeded ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Whether `p` settles (either way) within `ms`. */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = p.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
