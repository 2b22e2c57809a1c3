/**
 * `Store`: every aggregate Gatehouse persists, for the composition root. Each aggregate has its own
 * port (deliveries, intake-store, tier-decisions, audit-log, notifications, clock-store, key-lock),
 * and jobs take the ones they use. Implemented once with Kysely over the embedded database (PGlite)
 * and PostgreSQL (src/storage/).
 */
import type { AuditLog } from './audit-log.ts';
import type { ClockStore } from './clock-store.ts';
import type { Deliveries } from './deliveries.ts';
import type { IntakeStore } from './intake-store.ts';
import type { KeyLock } from './key-lock.ts';
import type { Notifications } from './notifications.ts';
import type { TierDecisions } from './tier-decisions.ts';

/** Everything Gatehouse persists: storage/open.ts builds it; main hands each job the ports it uses. */
export interface Store extends Deliveries, IntakeStore, TierDecisions, AuditLog, Notifications, ClockStore, KeyLock {
  close(): Promise<void>;
}
