/**
 * The rows the lease queue (./queue.ts) works: a delivery's job is its row in `deliveries`, a gate
 * re-evaluation its row in `gate_evaluations`. Each statement here is one update (or insert, or
 * delete) of the rows themselves, on the database's clock; a row is held by the claim that leased
 * it (`claimed_by`), and a statement about a claim that lost its lease changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { DeliveryJob, GateEvaluationJob } from '../ports/queue.ts';
import type { Database } from './schema.ts';

/** One claimed row. `job` is null when the row's job could not be read (it is dropped). */
export interface Claimed<T> {
  id: string;
  claim: string;
  job: T | null;
  attempts: number;
  handBacks: number;
  /**
   * The row was held by an earlier claim whose lease ran out (its worker stopped, died or stalled
   * mid-job): that run counts as a failed attempt, already added to `attempts` by the claim.
   */
  leaseRanOut: boolean;
}

export interface LeasedRows<T> {
  /**
   * Up to `limit` due rows (and rows whose lease ran out, one more failed attempt each), leased for
   * `leaseSeconds`; skips rows others hold.
   */
  claim(limit: number, leaseSeconds: number): Promise<Claimed<T>[]>;
  /** Extends the leases of these claims (the heartbeat of running jobs). */
  renew(claims: readonly string[], leaseSeconds: number): Promise<void>;
  /** The job ran to its end; false when the claim had lost its lease (another worker may have taken the row). */
  complete(c: Claimed<T>): Promise<boolean>;
  /** A failed attempt: due again in `delaySeconds`, or failed for good past `retryLimit` retries (returns true then). */
  fail(c: Claimed<T>, error: string, delaySeconds: number, retryLimit: number): Promise<boolean>;
  /** Back to waiting, due in `waitMs`, attempts unchanged, one more hand-back. */
  handBack(c: Claimed<T>, waitMs: number, reason: string): Promise<void>;
  /** Failed for good with `error`, its attempts spent already (a job whose leases kept running out). */
  giveUp(c: Claimed<T>, error: string): Promise<void>;
  /** A row whose job could not be read: removed from the queue. */
  drop(c: Claimed<T>): Promise<void>;
  /**
   * Every lease runs out now (the embedded database at start: they were a dead run's): their rows
   * are claimed again at once, the dead run counted as a failed attempt. Returns how many.
   */
  releaseAll(): Promise<number>;
}

const seconds = (ms: number): number => Math.max(0, ms) / 1000;

/** Extends the leases of these claims on `table` (both tables keep `claimed_by` and `claimed_until`). */
async function renewClaims(
  db: Kysely<Database>,
  table: 'deliveries' | 'gate_evaluations',
  claims: readonly string[],
  leaseSeconds: number,
) {
  if (claims.length === 0) return;
  await sql`update ${sql.table(table)} set claimed_until = now() + make_interval(secs => ${leaseSeconds}::float8)
    where claimed_by in (${sql.join(claims.map((c) => sql`${c}`))})`.execute(db);
}

/** A row the claim statement returned, as the queue takes it. */
function claimed<T>(
  id: string,
  r: { claimed_by: string; attempts: number; hand_backs: number; ran_out: boolean },
  job: T | null,
): Claimed<T> {
  return { id, claim: r.claimed_by, job, attempts: Number(r.attempts), handBacks: Number(r.hand_backs), leaseRanOut: r.ran_out === true };
}

/** Kept as the last error of a row whose lease ran out mid-job. */
export const LEASE_RAN_OUT = 'its run did not end: its lease ran out (the worker stopped, died or stalled)';

/** Deliveries: waiting = pending with `due_at` set; a run that ends leaves `due_at` null. */
export class DeliveryRows implements LeasedRows<DeliveryJob> {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(limit: number, leaseSeconds: number): Promise<Claimed<DeliveryJob>[]> {
    const prefix = randomUUID();
    // The rows are picked and locked in a CTE (run once, never inlined: it locks rows), then leased.
    const { rows } = await sql<{
      platform: string;
      delivery_id: string;
      claimed_by: string;
      attempts: number;
      hand_backs: number;
      ran_out: boolean;
    }>`
      with picked as (
        select platform, delivery_id, claimed_until is not null as ran_out from deliveries
        where status = 'pending' and due_at <= now() and (claimed_until is null or claimed_until < now())
        order by due_at limit ${limit} for update skip locked)
      update deliveries d set claimed_until = now() + make_interval(secs => ${leaseSeconds}::float8),
        claimed_by = ${prefix} || ':' || d.platform || ':' || d.delivery_id,
        attempts = d.attempts + case when picked.ran_out then 1 else 0 end,
        last_error = case when picked.ran_out then ${LEASE_RAN_OUT} else d.last_error end
      from picked where d.platform = picked.platform and d.delivery_id = picked.delivery_id
      returning d.platform, d.delivery_id, d.claimed_by, d.attempts, d.hand_backs, picked.ran_out`.execute(this.db);
    return rows.map((r) => {
      const platform = z.enum(['github', 'gitlab', 'slack']).safeParse(r.platform);
      return claimed(`${r.platform}:${r.delivery_id}`, r, platform.success ? { platform: platform.data, deliveryId: r.delivery_id } : null);
    });
  }

