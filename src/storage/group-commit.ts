/**
 * Group commit: concurrent callers' items are written together, one batch at a time. A caller
 * arriving while a batch is being written joins the next one, so a busy server pays for one
 * transaction (and one WAL flush) per batch instead of one per item, and an idle one adds no delay.
 *
 * Gathering: callers answered by a batch tend to come back at once with their next item. Started
 * straight away, the next batch would hold only the few that arrived meanwhile, and the callers
 * would settle into two alternating half-batches, each paying the fixed cost of a write. So when
 * the last batch was large and fewer than half as many are waiting, the next batch waits up to
 * `gatherMs` for the rest (PostgreSQL's commit_delay, in spirit). A lone caller never waits.
 */
export interface GroupCommitOptions {
  /** Most items written together. */
  maxBatch?: number;
  /** Longest wait for returning callers before a batch starts (0: never wait). */
  gatherMs?: number;
  /** The last batch must have held at least this many items for the next one to wait. */
  gatherFrom?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<I, O> {
  #waiting: Waiting<I, O>[] = [];
  #running = false;
  #lastBatch = 0;
  /** Resolves the gathering wait early once enough callers are back. */
  #gathered: { want: number; done: () => void } | null = null;
  readonly #maxBatch: number;
  readonly #gatherMs: number;
  readonly #gatherFrom: number;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    options: GroupCommitOptions | number = {},
  ) {
    const o = typeof options === 'number' ? { maxBatch: options } : options;
    this.#maxBatch = o.maxBatch ?? 256;
    this.#gatherMs = o.gatherMs ?? 0;
    this.#gatherFrom = o.gatherFrom ?? 8;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#gathered && this.#waiting.length >= this.#gathered.want) this.#gathered.done();
      if (!this.#running) {
        this.#running = true;
        // Let callers in the same tick join the first batch.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      await this.#gather();
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#lastBatch = batch.length;
      try {
        const out = await this.write(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i]!));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#lastBatch = 0;
    this.#running = false;
  }

  /** Waits (at most `gatherMs`) for about as many callers as the last batch had. */
  async #gather(): Promise<void> {
    const want = Math.min(this.#lastBatch, this.#maxBatch);
    if (this.#gatherMs <= 0 || want < this.#gatherFrom || this.#waiting.length * 2 >= want) return;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#gathered = null;
        resolve();
      };
      const timer = setTimeout(finish, this.#gatherMs);
      this.#gathered = { want, done: finish };
    });
  }
}
