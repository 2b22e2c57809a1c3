/** The durable job queue between acknowledging a delivery and processing it. */
import type { Platform } from '../core/model.ts';

export interface DeliveryJob {
  platform: Platform;
  deliveryId: string;
}

export interface JobQueue {
  /** Idempotent: the same (platform, deliveryId) enqueued twice gives one job. */
  enqueue(job: DeliveryJob): Promise<void>;
  /**
   * Starts processing. The handler throwing means "retry later" (with backoff, up to the
   * configured limit); after the last attempt `onDeadLetter` is called.
   */
  work(handler: (job: DeliveryJob) => Promise<void>, onDeadLetter: (job: DeliveryJob, error: string) => Promise<void>): Promise<void>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  stop(): Promise<void>;
}
