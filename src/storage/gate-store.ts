/** The GateStore port over Kysely: the same queries for PGlite and PostgreSQL. */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { z } from 'zod';
import {
  GENESIS_HASH,
  type EmergencyRecord,
  type EmergencyRecordInput,
  type GateDecisionFilter,
  type GateDecisionInput,
  type GateDecisionRecord,
  type GateException,
  type GateStore,
  type RegisterKind,
  type RegisterRecord,
  type StoredException,
} from '../ports/gate-store.ts';
import { canonicalJson, toPlainJson } from '../core/canonical-json.ts';
import { recordHash, registerHash } from './decision-chain.ts';
import { Mutex } from './mutex.ts';
import type { OpenedStore } from './open.ts';
import type { Database, EmergencyRecordsTable, GateDecisionsTable, GateExceptionsTable, RegisterRecordsTable } from './schema.ts';

/** Transaction-scoped advisory lock serialising appends to the chain: ('GHDC', hashtext(CHAIN_LOCK)). */
const CHAIN_LOCK_SPACE = 0x47484443;
const CHAIN_LOCK = 'gate_decisions';
/** The same for the register chain. */
const REGISTER_LOCK = 'register_records';

export interface KyselyGateStoreOptions {
  db: Kysely<Database>;
  /** Runs at close, after the writes in progress. */
  onClose?: () => Promise<void>;
  /** GATEHOUSE_CHAIN_KEY: new decision and register records are hashed with HMAC-SHA256 under it. */
  chainKey?: string;
}

const nonEmpty = z.string().min(1);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in lower-case hex');
/** zod 4 refuses an invalid Date by itself. */
const validDate = z.date();

