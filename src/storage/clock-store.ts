/**
 * The SLO/RTO clocks over Kysely (PGlite and PostgreSQL): one row per issue, claimed under a lease
 * (storage/leases.ts) by the scheduler, and the misses of each tool's clocks.
 */
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { ClockRow, ClockStore } from '../ports/clock-store.ts';
import { json, platformColumn } from './columns.ts';
import { leaseFree, releaseLeases } from './leases.ts';
import type { ClocksTable, Database } from './schema.ts';

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
/** Stored clocks, as read back (shared with the outbox's queue view and the digests). */
export const clockStatesSchema = z.array(clockState);

const issueRef = z.object({
  repo: z.object({ platform: platformColumn, fullName: z.string(), id: z.number().nullable(), defaultBranch: z.string().nullable() }),
  number: z.number(),
  kind: z.enum(['issue', 'change']).optional(),
});

export class KyselyClockStore implements ClockStore {
  constructor(private readonly db: Kysely<Database>) {}

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
    await this.db
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
    const row = await this.db.selectFrom('clocks').selectAll().where('issue_key', '=', issueKey).executeTakeFirst();
    return row ? toClockRow(row) : null;
  }

  async claimDueClocks(now: Date, limit: number, leaseMs: number): Promise<ClockRow[]> {
    const rows = await claimDueClocksQuery(this.db, now, limit, leaseMs).execute();
    return rows.map(toClockRow);
  }

  releaseClockClaims(): Promise<number> {
    return releaseLeases(this.db, 'clocks');
  }

  async listOpenClocks(limit: number): Promise<ClockRow[]> {
    const rows = await this.db
      .selectFrom('clocks')
      .selectAll()
      .where('next_fire_at', 'is not', null)
      .orderBy('next_fire_at')
      .limit(limit)
      .execute();
    return rows.map(toClockRow);
  }

  async nextClockDue(after: Date): Promise<Date | null> {
    const row = await this.db
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
    await this.db
      .insertInto('clock_misses')
      .values({ issue_key: m.issueKey, tool: m.tool, kind: m.kind, missed_at: m.at })
      .onConflict((oc) => oc.columns(['issue_key', 'kind']).doNothing())
      .execute();
  }

  async countMisses(tools: readonly string[], since: Date): Promise<Record<string, number>> {
    if (tools.length === 0) return {};
    const rows = await this.db
      .selectFrom('clock_misses')
      .select(['tool', (eb) => eb.fn.countAll<string>().as('n')])
      .where('tool', 'in', [...tools])
      .where('missed_at', '>=', since)
      .groupBy('tool')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.tool, Number(r.n)]));
  }
}

function toClockRow(r: Selectable<ClocksTable>): ClockRow {
  return {
    issueKey: r.issue_key,
    target: issueRef.parse(r.issue_ref),
    installationId: r.installation_id === null ? null : Number(r.installation_id),
    clocks: clockStatesSchema.parse(r.clocks),
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
