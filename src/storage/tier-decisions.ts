/** The tier decisions over Kysely (PGlite and PostgreSQL): appended, read back in order. */
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { DecisionRow, TierDecisions } from '../ports/tier-decisions.ts';
import { json } from './columns.ts';
import type { Database, TierDecisionsTable } from './schema.ts';

const tier = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).nullable();
const reason = z.object({
  rule: z.string(),
  summary: z.string(),
  evidence: z.array(z.string()),
  tier,
  route: z.string().nullable(),
});
const routes = z.array(z.string());

export class KyselyTierDecisions implements TierDecisions {
  constructor(private readonly db: Kysely<Database>) {}

  async latestDecision(issueKey: string): Promise<DecisionRow | null> {
    const row = await this.db
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
    await this.db
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
    const rows = await this.db
      .selectFrom('tier_decisions')
      .selectAll()
      .where('issue_key', '=', issueKey)
      .orderBy('decided_at')
      .orderBy('id')
      .execute();
    return rows.map(toDecision);
  }
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
