/**
 * The deliveries: webhook events as received, and how far each got. A delivery's row is its job
 * (storage/queue.ts); the inbox stores new ones (`Inbox.accept`, ports/queue.ts). Implemented with
 * Kysely in storage/kysely-store.ts.
 */
import type { Platform } from '../core/model.ts';

export type DeliveryStatus = 'pending' | 'done' | 'failed' | 'ignored';

/** The end of a pending delivery's last error while its platform is off (it waits, and is queued again at a start with the platform on). */
export const PLATFORM_OFF = 'is off: waiting until it is configured';

export interface DeliveryInput {
  platform: Platform;
  /** X-GitHub-Delivery, GitLab's Idempotency-Key / X-Gitlab-Event-UUID, Slack's event id. */
  deliveryId: string;
  /** Platform event name, e.g. `issues` (GitHub) or `Issue Hook` (GitLab). */
  eventName: string;
  /** The raw request body, exactly as received (the signature was checked on these bytes). */
  payload: string;
  receivedAt: Date;
  /**
   * SHA-256 (hex) of the raw signed body (GitHub, GitLab). A body already stored under another
   * delivery id is a replay: acknowledged, never stored or acted on again. Absent: not checked.
   */
  bodyDigest?: string | null;
}

export interface StoredDelivery extends DeliveryInput {
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
}

/** The deliveries: each stored by the inbox (`Inbox.accept`, ports/queue.ts), then read, worked and finished here. */
export interface Deliveries {
  getDelivery(platform: Platform, deliveryId: string): Promise<StoredDelivery | null>;
  /** Records a pending delivery's outcome; one already finished is left as it is (a late run's outcome is not written). */
  finishDelivery(platform: Platform, deliveryId: string, status: Exclude<DeliveryStatus, 'pending'>, error?: string | null): Promise<void>;
  /** Increments a pending delivery's `attempts`, keeps it pending, stores the error (a finished one is left as it is). */
  failAttempt(platform: Platform, deliveryId: string, error: string): Promise<void>;
  countDeliveries(status: DeliveryStatus): Promise<number>;
  /** Deliveries with this status, oldest first (the dead letters: `failed`). */
  listDeliveries(status: DeliveryStatus, limit: number): Promise<StoredDelivery[]>;
  /** Ids of one platform's pending deliveries, oldest first; `parkedOnly`: those kept while it was off (last error `… is off: waiting until it is configured`). */
  pendingDeliveryIds(platform: Platform, limit: number, parkedOnly?: boolean): Promise<string[]>;
  /**
   * A `failed` delivery back to `pending`, its attempts at 0 and due now (queued: its row is its
   * job), in one update; false (nothing written) when none was failed.
   */
  retryDelivery(platform: Platform, deliveryId: string): Promise<boolean>;
}
