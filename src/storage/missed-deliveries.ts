/** The MissedDeliveryLedger port over Kysely (PGlite and PostgreSQL alike). */
import { sql, type Kysely } from 'kysely';
import type { MissedDeliveryLedger } from '../ports/missed-deliveries.ts';
import { decodePayload } from './payload-codec.ts';
import type { Database } from './schema.ts';

export function missedDeliveryLedger(db: Kysely<Database>): MissedDeliveryLedger {
  return {
    async claimRedelivery(ask) {
      const asked = await db
        .insertInto('github_redeliveries')
        .values({
          guid: ask.guid,
          hook_delivery_id: ask.hookDeliveryId,
          event: ask.event,
          delivered_at: ask.deliveredAt,
          asked_at: ask.askedAt,
          outcome: 'asking',
        })
        .onConflict((oc) => oc.column('guid').doNothing())
        .returning('guid')
        .executeTakeFirst();
      return asked !== undefined;
    },
    async settleRedelivery(guid, outcome) {
      await db.updateTable('github_redeliveries').set({ outcome }).where('guid', '=', guid).execute();
    },
    async forgetRedelivery(guid) {
      await db.deleteFrom('github_redeliveries').where('guid', '=', guid).execute();
    },
    async gitlabProjects() {
      const projects = new Set<string>();
      for (const r of await db.selectFrom('intake_records').select('repo').distinct().where('platform', '=', 'gitlab').execute())
        projects.add(r.repo);
      const clocks = await db
        .selectFrom('clocks')
        .select(sql<string>`issue_ref->'repo'->>'fullName'`.as('repo'))
        .distinct()
        .where('issue_key', 'like', 'gitlab:%')
        .execute();
      for (const r of clocks) if (r.repo) projects.add(r.repo);
      return [...projects];
    },
    async recentGitLabPayloads(since, limit) {
      const rows = await db
        .selectFrom('deliveries')
        .select(['payload', 'payload_encoding'])
        .where('platform', '=', 'gitlab')
        .where('received_at', '>=', since)
        .orderBy('received_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => decodePayload(r.payload, r.payload_encoding));
    },
    async hookHealthy(hook) {
      await db.updateTable('gitlab_hook_alerts').set({ state: 'ok' }).where('hook', '=', hook).where('state', '<>', 'ok').execute();
    },
    async hookAlert(hook, state, at) {
      // One statement decides, whichever replica runs it: a new hook or a changed state returns a row.
      const fresh = await db
        .insertInto('gitlab_hook_alerts')
        .values({ hook, state, reports: 1, reported_at: at })
        .onConflict((oc) =>
          oc
            .column('hook')
            .doUpdateSet({ state, reports: sql<number>`gitlab_hook_alerts.reports + 1`, reported_at: at })
            .where('gitlab_hook_alerts.state', '<>', state),
        )
        .returning('reports')
        .executeTakeFirst();
      return fresh === undefined ? null : Number(fresh.reports);
    },
  };
}
