/**
 * The deliveries (webhook events as received, and how far each got), and `Store`: every aggregate
 * Gatehouse persists, for the composition root. Each other aggregate has its own port (intake-store,
 * tier-decisions, audit-log, notifications, clock-store, key-lock), and jobs take the ones they use.
 * Implemented once with Kysely over the embedded database (PGlite) and PostgreSQL (src/storage/).
 */
import type { Platform } from '../core/model.ts';
import type { AuditLog } from './audit-log.ts';
import type { ClockStore } from './clock-store.ts';
import type { IntakeStore } from './intake-store.ts';
import type { KeyLock } from './key-lock.ts';
import type { Notifications } from './notifications.ts';
import type { TierDecisions } from './tier-decisions.ts';

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

export interface Store {
  getDelivery(platform: Platform, deliveryId: string): Promise<StoredDelivery | null>;
  finishDelivery(platform: Platform, deliveryId: string, status: Exclude<DeliveryStatus, 'pending'>, error?: string | null): Promise<void>;
  /** Increments `attempts`, keeps status pending, stores the error. */
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

  close(): Promise<void>;
}

/**
 * Everything Gatehouse persists: the deliveries (the declaration above; this one merges with it) and
 * the other aggregates' ports. storage/open.ts builds it; main hands each job the ports it uses.
 */
export interface Store extends IntakeStore, TierDecisions, AuditLog, Notifications, ClockStore, KeyLock {}
