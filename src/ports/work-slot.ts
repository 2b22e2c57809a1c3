/**
 * The worker slot a job runs in, as the code under the job sees it. A job that must wait (for its
 * write turn on a platform, or for a `Retry-After`) does not sleep in its slot: `waitUntil` gives
 * the slot back to the queue, which fetches other jobs meanwhile, and takes one again when the wait
 * is over. A wait too far away (or too many jobs waiting already) ends the run instead with
 * `HandedBack`: the queue puts the job back, to start again at that time, without counting a failed
 * attempt. Outside a job (an HTTP request, a timer) `waitUntil` simply sleeps.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Thrown through a job's handler: the job is to run again from the start at `at` (epoch ms). */
export class HandedBack extends Error {
  readonly at: number;
  constructor(at: number, reason: string) {
    super(`handed back until ${new Date(at).toISOString()}: ${reason}`);
    this.name = 'HandedBack';
    this.at = at;
  }
}

export interface WorkSlot {
  /** The job's id in its queue (a handed-back job keeps it). */
  readonly jobId: string;
  /**
   * The job ran before and was handed back: some of its writes may be made already. "Ensure"
   * writes planned from the webhook's payload (labels) read the current state first.
   */
  readonly ranBefore: boolean;
  /** Waits until `at`, the slot given back meanwhile; throws `HandedBack` when the wait would not be spent parked in memory. */
  waitUntil(at: number, reason: string): Promise<void>;
}

const current = new AsyncLocalStorage<WorkSlot>();

/** Runs `fn` as the job of `slot`: waits under it go through the slot. */
export function runInSlot<T>(slot: WorkSlot, fn: () => Promise<T>): Promise<T> {
  return current.run(slot, fn);
}

/** The slot of the job this code runs for, if any. */
export function currentSlot(): WorkSlot | undefined {
  return current.getStore();
}

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Waits until `at` (epoch ms, on `Date.now`'s clock): through the job's slot when there is one,
 * else a plain sleep. Never returns before `at` (timers may fire a millisecond early).
 */
export async function waitUntil(at: number, reason: string): Promise<void> {
  const slot = current.getStore();
  if (slot) await slot.waitUntil(at, reason);
  while (at - Date.now() > 0) await sleepMs(at - Date.now());
}
