/** The durable job queue between acknowledging a delivery and processing it. */
import type { Platform, RepoRef } from '../core/model.ts';
import type { DeliveryInput } from './deliveries.ts';

export interface DeliveryJob {
  platform: Platform;
  deliveryId: string;
}

export interface JobQueue {
  /**
   * Queues a stored pending delivery that is not queued. Idempotent: a delivery waiting or running
   * is one job, left alone (a new delivery is queued as it is stored).
   */
  enqueue(job: DeliveryJob): Promise<void>;
  /**
   * Starts processing. The handler throwing means "retry later" (with backoff, up to the
   * configured limit); the last attempt marks the delivery failed with its error, and
   * `onDeadLetter` is told.
   */
  work(handler: (job: DeliveryJob) => Promise<void>, onDeadLetter: (job: DeliveryJob, error: string) => Promise<void>): Promise<void>;
  /** Queues a pending delivery again after its job ended (kept while its platform was off); a job still waiting or running is left alone. */
  requeue(job: DeliveryJob): Promise<void>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A release gate re-evaluation of every open change request whose head is `sha`, after a check,
 * status or pipeline concluded there. `deliveryId` is the delivery that scheduled it.
 */
export interface GateEvaluationJob {
  platform: 'github' | 'gitlab';
  installationId: number | null;
  repo: RepoRef;
  sha: string;
  deliveryId: string;
}

/** Gate re-evaluations, debounced per (repository, commit). */
export interface GateEvaluations {
  /**
   * Runs `job` `delayMs` from now, unless an evaluation of the same repository and commit is
   * still waiting to start: then this one joins it (it starts later, so it reads what concluded
   * now). An evaluation already running does not absorb it: a new one is scheduled. Returns
   * whether a new evaluation was scheduled. Durable: a scheduled evaluation survives a restart.
   */
  schedule(job: GateEvaluationJob, delayMs: number): Promise<boolean>;
}

export interface Accepted {
  inserted: boolean;
  duplicateOf?: string;
}

/** Where webhook deliveries land: stored (durably, and so queued) before the acknowledgement. */
export interface Inbox {
  /**
   * `inserted: false` means the delivery was seen before: nothing is queued again. `duplicateOf`:
   * its body was stored before under that other delivery id (a replay).
   */
  accept(d: DeliveryInput): Promise<Accepted>;
}