/** Parses an argument, or throws one readable error naming every bad field. */
function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`);
  throw new Error(`invalid ${what}: ${problems.join('; ')}`);
}

const decisionInput = z.object({
  key: nonEmpty,
  headSha: nonEmpty,
  releaseClass: nonEmpty,
  verdict: nonEmpty,
  reasons: z.array(z.unknown()),
  inputs: z.unknown(),
  policyHash: hex64,
  decidedAt: validDate,
  deliveryId: z.string().nullable(),
});

const exceptionStatus = z.enum(['requested', 'approved', 'rejected', 'revoked']);
const exceptionInput = z.object({
  id: nonEmpty,
  findingRef: nonEmpty,
  category: z.string().nullable(),
  scope: z.object({ repo: nonEmpty, paths: z.array(z.string()) }),
  compensatingControls: z.string(),
  businessOwner: z.string(),
  requestedBy: z.string(),
  requestedAt: validDate,
  expiresAt: validDate,
  status: exceptionStatus,
  approvedBy: z.string().nullable(),
  approvedAt: validDate.nullable(),
  approvedDigest: hex64.nullable(),
  renewalOf: z.string().nullable(),
});

const emergencyInput = z.object({
  key: nonEmpty,
  headSha: nonEmpty,
  reason: z.string(),
  evidence: z.unknown(),
  approver: nonEmpty,
  controlsBypassed: z.array(z.string()),
  followUp: z.object({ issueUrl: z.string().nullable(), dueAt: validDate }),
  decidedAt: validDate,
});

/** What the chain's head query answers. */
const headRow = z.object({ seq: z.union([z.string(), z.number()]).transform(Number), hash: z.string() });
const seqColumn = z.union([z.string(), z.number()]).transform(Number).pipe(z.number().int().positive());

const json = (v: unknown): string => JSON.stringify(v);

export class KyselyGateStore implements GateStore {
  readonly #db: Kysely<Database>;
  readonly #onClose: () => Promise<void>;
  readonly #chainKey: string | undefined;
  /** One durable write at a time in this process (the database serialises appends across processes). */
  readonly #writes = new Mutex();

  constructor(opts: KyselyGateStoreOptions) {
    this.#db = opts.db;
    this.#onClose = opts.onClose ?? (async () => undefined);
    this.#chainKey = opts.chainKey;
  }

  #write<T>(fn: () => Promise<T>): Promise<T> {
    return this.#writes.run(fn);
  }

  async recordGateDecision(input: GateDecisionInput): Promise<GateDecisionRecord> {
    const d = parseInput(decisionInput, input, 'decision record');
    const reasons = toPlainJson(d.reasons) as unknown[];
    const inputs = toPlainJson(d.inputs);
    return this.#write(() =>
      this.#db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${CHAIN_LOCK_SPACE}::int4, hashtext(${CHAIN_LOCK}))`.execute(trx);
        const head = await trx.selectFrom('gate_decisions').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
        const prev = head ? headRow.parse(head) : null;
        const content = {
          seq: prev ? prev.seq + 1 : 1,
          prevHash: prev ? prev.hash : GENESIS_HASH,
          key: d.key,
          headSha: d.headSha,
          releaseClass: d.releaseClass,
          verdict: d.verdict,
          reasons,
          inputs,
          policyHash: d.policyHash,
          decidedAt: d.decidedAt,
        };
        const keyed = this.#chainKey !== undefined;
        const record: GateDecisionRecord = { ...content, deliveryId: d.deliveryId, hash: recordHash(content, this.#chainKey), keyed };
        await trx
          .insertInto('gate_decisions')
          .values({
            seq: record.seq,
            key: record.key,
            head_sha: record.headSha,
            release_class: record.releaseClass,
            verdict: record.verdict,
            reasons: json(record.reasons),
            inputs: json(record.inputs),
            policy_hash: record.policyHash,
            decided_at: record.decidedAt,
            delivery_id: record.deliveryId,
            prev_hash: record.prevHash,
            hash: record.hash,
            keyed,
          })
          .execute();
        return record;
      }),
    );
  }

  async latestGateDecision(key: string): Promise<GateDecisionRecord | null> {
    const row = await this.#db
      .selectFrom('gate_decisions')
      .selectAll()
      .where('key', '=', key)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toDecisionRecord(row) : null;
  }

  async latestVerdictForCommit(keyPrefix: string, headSha: string): Promise<GateDecisionRecord | null> {
    const row = await this.#db
      .selectFrom('gate_decisions')
      .selectAll()
      .where('head_sha', '=', headSha)
      .where('verdict', '!=', 'pending')
      .where(sql<boolean>`lower(key) like ${`${keyPrefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toDecisionRecord(row) : null;
  }

  async gateDecisions(filter: GateDecisionFilter = {}): Promise<GateDecisionRecord[]> {
    let q = this.#db.selectFrom('gate_decisions').selectAll();
    if (filter.since) q = q.where('decided_at', '>=', filter.since);
    if (filter.key !== undefined) q = q.where('key', '=', filter.key);
    if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
    q = q.orderBy('seq');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    const rows = await q.execute();
    return rows.map(toDecisionRecord);
  }

  async gateDecision(seq: number): Promise<GateDecisionRecord | null> {
    if (!Number.isSafeInteger(seq) || seq < 1) return null;
    const row = await this.#db.selectFrom('gate_decisions').selectAll().where('seq', '=', seq).executeTakeFirst();
    return row ? toDecisionRecord(row) : null;
  }

  async saveException(input: GateException): Promise<void> {
    const e = parseInput(exceptionInput, input, 'exception');
    const values = {
      id: e.id,
      finding_ref: e.findingRef,
      category: e.category,
      repo: e.scope.repo,
      paths: json(e.scope.paths),
      compensating_controls: e.compensatingControls,
      business_owner: e.businessOwner,
      requested_by: e.requestedBy,
      requested_at: e.requestedAt,
      expires_at: e.expiresAt,
      status: e.status,
      approved_by: e.approvedBy,
      approved_at: e.approvedAt,
      approved_digest: e.approvedDigest,
      renewal_of: e.renewalOf,
      reminded_at: null,
      updated_at: new Date(),
    };
    await this.#write(() =>
      this.#db.transaction().execute(async (trx) => {
        const before = await trx.selectFrom('gate_exceptions').selectAll().where('id', '=', e.id).forUpdate().executeTakeFirst();
        await trx
          .insertInto('gate_exceptions')
          .values(values)
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              finding_ref: eb.ref('excluded.finding_ref'),
              category: eb.ref('excluded.category'),
              repo: eb.ref('excluded.repo'),
              paths: eb.ref('excluded.paths'),
              compensating_controls: eb.ref('excluded.compensating_controls'),
              business_owner: eb.ref('excluded.business_owner'),
              requested_by: eb.ref('excluded.requested_by'),
              requested_at: eb.ref('excluded.requested_at'),
              expires_at: eb.ref('excluded.expires_at'),
              status: eb.ref('excluded.status'),
              approved_by: eb.ref('excluded.approved_by'),
              approved_at: eb.ref('excluded.approved_at'),
              approved_digest: eb.ref('excluded.approved_digest'),
              renewal_of: eb.ref('excluded.renewal_of'),
              // A reminder was about the old expiry: a new expiry is reminded of again.
              reminded_at: sql<Date | null>`case when gate_exceptions.expires_at = excluded.expires_at then gate_exceptions.reminded_at else null end`,
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
        const content = exceptionContent(e);
        const old = before ? exceptionContent(toException(before)) : null;
        // Chained: every change of status, and every change of an approved exception's terms.
        const changed =
          old === null
            ? e.status !== 'requested'
            : old.status !== e.status || (e.status === 'approved' && canonicalJson(old) !== canonicalJson(content));
        if (changed)
          await this.#appendRegister(trx, { kind: `exception.${e.status}`, subject: e.id, content, recordedAt: values.updated_at });
      }),
    );
  }

  /** Appends a register record in the caller's transaction, under the register chain's lock. */
  async #appendRegister(
    trx: Transaction<Database>,
    r: { kind: RegisterKind; subject: string; content: unknown; recordedAt: Date },
  ): Promise<RegisterRecord> {
    await sql`select pg_advisory_xact_lock(${CHAIN_LOCK_SPACE}::int4, hashtext(${REGISTER_LOCK}))`.execute(trx);
    const head = await trx.selectFrom('register_records').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const prev = head ? headRow.parse(head) : null;
    const fields = {
      seq: prev ? prev.seq + 1 : 1,
      prevHash: prev ? prev.hash : GENESIS_HASH,
      kind: r.kind,
      subject: r.subject,
      content: toPlainJson(r.content),
      recordedAt: r.recordedAt,
    };
    const keyed = this.#chainKey !== undefined;
    const record: RegisterRecord = { ...fields, hash: registerHash(fields, this.#chainKey), keyed };
    await trx
      .insertInto('register_records')
      .values({
        seq: record.seq,
        kind: record.kind,
        subject: record.subject,
        content: json(record.content),
        recorded_at: record.recordedAt,
        prev_hash: record.prevHash,
        hash: record.hash,
        keyed,
      })
      .execute();
    return record;
  }

  async registerRecords(filter: { subject?: string; afterSeq?: number; limit?: number } = {}): Promise<RegisterRecord[]> {
    let q = this.#db.selectFrom('register_records').selectAll();
    if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject);
    if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
    q = q.orderBy('seq');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return (await q.execute()).map(toRegisterRecord);
  }

  async getException(id: string): Promise<StoredException | null> {
    const row = await this.#db.selectFrom('gate_exceptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toException(row) : null;
  }

  async exceptionsFor(repo: string): Promise<StoredException[]> {
    const rows = await this.#db
      .selectFrom('gate_exceptions')
      .selectAll()
      .where('repo', '=', repo)
      .orderBy('requested_at')
      .orderBy('id')
      .execute();
    return rows.map(toException);
  }

  async exceptionsExpiringBefore(at: Date): Promise<StoredException[]> {
    const rows = await this.#db
      .selectFrom('gate_exceptions')
      .selectAll()
      .where('status', '=', 'approved')
      .where('expires_at', '<', at)
      .orderBy('expires_at')
      .orderBy('id')
      .execute();
    return rows.map(toException);
  }

  async countExceptionsByCategory(category: string, since: Date): Promise<number> {
    const r = await this.#db
      .selectFrom('gate_exceptions')
      .select(sql<string | number>`count(distinct repo)`.as('n'))
      .where('category', '=', category)
      .where('requested_at', '>=', since)
      .where('status', '<>', 'rejected')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async markExceptionReminded(id: string, at: Date): Promise<void> {
    await this.#write(() => this.#db.updateTable('gate_exceptions').set({ reminded_at: at }).where('id', '=', id).execute());
  }

  async saveEmergencyRecord(input: EmergencyRecordInput): Promise<EmergencyRecord> {
    const r = parseInput(emergencyInput, input, 'emergency record');
    const row = await this.#write(() =>
      this.#db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('emergency_records')
          .select('id')
          .where('key', '=', r.key)
          .where('head_sha', '=', r.headSha)
          .executeTakeFirst();
        const stored = await trx
          .insertInto('emergency_records')
          .values({
            key: r.key,
            head_sha: r.headSha,
            reason: r.reason,
            evidence: json(toPlainJson(r.evidence)),
            approver: r.approver,
            controls_bypassed: json(r.controlsBypassed),
            follow_up_issue_url: r.followUp.issueUrl,
            follow_up_due_at: r.followUp.dueAt,
            decided_at: r.decidedAt,
          })
          .onConflict((oc) =>
            oc.columns(['key', 'head_sha']).doUpdateSet({
              follow_up_issue_url: sql<string | null>`coalesce(emergency_records.follow_up_issue_url, excluded.follow_up_issue_url)`,
            }),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        // Chained once, when first stored (a repeat only fills in the follow-up issue's URL).
        if (!before) {
          const e = toEmergency(stored);
          const content = {
            key: e.key,
            headSha: e.headSha,
            reason: e.reason,
            evidence: e.evidence,
            approver: e.approver,
            controlsBypassed: e.controlsBypassed,
            followUpDueAt: e.followUp.dueAt,
            decidedAt: e.decidedAt,
          };
          await this.#appendRegister(trx, { kind: 'emergency', subject: e.key, content, recordedAt: e.decidedAt });
        }
        return stored;
      }),
    );
    return toEmergency(row);
  }

  async emergencyRecordsFor(key: string): Promise<EmergencyRecord[]> {
    const rows = await this.#db
      .selectFrom('emergency_records')
      .selectAll()
      .where('key', '=', key)
      .orderBy('decided_at')
      .orderBy('id')
      .execute();
    return rows.map(toEmergency);
  }

  /** Waits for the writes in progress; the database stays open. */
  close(): Promise<void> {
    return this.#writes.run(() => this.#onClose());
  }
}