  renew(claims: readonly string[], leaseSeconds: number): Promise<void> {
    return renewClaims(this.db, 'deliveries', claims, leaseSeconds);
  }

  async complete(c: Claimed<DeliveryJob>): Promise<boolean> {
    const { rows } = await sql`update deliveries set due_at = null, claimed_until = null, claimed_by = null, hand_backs = 0
      where claimed_by = ${c.claim} returning 1`.execute(this.db);
    return rows.length > 0;
  }

  async fail(c: Claimed<DeliveryJob>, error: string, delaySeconds: number, retryLimit: number): Promise<boolean> {
    const { rows } = await sql<{ status: string }>`
      update deliveries set attempts = attempts + 1, last_error = ${error}, claimed_until = null, claimed_by = null, hand_backs = 0,
        updated_at = now(),
        due_at = case when attempts + 1 > ${retryLimit}::int then null else now() + make_interval(secs => ${delaySeconds}::float8) end,
        status = case when attempts + 1 > ${retryLimit}::int and status = 'pending' then 'failed' else status end
      where claimed_by = ${c.claim} returning status`.execute(this.db);
    return rows[0]?.status === 'failed';
  }

  async handBack(c: Claimed<DeliveryJob>, waitMs: number): Promise<void> {
    await sql`update deliveries set due_at = now() + make_interval(secs => ${seconds(waitMs)}::float8),
        claimed_until = null, claimed_by = null, hand_backs = hand_backs + 1
      where claimed_by = ${c.claim}`.execute(this.db);
  }

  async giveUp(c: Claimed<DeliveryJob>, error: string): Promise<void> {
    await sql`update deliveries set status = case when status = 'pending' then 'failed' else status end, last_error = ${error},
        due_at = null, claimed_until = null, claimed_by = null, hand_backs = 0, updated_at = now()
      where claimed_by = ${c.claim}`.execute(this.db);
  }

  async drop(c: Claimed<DeliveryJob>): Promise<void> {
    await this.complete(c);
  }

  async releaseAll(): Promise<number> {
    const { rows } = await sql`update deliveries set claimed_until = now() - interval '1 second'
      where claimed_until is not null and claimed_until >= now() - interval '1 second' returning 1`.execute(this.db);
    return rows.length;
  }

  /** Queues a stored pending delivery that is not queued (kept while its platform was off); a waiting or running one is left alone. */
  async queue(job: DeliveryJob): Promise<boolean> {
    const { rows } = await sql`update deliveries set due_at = now(), attempts = 0, hand_backs = 0, updated_at = now()
      where platform = ${job.platform} and delivery_id = ${job.deliveryId} and status = 'pending' and due_at is null
      returning 1`.execute(this.db);
    return rows.length > 0;
  }

