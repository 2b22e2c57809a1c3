/**
 * Installation access tokens, kept per installation until shortly before GitHub's `expires_at`,
 * for every client of the process (the worker's jobs, the gate, the sweeper): a job never asks for
 * a token another job already has.
 *
 * @octokit/auth-app keeps tokens in the cache it is given (Probot gives it one Lru per Probot
 * instance, shared by `probot.auth(id)`), but that cache forgets a token 59 minutes after it was
 * stored whatever GitHub said: a token GitHub issued for less (or a clock that was set back) is
 * used after it expired, and GitHub answers 401. This cache has auth-app's interface
 * (`get`/`set` of `token|createdAt|expiresAt|…` strings, keyed by installation and options) and
 * reads `expiresAt` from the value itself.
 */

/** How long before `expires_at` a token is no longer handed out (a request in flight may take that long). */
export const TOKEN_EXPIRY_MARGIN_MS = 5 * 60_000;
/** When `expires_at` cannot be read: GitHub's usual lifetime, less the margin. */
const FALLBACK_LIFETIME_MS = 60 * 60_000;

interface Entry {
  value: string;
  /** When the token stops being handed out (wall clock, ms). */
  until: number;
}

export class InstallationTokens {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #max: number;
  readonly #marginMs: number;

  constructor(options: { now?: () => number; max?: number; marginMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#max = options.max ?? 15_000;
    this.#marginMs = options.marginMs ?? TOKEN_EXPIRY_MARGIN_MS;
  }

  get(key: string): string | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.#now() >= e.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: string): void {
    // auth-app's layout: token|createdAt|expiresAt|repositorySelection|permissions|singleFileName
    const expiresAt = Date.parse(value.split('|')[2] ?? '');
    const now = this.#now();
    const until = Number.isNaN(expiresAt) ? now + FALLBACK_LIFETIME_MS - this.#marginMs : expiresAt - this.#marginMs;
    this.#entries.delete(key);
    if (until <= now) return; // already too close to its expiry to be handed out again
    this.#entries.set(key, { value, until });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
