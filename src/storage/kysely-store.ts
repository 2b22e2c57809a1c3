/** The Store port over Kysely: the same queries for PGlite and PostgreSQL. */
import { sql, type InsertObject, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { Platform } from '../core/model.ts';
import type {
  AuditEntry,
  DecisionRow,
  DeliveryInput,
  DeliveryStatus,
  IntakeRow,
  NotificationInput,
  NotificationRow,
  ClockRow,
  Store,
  StoredDelivery,
} from '../ports/store.ts';
import { PLATFORM_OFF } from '../ports/store.ts';
import { ChatStore } from './chat-store.ts';
import { GroupCommit } from './group-commit.ts';
import { leaseFree, releaseLeases } from './leases.ts';
import { decodePayload, decodePayloadAsync, encodeDelivery, type EncodedDelivery } from './payload-codec.ts';
import type {
  AuditLogTable,
  ClocksTable,
  Database,
  DeliveriesTable,
  IntakeRecordsTable,
  NotificationsTable,
  TierDecisionsTable,
} from './schema.ts';

const platform = z.enum(['github', 'gitlab', 'slack']);
const deliveryStatus = z.enum(['pending', 'done', 'failed', 'ignored']);
const notificationStatus = z.enum(['pending', 'sent', 'failed']);
const outcome = z.enum(['ok', 'error', 'skipped']);
const tier = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).nullable();
const reason = z.object({
  rule: z.string(),
  summary: z.string(),
  evidence: z.array(z.string()),
  tier,
  route: z.string().nullable(),
});
const answers = z.record(z.string(), z.union([z.string(), z.array(z.string()), z.null()]));
const problems = z.array(z.object({ field: z.string(), message: z.string() }));
const routes = z.array(z.string());

export interface KyselyStoreOptions {
  db: Kysely<Database>;
  /** Exclusive section per key (in-process and, on PostgreSQL, across processes). */
  lock: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  /** Closes everything the store depends on (queue, database). */
  onClose: () => Promise<void>;
}

const json = (v: unknown): string => JSON.stringify(v === undefined ? null : v);

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

/** The end of the last error of a delivery kept pending while its platform was off (see jobs/process-delivery.ts). */

export class KyselyStore implements Store {
  readonly #db: Kysely<Database>;
  readonly #opts: KyselyStoreOptions;
  #closing: Promise<void> | null = null;
  #outbox: ChatStore | null = null;

  constructor(opts: KyselyStoreOptions) {
    this.#db = opts.db;
    this.#opts = opts;
  }

  /** Concurrent recordDelivery calls share one insert and one flush (group commit). */
  readonly #inbox = new GroupCommit<EncodedDelivery, { inserted: boolean; duplicateOf?: string }>((batch) => this.recordBatch(batch), 128);

  recordDelivery(d: DeliveryInput): Promise<{ inserted: boolean; duplicateOf?: string }> {
    return this.#inbox.submit(encodeDelivery(d));
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
      .execute();
  }