  /** Deliveries waiting or running. */
  async depth(): Promise<number> {
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from deliveries where status = 'pending' and due_at is not null`.execute(this.db);
    return Number(rows[0]?.n ?? 0);
  }

  /** Where a delivery's job stands: null when it has none (unknown, or pending without being queued). */
  async state(job: DeliveryJob): Promise<DeliveryJobState | null> {
    const { rows } = await sql<{ status: string; due: boolean; running: boolean; attempts: number; hand_backs: number }>`
      select status, due_at is not null as due, coalesce(claimed_until > now(), false) as running, attempts, hand_backs
      from deliveries where platform = ${job.platform} and delivery_id = ${job.deliveryId}`.execute(this.db);
    const r = rows[0];
    if (!r) return null;
    const state =
      r.status === 'pending' ? (r.due ? (r.running ? 'running' : 'waiting') : null) : r.status === 'failed' ? 'failed' : 'completed';
    return state === null ? null : { state, attempts: Number(r.attempts), handBacks: Number(r.hand_backs) };
  }
}

export interface DeliveryJobState {
  state: 'waiting' | 'running' | 'completed' | 'failed';
  /** Failed attempts so far. */
  attempts: number;
  /** Hand-backs in the current attempt. */
  handBacks: number;
}

export const evaluationData = z.object({
  platform: z.enum(['github', 'gitlab']),
  installationId: z.number().int().nullable(),
  repo: z.object({
    platform: z.enum(['github', 'gitlab']),
    fullName: z.string().min(1),
    id: z.number().nullable(),
    defaultBranch: z.string().nullable(),
  }),
  sha: z.string().min(1),
  deliveryId: z.string(),
});

/** The key under which evaluations of one repository's commit join: one waits at a time. */
export const evaluationKey = (job: Pick<GateEvaluationJob, 'repo' | 'sha'>): string =>
  `${job.repo.platform}:${job.repo.fullName.toLowerCase()}@${job.sha.toLowerCase()}`;

/** Failed evaluations are kept this long for inspection, then removed. */
const FAILED_KEPT_DAYS = 14;

/**
 * Gate re-evaluations: `waiting` (a schedule joins it), `retry` (failed or handed back: a schedule
 * makes a new one), `running`, `failed`. A run that ends removes the row.
 */
export class EvaluationRows implements LeasedRows<GateEvaluationJob> {
  constructor(private readonly db: Kysely<Database>) {}

  /** A new waiting evaluation due in `delayMs`, unless one with its key waits: then nothing (false). */
  async schedule(job: GateEvaluationJob, delayMs: number): Promise<boolean> {
    const data = evaluationData.parse(job);
    const { rows } = await sql`insert into gate_evaluations (key, job, state, due_at)
      values (${evaluationKey(data)}, ${JSON.stringify(data)}::jsonb, 'waiting', now() + make_interval(secs => ${seconds(delayMs)}::float8))
      on conflict (key) where state = 'waiting' do nothing returning id`.execute(this.db);
    return rows.length > 0;
  }

  async claim(limit: number, leaseSeconds: number): Promise<Claimed<GateEvaluationJob>[]> {
    const prefix = randomUUID();
    // A running row was due when it was claimed: every claimable row is due (one index range).
    const { rows } = await sql<{
      id: string | number;
      job: unknown;
      claimed_by: string;
      attempts: number;
      hand_backs: number;
      ran_out: boolean;
    }>`
      with picked as (
        select id, state = 'running' as ran_out from gate_evaluations
        where state <> 'failed' and due_at <= now() and (state <> 'running' or claimed_until is null or claimed_until < now())
        order by due_at limit ${limit} for update skip locked)
      update gate_evaluations g set state = 'running', claimed_until = now() + make_interval(secs => ${leaseSeconds}::float8),
        claimed_by = ${prefix} || ':' || g.id,
        attempts = g.attempts + case when picked.ran_out then 1 else 0 end,
        last_error = case when picked.ran_out then ${LEASE_RAN_OUT} else g.last_error end
      from picked where g.id = picked.id
      returning g.id, g.job, g.claimed_by, g.attempts, g.hand_backs, picked.ran_out`.execute(this.db);
    return rows.map((r) => {
      const raw: unknown = typeof r.job === 'string' ? safeJson(r.job) : r.job;
      const job = evaluationData.safeParse(raw);
      return claimed(String(r.id), r, job.success ? job.data : null);
    });
  }

  renew(claims: readonly string[], leaseSeconds: number): Promise<void> {
    return renewClaims(this.db, 'gate_evaluations', claims, leaseSeconds);
  }

  async complete(c: Claimed<GateEvaluationJob>): Promise<boolean> {
    const { rows } = await sql`delete from gate_evaluations where claimed_by = ${c.claim} returning 1`.execute(this.db);
    return rows.length > 0;
  }

  async fail(c: Claimed<GateEvaluationJob>, error: string, delaySeconds: number, retryLimit: number): Promise<boolean> {
    const { rows } = await sql<{ state: string }>`
      update gate_evaluations set attempts = attempts + 1, last_error = ${error}, claimed_until = null, claimed_by = null, hand_backs = 0,
        state = case when attempts + 1 > ${retryLimit}::int then 'failed' else 'retry' end,
        due_at = case when attempts + 1 > ${retryLimit}::int then now() else now() + make_interval(secs => ${delaySeconds}::float8) end
      where claimed_by = ${c.claim} returning state`.execute(this.db);
    return rows[0]?.state === 'failed';
  }

  async handBack(c: Claimed<GateEvaluationJob>, waitMs: number): Promise<void> {
    await sql`update gate_evaluations set state = 'retry', due_at = now() + make_interval(secs => ${seconds(waitMs)}::float8),
        claimed_until = null, claimed_by = null, hand_backs = hand_backs + 1
      where claimed_by = ${c.claim}`.execute(this.db);
  }

  async giveUp(c: Claimed<GateEvaluationJob>, error: string): Promise<void> {
    await sql`update gate_evaluations set state = 'failed', last_error = ${error}, due_at = now(), claimed_until = null, claimed_by = null
      where claimed_by = ${c.claim}`.execute(this.db);
  }

  async drop(c: Claimed<GateEvaluationJob>): Promise<void> {
    await this.complete(c);
  }

  /** Removes evaluations that failed more than two weeks ago. */
  async prune(): Promise<void> {
    await sql`delete from gate_evaluations where state = 'failed' and due_at < now() - make_interval(days => ${FAILED_KEPT_DAYS})`.execute(
      this.db,
    );
  }

  async releaseAll(): Promise<number> {
    const { rows } = await sql`update gate_evaluations set claimed_until = now() - interval '1 second'
      where state = 'running' and (claimed_until is null or claimed_until >= now() - interval '1 second') returning 1`.execute(this.db);
    return rows.length;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