/**
 * The gate store over an opened database. On the embedded database a decision record is on disk
 * when its call resolves, as every write is (the embedded driver flushes the WAL after it).
 * `dataDir` is not needed any more; callers may still pass it.
 */
export function gateStoreFor(opened: Pick<OpenedStore, 'kind' | 'db'>, opts: { dataDir?: string; chainKey?: string }): KyselyGateStore {
  return new KyselyGateStore({ db: opened.db, ...(opts.chainKey === undefined ? {} : { chainKey: opts.chainKey }) });
}

const unknownArray = z.array(z.unknown());
const stringArray = z.array(z.string());
const dateColumn = z.date();

function toDecisionRecord(r: Selectable<GateDecisionsTable>): GateDecisionRecord {
  return {
    seq: seqColumn.parse(r.seq),
    prevHash: r.prev_hash,
    hash: r.hash,
    key: r.key,
    headSha: r.head_sha,
    releaseClass: r.release_class,
    verdict: r.verdict,
    reasons: unknownArray.parse(r.reasons),
    inputs: r.inputs,
    policyHash: r.policy_hash,
    decidedAt: dateColumn.parse(r.decided_at),
    deliveryId: r.delivery_id,
    keyed: r.keyed,
  };
}

const registerKind = z.enum(['exception.requested', 'exception.approved', 'exception.rejected', 'exception.revoked', 'emergency']);

