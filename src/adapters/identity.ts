/**
 * The bot's own account, learnt from the platform (GitHub: `GET /app` → `<slug>[bot]`; GitLab:
 * `GET /user`) and retried with a bounded backoff until it is known. Until then nothing is done:
 * without it our own comments could be taken for someone else's (or we would answer ourselves).
 */
export interface SelfIdentityOptions {
  /** Asks the platform once; throws when it cannot tell. */
  learn: () => Promise<string>;
  /** Known in advance (tests, configuration): nothing is asked. */
  known?: string | null;
  /** Wait before the n-th retry (n from 1): default 1 s doubling up to 60 s. */
  backoffMs?: (attempt: number) => number;
  onError?: (err: unknown, attempt: number) => void;
}

export const defaultIdentityBackoff = (attempt: number): number => Math.min(60_000, 1000 * 2 ** (attempt - 1));

export class SelfIdentity {
  #name: string | null;
  #loop: Promise<void> | null = null;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #lastError: string | null = null;
  readonly #waiters = new Set<() => void>();
  readonly #opts: SelfIdentityOptions;

  constructor(opts: SelfIdentityOptions) {
    this.#opts = opts;
    this.#name = opts.known ?? null;
  }

  /** The account, or null while it is unknown. */
  get name(): string | null {
    return this.#name;
  }

  /** Why the last attempt to learn the account failed (one line), or null. */
  get lastError(): string | null {
    return this.#name === null ? this.#lastError : null;
  }

  /** Starts learning in the background (once); retries until known or stopped. */
  start(): void {
    if (this.#name !== null || this.#loop) return;
    this.#loop = (async () => {
      for (let attempt = 1; !this.#stopped && this.#name === null; attempt++) {
        try {
          this.#name = await this.#opts.learn();
          for (const w of [...this.#waiters]) w();
          return;
        } catch (err) {
          this.#lastError = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 200);
          this.#opts.onError?.(err, attempt);
        }
        if (this.#stopped) return;
        await new Promise<void>((resolve) => {
          this.#timer = setTimeout(resolve, (this.#opts.backoffMs ?? defaultIdentityBackoff)(attempt));
          this.#timer.unref();
        });
      }
    })();
  }

  /** The account once known, waiting up to `ms` for it (starting the learning if need be); null if still unknown. */
  async wait(ms: number): Promise<string | null> {
    if (this.#name !== null || ms <= 0) return this.#name;
    this.start();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#waiters.add(done);
    });
    return this.#name;
  }

  /** Resolves once the account is known (starting the learning if need be); never, if it is stopped first. */
  known(): Promise<string> {
    if (this.#name !== null) return Promise.resolve(this.#name);
    this.start();
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.#name === null) return;
        this.#waiters.delete(done);
        resolve(this.#name);
      };
      this.#waiters.add(done);
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const w of [...this.#waiters]) w();
  }
}
