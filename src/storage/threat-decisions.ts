/** The threat-model decision log over Kysely (PGlite and PostgreSQL alike). */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { ThreatLogStore } from '../ports/threat-log.ts';
import type { Database } from './schema.ts';

const row = z.object({
  issue_key: z.string(),
  comment_id: z.string(),
  decided_by: z.string(),
  decided_at: z.coerce.date(),
  text: z.string(),
});

export function threatLogStore(db: Kysely<Database>): ThreatLogStore {
  return {
    async recordThreatDecision(d, deliveryId) {
      const inserted = await db
        .insertInto('threat_decisions')
        .values({
          issue_key: d.issueKey,
          comment_id: d.commentId,
          decided_by: d.decidedBy,
          decided_at: d.decidedAt,
          text: d.text,
          delivery_id: deliveryId,
        })
        .onConflict((oc) => oc.columns(['issue_key', 'comment_id']).doNothing())
        .returning('id')
        .execute();
      return { inserted: inserted.length > 0 };
    },
    async threatDecisions(issueKey) {
      const rows = await db
        .selectFrom('threat_decisions')
        .select(['issue_key', 'comment_id', 'decided_by', 'decided_at', 'text'])
        .where('issue_key', '=', issueKey)
        .orderBy('decided_at')
        .orderBy('id')
        .execute();
      return rows.map((r) => {
        const p = row.parse(r);
        return { issueKey: p.issue_key, commentId: p.comment_id, decidedBy: p.decided_by, decidedAt: p.decided_at, text: p.text };
      });
    },
  };
}
