/**
 * Leases on rows, the storage half of the background jobs (jobs/background-job.ts): a worker claims
 * due rows by setting `claimed_until` (`for update skip locked`, so replicas never take one row
 * twice), and a row is free again once its lease has run out. Shared by the clocks and the
 * escalation outbox, the two tables whose rows are worked this way.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.ts';

/** The tables whose rows are claimed under a lease. */
export type LeasedTable = 'clocks' | 'notifications';

/** The row is claimed by no one at `now` (never claimed, or the lease ran out). */
export function leaseFree(now: Date): RawBuilder<boolean> {
  return sql<boolean>`(claimed_until is null or claimed_until < ${now})`;
}

/**
 * Gives up every lease of `table`: for the embedded database, where only one process runs at a time
 * (the data dir's lock), so a lease found at start belongs to a run that died. Returns how many.
 */
export async function releaseLeases(db: Kysely<Database>, table: LeasedTable): Promise<number> {
  const { rows } = await sql`update ${sql.table(table)} set claimed_until = null where claimed_until is not null returning 1`.execute(db);
  return rows.length;
}
