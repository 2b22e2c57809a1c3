/** One worker at a time per key (an issue, a change), across the processes sharing the database. */

export interface KeyLock {
  /** Runs fn while holding an exclusive lock on `key`, across processes sharing the database. */
  withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}
