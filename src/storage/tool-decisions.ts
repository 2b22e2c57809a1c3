/** Tooling intake decisions over Kysely (PGlite and PostgreSQL alike): recorded once per delivery, listed for the inventory overlay. */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CRITICALITIES } from '../core/clock/index.ts';
import type { ToolDecisionStore } from '../ports/tool-decisions.ts';
import type { Database } from './schema.ts';

const row = z.object({
  tool: z.string(),
  issue_key: z.string(),
  form: z.enum(['request', 'handover']),
  decision: z.string(),
  path_forward: z.enum(['integrate', 'maintain', 'improve', 'sunset', 'redirect']).nullable(),
  criticality: z.enum(CRITICALITIES).nullable(),
  repos: z.array(z.string()),
  owners: z.array(z.string()),
  decided_by: z.string(),
  decided_at: z.coerce.date(),
});

export function toolDecisionStore(db: Kysely<Database>): ToolDecisionStore {
  return {
    async record(d, deliveryId) {
      const inserted = await db
        .insertInto('tool_decisions')
        .values({
          tool: d.tool,
          issue_key: d.issueKey,
          form: d.form,
          decision: d.decision,
          path_forward: d.pathForward,
          criticality: d.criticality,
          repos: JSON.stringify(d.repos),
          owners: JSON.stringify(d.owners),
          decided_by: d.decidedBy,
          decided_at: d.decidedAt,
          delivery_id: deliveryId,
        })
        .onConflict((oc) => oc.column('delivery_id').doNothing())
        .returning('id')
        .execute();
      return { inserted: inserted.length > 0 };
    },
    async list() {
      const rows = await db.selectFrom('tool_decisions').selectAll().orderBy('decided_at').orderBy('id').execute();
      return rows.map((r) => {
        const p = row.parse(r);
        return {
          tool: p.tool,
          issueKey: p.issue_key,
          form: p.form,
          decision: p.decision,
          pathForward: p.path_forward,
          criticality: p.criticality,
          repos: p.repos,
          owners: p.owners,
          decidedBy: p.decided_by,
          decidedAt: p.decided_at,
        };
      });
    },
  };
}
