/**
 * The embedded database's delivery writer. A batch's deliveries and their jobs go to the database
 * thread as one message and are written in one transaction, with the WAL position read after it;
 * the WAL is then flushed before any delivery of the batch is acknowledged. One thread hop and one
 * commit per batch, where separate statements would cost three hops and two commits.
 *
 * Every delivery of the batch gets its job, new or not: job ids are derived from the delivery, so
 * a duplicate's job is the one already there (pg-boss skips it), and a job that runs for a
 * delivery already handled finds it no longer pending and does nothing.
 */
import type { Kysely } from 'kysely';
import type { PgBossQueue } from '../jobs/queue.ts';
import { firstCopies, insertDeliveries, insertedFlags } from './kysely-store.ts';
import type { EncodedDelivery } from './payload-codec.ts';
import type { PgliteGate, Statement } from './pglite-dialect.ts';
import type { Database } from './schema.ts';
import { POSITION_SQL, segmentName, type WalSync } from './wal-sync.ts';

export interface PgliteWriterDeps {
  db: Kysely<Database>;
  gate: PgliteGate;
  queue: PgBossQueue;
  /** Null: acknowledge without flushing (tests that do not need durability). */
  wal: WalSync | null;
}

export function pgliteDeliveryWriter({ db, gate, queue, wal }: PgliteWriterDeps): (batch: EncodedDelivery[]) => Promise<{ inserted: boolean }[]> {
  return async (batch) => {
    const firsts = firstCopies(batch);
    const insert = insertDeliveries(db, firsts).compile();
    const jobs = await queue.insertStatement([...firsts.values()].map((d) => ({ platform: d.platform, deliveryId: d.deliveryId })));
    const statements: Statement[] = [
      { text: insert.sql, params: [...insert.parameters] },
      { text: jobs.text, params: jobs.values },
    ];
    const results = await gate.transaction(statements, wal ? [{ text: POSITION_SQL, params: [] }] : []);
    if (wal) await wal.flushTo(segmentName(results[2]?.rows ?? []));
    queue.jobsAdded();
    return insertedFlags(batch, firsts, results[0]?.rows ?? []);
  };
}
