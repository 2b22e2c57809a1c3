/**
 * The Store over Kysely (the same queries for PGlite and PostgreSQL): the deliveries here, and the
 * other aggregates' modules (intake-store, tier-decisions, audit-log, notifications, clock-store)
 * composed into one object.
 */
import { sql, type InsertObject, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { Platform } from '../core/model.ts';
import type { AuditEntry } from '../ports/audit-log.ts';
import type { ClockRow } from '../ports/clock-store.ts';
import type { IntakeRow } from '../ports/intake-store.ts';
import type { NotificationInput } from '../ports/notifications.ts';
import type { Store } from '../ports/store.ts';
import type { DeliveryStatus, StoredDelivery } from '../ports/deliveries.ts';
import type { DecisionRow } from '../ports/tier-decisions.ts';
import { PLATFORM_OFF } from '../ports/deliveries.ts';
import { KyselyAuditLog } from './audit-log.ts';
import { ChatStore } from './chat-store.ts';
import { KyselyClockStore } from './clock-store.ts';
import { KyselyIntakeStore } from './intake-store.ts';
import { KyselyNotifications } from './notifications.ts';
import { decodePayload, decodePayloadAsync, type EncodedDelivery } from './payload-codec.ts';
import type { Database, DeliveriesTable } from './schema.ts';
import { KyselyTierDecisions } from './tier-decisions.ts';

const platform = z.enum(['github', 'gitlab', 'slack']);
const deliveryStatus = z.enum(['pending', 'done', 'failed', 'ignored']);

export interface KyselyStoreOptions {
  db: Kysely<Database>;
  /** Exclusive section per key (in-process and, on PostgreSQL, across processes). */
  lock: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  /** Closes everything the store depends on (queue, database). */
  onClose: () => Promise<void>;
}

const deliveryKey = (p: string, id: string): string => `${p}\u0000${id}`;

interface DeliveryKey {
  platform: string;
  deliveryId: string;
}

/** A batch's first copy of each delivery: the one that may be new (later copies are duplicates). */
export function firstCopies<D extends DeliveryKey>(batch: readonly D[]): Map<string, D> {
  const firsts = new Map<string, D>();
  for (const d of batch) {
    const k = deliveryKey(d.platform, d.deliveryId);
    if (!firsts.has(k)) firsts.set(k, d);
  }
  return firsts;
}

/** One insert of the batch's deliveries; answers the rows that were new. */
export function insertDeliveries(db: Kysely<Database>, firsts: Map<string, EncodedDelivery>) {
  const rows: InsertObject<Database, 'deliveries'>[] = [];
  for (const d of firsts.values()) {
    rows.push({
      platform: d.platform,
      delivery_id: d.deliveryId,
      event_name: d.eventName,
      payload: d.payload,
      payload_encoding: d.encoding,
      received_at: d.receivedAt,
      status: 'pending',
      last_error: null,
      body_digest: d.bodyDigest ?? null,
      // Its row is its job (storage/queue.ts): due as soon as it is stored.
      due_at: sql<Date>`now()`,
    });
  }
  // Either key may conflict: the delivery id (a retry) or the body's digest (a replay under a new id).
  return db
    .insertInto('deliveries')
    .values(rows)
    .onConflict((oc) => oc.doNothing())
    .returning(['platform', 'delivery_id']);
}

/**
 * For each item not inserted whose body was stored under another delivery id: that id (a replay).
 * One query, and only when the batch has such items.
 */
export async function withReplays<D extends DeliveryKey & { bodyDigest?: string | null }>(
  db: Kysely<Database>,
  batch: readonly D[],
  flags: { inserted: boolean }[],
): Promise<{ inserted: boolean; duplicateOf?: string }[]> {
  const candidates = batch.filter((d, i) => !flags[i]!.inserted && d.bodyDigest);
  if (candidates.length === 0) return flags;
  const rows = await db
    .selectFrom('deliveries')
    .select(['platform', 'delivery_id', 'body_digest'])
    .where('body_digest', 'in', [...new Set(candidates.map((d) => d.bodyDigest!))])
    .execute();
  const stored = new Map(rows.map((r) => [`${r.platform}\u0000${r.body_digest}`, r.delivery_id]));
  return batch.map((d, i) => {
    const first = d.bodyDigest ? stored.get(`${d.platform}\u0000${d.bodyDigest}`) : undefined;
    return !flags[i]!.inserted && first !== undefined && first !== d.deliveryId ? { inserted: false, duplicateOf: first } : flags[i]!;
  });
}

const insertedRow = z.object({ platform: z.string(), delivery_id: z.string() });

/** Per item of the batch: whether it was the one that stored its delivery. */
export function insertedFlags<D extends DeliveryKey>(
  batch: readonly D[],
  firsts: Map<string, D>,
  rows: readonly unknown[],
): { inserted: boolean }[] {
  const fresh = new Set(rows.map((r) => insertedRow.parse(r)).map((r) => deliveryKey(r.platform, r.delivery_id)));
  return batch.map((d) => {
    const k = deliveryKey(d.platform, d.deliveryId);
    return { inserted: fresh.has(k) && firsts.get(k) === d };
  });
}

export class KyselyStore implements Store {
  readonly #db: Kysely<Database>;
  readonly #opts: KyselyStoreOptions;
  #closing: Promise<void> | null = null;
  /** The escalation outbox (notices to send or update in chat), on the same database. */
  readonly outbox: ChatStore;
  // The other aggregates, each in its own module: the methods after the deliveries' hand each call to one.
  readonly #intakes: KyselyIntakeStore;
  readonly #decisions: KyselyTierDecisions;
  readonly #audit: KyselyAuditLog;
  readonly #notifications: KyselyNotifications;
  readonly #clocks: KyselyClockStore;

  constructor(opts: KyselyStoreOptions) {
    this.#db = opts.db;
    this.#opts = opts;
    this.outbox = new ChatStore(opts.db);
    this.#intakes = new KyselyIntakeStore(opts.db);
    this.#decisions = new KyselyTierDecisions(opts.db);
    this.#audit = new KyselyAuditLog(opts.db);
    this.#notifications = new KyselyNotifications(opts.db, this.outbox);
    this.#clocks = new KyselyClockStore(opts.db);
  }

  /**
   * Records a batch in one statement; a new delivery is stored due (its row is its job). On disk
   * when it resolves (the embedded driver flushes every commit).
   */
  async recordBatch(batch: EncodedDelivery[]): Promise<{ inserted: boolean; duplicateOf?: string }[]> {
    const firsts = firstCopies(batch);
    const rows = await insertDeliveries(this.#db, firsts).execute();
    return withReplays(this.#db, batch, insertedFlags(batch, firsts, rows));
  }

  async getDelivery(p: Platform, deliveryId: string): Promise<StoredDelivery | null> {
    const row = await this.#db
      .selectFrom('deliveries')
      .selectAll()
      .where('platform', '=', p)
      .where('delivery_id', '=', deliveryId)
      .executeTakeFirst();
    // The worker reads one delivery at a time; its payload can be large: inflated off this thread.
    return row ? toDelivery(row, await decodePayloadAsync(row.payload, row.payload_encoding)) : null;
  }

  async finishDelivery(p: Platform, deliveryId: string, status: Exclude<DeliveryStatus, 'pending'>, error?: string | null): Promise<void> {
    await this.#db
      .updateTable('deliveries')
      .set({ status, last_error: error ?? null, due_at: null, updated_at: new Date() })
      .where('platform', '=', p)
      .where('delivery_id', '=', deliveryId)
      // Only a pending delivery is finished: a run that lost its lease and ends late leaves the outcome recorded alone.
      .where('status', '=', 'pending')
      .execute();
  }

  async failAttempt(p: Platform, deliveryId: string, error: string): Promise<void> {
    await this.#db
      .updateTable('deliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error, updated_at: new Date() }))
      .where('platform', '=', p)
      .where('delivery_id', '=', deliveryId)
      .where('status', '=', 'pending')
      .execute();
  }

  async countDeliveries(status: DeliveryStatus): Promise<number> {
    const r = await this.#db
      .selectFrom('deliveries')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('status', '=', status)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async pendingDeliveryIds(platform: Platform, limit: number, parkedOnly = false): Promise<string[]> {
    let q = this.#db.selectFrom('deliveries').select('delivery_id').where('platform', '=', platform).where('status', '=', 'pending');
    if (parkedOnly) q = q.where('last_error', 'like', `%${PLATFORM_OFF}`);
    const rows = await q.orderBy('received_at').orderBy('delivery_id').limit(limit).execute();
    return rows.map((r) => r.delivery_id);
  }

  async listDeliveries(status: DeliveryStatus, limit: number): Promise<StoredDelivery[]> {
    const rows = await this.#db
      .selectFrom('deliveries')
      .selectAll()
      .where('status', '=', status)
      .orderBy('received_at')
      .orderBy('delivery_id')
      .limit(limit)
      .execute();
    return rows.map((r) => toDelivery(r));
  }

  async retryDelivery(p: Platform, deliveryId: string): Promise<boolean> {
    const r = await this.#db
      .updateTable('deliveries')
      .set({
        status: 'pending',
        attempts: 0,
        hand_backs: 0,
        due_at: sql<Date>`now()`,
        claimed_until: null,
        claimed_by: null,
        updated_at: new Date(),
      })
      .where('platform', '=', p)
      .where('delivery_id', '=', deliveryId)
      .where('status', '=', 'failed')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async saveIntake(r: IntakeRow): Promise<void> {
    return this.#intakes.saveIntake(r);
  }

  async getIntake(issueKey: string): Promise<IntakeRow | null> {
    return this.#intakes.getIntake(issueKey);
  }

  async closeIntake(issueKey: string, at: Date): Promise<void> {
    return this.#intakes.closeIntake(issueKey, at);
  }

  async openIntakesForService(service: string): Promise<IntakeRow[]> {
    return this.#intakes.openIntakesForService(service);
  }

  async latestDecision(issueKey: string): Promise<DecisionRow | null> {
    return this.#decisions.latestDecision(issueKey);
  }

  async recordDecision(r: DecisionRow): Promise<void> {
    return this.#decisions.recordDecision(r);
  }

  async decisionHistory(issueKey: string): Promise<DecisionRow[]> {
    return this.#decisions.decisionHistory(issueKey);
  }

  async appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void> {
    return this.#audit.appendAudit(entries);
  }

  async auditFor(issueKey: string): Promise<AuditEntry[]> {
    return this.#audit.auditFor(issueKey);
  }

  async enqueueNotification(n: NotificationInput): Promise<{ inserted: boolean }> {
    return this.#notifications.enqueueNotification(n);
  }

  async saveClocks(row: ClockRow): Promise<void> {
    return this.#clocks.saveClocks(row);
  }

  async getClocks(issueKey: string): Promise<ClockRow | null> {
    return this.#clocks.getClocks(issueKey);
  }

  async claimDueClocks(now: Date, limit: number, leaseMs: number): Promise<ClockRow[]> {
    return this.#clocks.claimDueClocks(now, limit, leaseMs);
  }

  async releaseClockClaims(): Promise<number> {
    return this.#clocks.releaseClockClaims();
  }

  async listOpenClocks(limit: number): Promise<ClockRow[]> {
    return this.#clocks.listOpenClocks(limit);
  }

  async nextClockDue(after: Date): Promise<Date | null> {
    return this.#clocks.nextClockDue(after);
  }

  async recordMiss(m: { issueKey: string; tool: string; kind: string; at: Date }): Promise<void> {
    return this.#clocks.recordMiss(m);
  }

  async countMisses(tools: readonly string[], since: Date): Promise<Record<string, number>> {
    return this.#clocks.countMisses(tools, since);
  }

  withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#opts.lock(key, fn);
  }

  close(): Promise<void> {
    this.#closing ??= this.#opts.onClose();
    return this.#closing;
  }
}

function toDelivery(r: Selectable<DeliveriesTable>, payload: string = decodePayload(r.payload, r.payload_encoding)): StoredDelivery {
  return {
    platform: platform.parse(r.platform),
    deliveryId: r.delivery_id,
    eventName: r.event_name,
    payload,
    receivedAt: r.received_at,
    status: deliveryStatus.parse(r.status),
    attempts: Number(r.attempts),
    lastError: r.last_error,
  };
}