function toRegisterRecord(r: Selectable<RegisterRecordsTable>): RegisterRecord {
  return {
    seq: seqColumn.parse(r.seq),
    prevHash: r.prev_hash,
    hash: r.hash,
    keyed: r.keyed,
    // An unknown kind is kept as stored (its hash covers it): the verifier, not this parser, judges the record.
    kind: registerKind.catch(r.kind as RegisterKind).parse(r.kind),
    subject: r.subject,
    content: r.content,
    recordedAt: dateColumn.parse(r.recorded_at),
  };
}

/** An exception's terms, status and approval as a register record holds them (plain JSON; no reminder or update times). */
function exceptionContent(e: GateException): { status: string } & Record<string, unknown> {
  return toPlainJson({
    id: e.id,
    findingRef: e.findingRef,
    category: e.category,
    scope: e.scope,
    compensatingControls: e.compensatingControls,
    businessOwner: e.businessOwner,
    requestedBy: e.requestedBy,
    requestedAt: e.requestedAt,
    expiresAt: e.expiresAt,
    status: e.status,
    approvedBy: e.approvedBy,
    approvedAt: e.approvedAt,
    approvedDigest: e.approvedDigest ?? null,
    renewalOf: e.renewalOf,
  }) as { status: string } & Record<string, unknown>;
}

function toException(r: Selectable<GateExceptionsTable>): StoredException {
  return {
    id: r.id,
    findingRef: r.finding_ref,
    category: r.category,
    scope: { repo: r.repo, paths: stringArray.parse(r.paths) },
    compensatingControls: r.compensating_controls,
    businessOwner: r.business_owner,
    requestedBy: r.requested_by,
    requestedAt: dateColumn.parse(r.requested_at),
    expiresAt: dateColumn.parse(r.expires_at),
    status: exceptionStatus.parse(r.status),
    approvedBy: r.approved_by,
    approvedAt: r.approved_at === null ? null : dateColumn.parse(r.approved_at),
    approvedDigest: r.approved_digest,
    renewalOf: r.renewal_of,
    remindedAt: r.reminded_at === null ? null : dateColumn.parse(r.reminded_at),
  };
}

function toEmergency(r: Selectable<EmergencyRecordsTable>): EmergencyRecord {
  return {
    id: seqColumn.parse(r.id),
    key: r.key,
    headSha: r.head_sha,
    reason: r.reason,
    evidence: r.evidence,
    approver: r.approver,
    controlsBypassed: stringArray.parse(r.controls_bypassed),
    followUp: { issueUrl: r.follow_up_issue_url, dueAt: dateColumn.parse(r.follow_up_due_at) },
    decidedAt: dateColumn.parse(r.decided_at),
  };
}
