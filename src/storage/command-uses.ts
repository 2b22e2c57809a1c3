/** The per-account command count over Kysely (PGlite and PostgreSQL alike). */
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { CommandLedger } from '../ports/command-ledger.ts';
import type { Database } from './schema.ts';

const countRow = z.object({ sent: z.coerce.number().int(), audited: z.coerce.date().nullable() });

/**
 * The row is written before the count is read: two replicas counting the same account's commands at
 * the same moment each see the other's, so together they never let more than the limit through.
 * Writes are not fsynced one by one (a crash loses at most the last few counts).
 */
export function commandLedger(db: Kysely<Database>): CommandLedger {
  return {
    async recordCommand(c, since) {
      const actor = c.actor.trim().toLowerCase();
      await db
        .insertInto('command_uses')
        .values({ platform: c.platform, actor, delivery_id: c.deliveryId, sent_at: c.at })
        .onConflict((oc) => oc.columns(['platform', 'delivery_id']).doNothing())
        .execute();
      // What has left the window is not needed again (an audit older than the window counts as none).
      await db
        .deleteFrom('command_uses')
        .where('platform', '=', c.platform)
        .where('actor', '=', actor)
        .where('sent_at', '<', since)
        .execute();
      const row = await db
        .selectFrom('command_uses')
        .select([sql<string>`count(*)`.as('sent'), sql<Date | null>`max(case when limit_audited then sent_at end)`.as('audited')])
        .where('platform', '=', c.platform)
        .where('actor', '=', actor)
        .where('sent_at', '>=', since)
        .executeTakeFirstOrThrow();
      const parsed = countRow.parse(row);
      return { sent: parsed.sent, lastLimitAuditAt: parsed.audited };
    },
    async markLimitAudited(platform, deliveryId) {
      await db
        .updateTable('command_uses')
        .set({ limit_audited: true })
        .where('platform', '=', platform)
        .where('delivery_id', '=', deliveryId)
        .execute();
    },
  };
}
