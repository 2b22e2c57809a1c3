/**
 * Group commit: concurrent callers' items are written together, one batch at a time. A caller
 * arriving while a batch is being written joins the next one, so a busy server pays for one
 * transaction (and one WAL flush) per batch instead of one per item, and an idle one adds no delay.
 */
export class GroupCommit<I, O> {
  #waiting: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #running = false;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 256,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        // Let callers in the same tick join the first batch.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.maxBatch);
      try {
        const out = await this.write(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i]!));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#running = false;
  }
}