  async failAttempt(p: Platform, deliveryId: string, error: string): Promise<void> {
    await this.#db
      .updateTable('deliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error, updated_at: new Date() }))
      .where('platform', '=', p)
      .where('delivery_id', '=', deliveryId)
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
    const values = {
      issue_key: r.issueKey,
      platform: r.platform,
      repo: r.repo,
      number: r.number,
      answers: json(r.answers),
      problems: json(r.problems),
      complete: r.complete,
      updated_at: r.updatedAt,
      closed_at: null,
    };
    await this.#db
      .insertInto('intake_records')
      .values(values)
      .onConflict((oc) =>
        oc.column('issue_key').doUpdateSet({
          platform: values.platform,
          repo: values.repo,
          number: values.number,
          answers: values.answers,
          problems: values.problems,
          complete: values.complete,
          updated_at: values.updated_at,
          closed_at: null,
        }),
      )
      .execute();
  }

  async closeIntake(issueKey: string, at: Date): Promise<void> {
    await this.#db.updateTable('intake_records').set({ closed_at: at }).where('issue_key', '=', issueKey).execute();
  }

  async openIntakesForService(service: string): Promise<IntakeRow[]> {
    const wanted = service.trim().toLowerCase();
    const rows = await this.#db
      .selectFrom('intake_records')
      .selectAll()
      .where('closed_at', 'is', null)
      .where(sql<string>`lower(trim(answers->>'service'))`, '=', wanted)
      .orderBy('updated_at', 'asc')
      .execute();
    return rows
      .map(toIntake)
      .filter((r) => typeof r.answers['service'] === 'string' && r.answers['service'].trim().toLowerCase() === wanted);
  }

  async getIntake(issueKey: string): Promise<IntakeRow | null> {
    const row = await this.#db.selectFrom('intake_records').selectAll().where('issue_key', '=', issueKey).executeTakeFirst();
    return row ? toIntake(row) : null;
  }

  async latestDecision(issueKey: string): Promise<DecisionRow | null> {
    const row = await this.#db
      .selectFrom('tier_decisions')
      .selectAll()
      .where('issue_key', '=', issueKey)
      .orderBy('decided_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toDecision(row) : null;
  }

  async recordDecision(r: DecisionRow): Promise<void> {
    await this.#db
      .insertInto('tier_decisions')
      .values({
        issue_key: r.issueKey,
        tier: r.tier,
        routes: json(r.routes),
        reasons: json(r.reasons),
        decided_at: r.decidedAt,
        delivery_id: r.deliveryId,
      })
      .execute();
  }

  async decisionHistory(issueKey: string): Promise<DecisionRow[]> {
    const rows = await this.#db
      .selectFrom('tier_decisions')
      .selectAll()
      .where('issue_key', '=', issueKey)
      .orderBy('decided_at')
      .orderBy('id')
      .execute();
    return rows.map(toDecision);
  }

  async appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void> {
    const list = Array.isArray(entries) ? entries : [entries as AuditEntry];
    if (list.length === 0) return;
    await this.#db
      .insertInto('audit_log')
      .values(
        list.map((e) => ({
          at: e.at,
          delivery_id: e.deliveryId,
          issue_key: e.issueKey,
          action: e.action,
          detail: json(e.detail),
          outcome: e.outcome,
          error: e.error ?? null,
        })),
      )
      .execute();
  }

  async auditFor(issueKey: string): Promise<AuditEntry[]> {
    const rows = await this.#db.selectFrom('audit_log').selectAll().where('issue_key', '=', issueKey).orderBy('at').orderBy('id').execute();
    return rows.map(toAudit);
  }

  /** The escalation outbox (notices to send or update in chat), on the same database. */
  get outbox(): ChatStore {
    this.#outbox ??= new ChatStore(this.#db);
    return this.#outbox;
  }

  async enqueueNotification(n: NotificationInput): Promise<{ inserted: boolean }> {
    if (n.notice) {
      const { inserted } = await this.outbox.enqueue({
        key: n.key,
        channel: n.channel,
        text: n.text,
        notice: n.notice,
        createdAt: n.createdAt,
      });
      return { inserted };
    }
    const rows = await this.#db
      .insertInto('notifications')
      .values({ key: n.key, channel: n.channel, text: n.text, status: 'pending', created_at: n.createdAt })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .execute();
    return { inserted: rows.length > 0 };
  }

  async listNotifications(status?: NotificationRow['status']): Promise<NotificationRow[]> {
    let q = this.#db.selectFrom('notifications').selectAll();
    if (status) q = q.where('status', '=', status);
    const rows = await q.orderBy('created_at').orderBy('key').execute();
    return rows.map(toNotification);
  }

  /** Marks a notification sent or failed (the outbox worker keeps its own finer state). */
  async setNotificationStatus(key: string, status: NotificationRow['status']): Promise<void> {
    await this.#db.updateTable('notifications').set({ status, updated_at: new Date() }).where('key', '=', key).execute();
  }

  async saveClocks(row: ClockRow): Promise<void> {
    const values = {
      issue_key: row.issueKey,
      issue_ref: json(row.target),
      installation_id: row.installationId === null ? null : String(row.installationId),
      clocks: json(row.clocks),
      next_fire_at: row.nextFireAt,
      claimed_until: null,
      updated_at: new Date(),
    };
    await this.#db
      .insertInto('clocks')
      .values(values)
      .onConflict((oc) =>
        oc.column('issue_key').doUpdateSet({
          issue_ref: values.issue_ref,
          installation_id: values.installation_id,
          clocks: values.clocks,
          next_fire_at: values.next_fire_at,
          claimed_until: null,
          updated_at: values.updated_at,
        }),
      )
      .execute();
  }

  async getClocks(issueKey: string): Promise<ClockRow | null> {
    const row = await this.#db.selectFrom('clocks').selectAll().where('issue_key', '=', issueKey).executeTakeFirst();
    return row ? toClockRow(row) : null;
  }

  async claimDueClocks(now: Date, limit: number, leaseMs: number): Promise<ClockRow[]> {
    const rows = await claimDueClocksQuery(this.#db, now, limit, leaseMs).execute();
    return rows.map(toClockRow);
  }

  releaseClockClaims(): Promise<number> {
    return releaseLeases(this.#db, 'clocks');
  }

  async listOpenClocks(limit: number): Promise<ClockRow[]> {
    const rows = await this.#db
      .selectFrom('clocks')
      .selectAll()
      .where('next_fire_at', 'is not', null)
      .orderBy('next_fire_at')
      .limit(limit)
      .execute();
    return rows.map(toClockRow);
  }

  async nextClockDue(after: Date): Promise<Date | null> {
    const row = await this.#db
      .selectFrom('clocks')
      .select('next_fire_at')
      .where('next_fire_at', 'is not', null)
      .where('next_fire_at', '>', after)
      .orderBy('next_fire_at')
      .limit(1)
      .executeTakeFirst();
    return row?.next_fire_at ?? null;
  }

  async recordMiss(m: { issueKey: string; tool: string; kind: string; at: Date }): Promise<void> {
    await this.#db
      .insertInto('clock_misses')
      .values({ issue_key: m.issueKey, tool: m.tool, kind: m.kind, missed_at: m.at })
      .onConflict((oc) => oc.columns(['issue_key', 'kind']).doNothing())
      .execute();
  }

  async countMisses(tools: readonly string[], since: Date): Promise<Record<string, number>> {
    if (tools.length === 0) return {};
    const rows = await this.#db
      .selectFrom('clock_misses')
      .select(['tool', (eb) => eb.fn.countAll<string>().as('n')])
      .where('tool', 'in', [...tools])
      .where('missed_at', '>=', since)
      .groupBy('tool')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.tool, Number(r.n)]));
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

function toIntake(r: Selectable<IntakeRecordsTable>): IntakeRow {
  return {
    issueKey: r.issue_key,
    platform: platform.parse(r.platform),
    repo: r.repo,
    number: Number(r.number),
    answers: answers.parse(r.answers),
    problems: problems.parse(r.problems),
    complete: r.complete,
    updatedAt: r.updated_at,
  };
}

function toDecision(r: Selectable<TierDecisionsTable>): DecisionRow {
  return {
    issueKey: r.issue_key,
    tier: r.tier,
    routes: routes.parse(r.routes),
    reasons: z.array(reason).parse(r.reasons),
    decidedAt: r.decided_at,
    deliveryId: r.delivery_id,
  };
}

function toAudit(r: Selectable<AuditLogTable>): AuditEntry {
  return {
    at: r.at,
    deliveryId: r.delivery_id,
    issueKey: r.issue_key,
    action: r.action,
    detail: r.detail,
    outcome: outcome.parse(r.outcome),
    error: r.error,
  };
}

function toNotification(r: Selectable<NotificationsTable>): NotificationRow {
  return {
    key: r.key,
    channel: r.channel,
    text: r.text,
    status: notificationStatus.parse(r.status),
    createdAt: r.created_at,
  };
}

const date = z.coerce.date();
const clockState = z.object({
  kind: z.enum(['slo', 'rto']),
  criticality: z.enum(['critical', 'high', 'medium', 'low']),
  targetMinutes: z.number(),
  openedAt: date,
  consumedMinutes: z.number(),
  runningSince: date.nullable(),
  stopped: z.boolean(),
  warnAt: date.nullable(),
  dueAt: date.nullable(),
  warnedAt: date.nullable(),
  breachedAt: date.nullable(),
  tool: z.string().nullable().default(null),
});
/** Stored clocks, as read back (shared with the outbox's queue view). */
export const clockStatesSchema = z.array(clockState);

const issueRef = z.object({
  repo: z.object({ platform, fullName: z.string(), id: z.number().nullable(), defaultBranch: z.string().nullable() }),
  number: z.number(),
  kind: z.enum(['issue', 'change']).optional(),
});

function toClockRow(r: Selectable<ClocksTable>): ClockRow {
  return {
    issueKey: r.issue_key,
    target: issueRef.parse(r.issue_ref),
    installationId: r.installation_id === null ? null : Number(r.installation_id),
    clocks: z.array(clockState).parse(r.clocks),
    nextFireAt: r.next_fire_at,
  };
}

/**
 * The scheduler's claim: due rows only (read through the partial index on next_fire_at), not
 * claimed by another worker, leased until now + leaseMs. Exported so that bench/clocks can explain it.
 */
export function claimDueClocksQuery(db: Kysely<Database>, now: Date, limit: number, leaseMs: number) {
  return db
    .updateTable('clocks')
    .set({ claimed_until: new Date(now.getTime() + leaseMs) })
    .where('issue_key', 'in', (qb) =>
      qb
        .selectFrom('clocks')
        .select('issue_key')
        .where('next_fire_at', 'is not', null)
        .where('next_fire_at', '<=', now)
        .where(leaseFree(now))
        .orderBy('next_fire_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll();
}
