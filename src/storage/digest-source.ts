/**
 * Reads what the digests and the web page are built from (core/digest/data.ts) out of the
 * database in a few queries: intake records with their latest and first tier decisions, clocks,
 * clock misses, escalation notices, gate decision records and the exception register. Every JSON
 * column is checked with zod; a row that does not parse is left out rather than guessed at.
 */
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { DigestData, DigestGateReason } from '../core/digest/data.ts';
import { noticeSchema } from './chat-store.ts';
import { clockStatesSchema } from './clock-store.ts';
import type { DigestSource, DigestSourceOptions } from '../ports/digest-source.ts';
import type { Database } from './schema.ts';

const answersSchema = z.record(z.string(), z.union([z.string(), z.array(z.string()), z.null()]));
const rulesSchema = z.array(z.object({ rule: z.string() }).passthrough());
const gateReasonsSchema = z.array(
  z.object({ rule: z.string(), severity: z.string(), summary: z.string(), subject: z.string().nullable().default(null) }).passthrough(),
);
const dateLike = z.union([z.date(), z.string(), z.number()]).transform((v) => (v instanceof Date ? v : new Date(v)));

export async function readDigestData(db: Kysely<Database>, opts: DigestSourceOptions): Promise<DigestData> {
  const limit = opts.limit ?? 5000;
  const [intakes, clocks, misses, notices, decisions, exceptions] = await Promise.all([
    db
      .selectFrom('intake_records as i')
      .select((eb) => [
        'i.issue_key',
        'i.repo',
        'i.complete',
        'i.answers',
        'i.updated_at',
        'i.closed_at',
        eb
          .selectFrom('tier_decisions as t')
          .select('t.tier')
          .whereRef('t.issue_key', '=', 'i.issue_key')
          .orderBy('t.decided_at', 'desc')
          .orderBy('t.id', 'desc')
          .limit(1)
          .as('tier'),
        eb
          .selectFrom('tier_decisions as t')
          .select('t.reasons')
          .whereRef('t.issue_key', '=', 'i.issue_key')
          .orderBy('t.decided_at', 'desc')
          .orderBy('t.id', 'desc')
          .limit(1)
          .as('reasons'),
        eb
          .selectFrom('tier_decisions as f')
          .select((e) => e.fn.min('f.decided_at').as('first'))
          .whereRef('f.issue_key', '=', 'i.issue_key')
          .as('first_at'),
      ])
      .where((eb) => eb.or([eb('i.closed_at', 'is', null), eb('i.closed_at', '>=', opts.since), eb('i.updated_at', '>=', opts.since)]))
      .orderBy('i.updated_at', 'desc')
      .limit(limit)
      .execute(),
    db.selectFrom('clocks').select(['issue_key', 'clocks']).orderBy('updated_at', 'desc').limit(limit).execute(),
    db.selectFrom('clock_misses').selectAll().where('missed_at', '>=', opts.since).limit(limit).execute(),
    db
      .selectFrom('notifications')
      .select(['key', 'notice', 'created_at', 'acknowledged_at'])
      .where('notice', 'is not', null)
      .where((eb) => eb.or([eb('acknowledged_at', 'is', null), eb('created_at', '>=', opts.since)]))
      .where('status', '!=', 'failed')
      .orderBy('created_at')
      .limit(limit)
      .execute(),
    db
      .selectFrom('gate_decisions')
      .select(['key', 'verdict', 'release_class', 'decided_at', 'reasons'])
      .where('decided_at', '>=', opts.since)
      .orderBy('seq')
      .limit(limit)
      .execute(),
    db
      .selectFrom('gate_exceptions')
      .select(['id', 'category', 'repo', 'finding_ref', 'status', 'requested_at', 'approved_at', 'expires_at'])
      .orderBy('expires_at')
      .limit(limit)
      .execute(),
  ]);
  return {
    intakes: intakes.flatMap((r) => {
      const answers = answersSchema.safeParse(r.answers);
      if (!answers.success) return [];
      const reasons = rulesSchema.safeParse(r.reasons ?? []);
      const first = r.first_at === null || r.first_at === undefined ? null : dateLike.safeParse(r.first_at);
      return [
        {
          key: r.issue_key,
          repo: r.repo,
          complete: r.complete,
          tier: r.tier === null || r.tier === undefined ? null : Number(r.tier),
          rules: reasons.success ? reasons.data.map((x) => x.rule) : [],
          openedAt: first && first.success ? first.data : r.updated_at,
          closedAt: r.closed_at,
          answers: answers.data,
        },
      ];
    }),
    clocks: clocks.flatMap((r) => {
      const parsed = clockStatesSchema.safeParse(r.clocks);
      return parsed.success ? [{ key: r.issue_key, clocks: parsed.data }] : [];
    }),
    misses: misses.map((m) => ({ issueKey: m.issue_key, tool: m.tool, kind: m.kind, at: m.missed_at })),
    escalations: notices.flatMap((n) => {
      const parsed = noticeSchema.safeParse(n.notice);
      if (!parsed.success) return [];
      const v = parsed.data;
      return [
        {
          key: n.key,
          kind: v.kind,
          title: v.title,
          severity: v.severity,
          url: v.url,
          createdAt: n.created_at,
          acknowledgedAt: n.acknowledged_at,
        },
      ];
    }),
    gateDecisions: decisions.map((d) => {
      const reasons = gateReasonsSchema.safeParse(d.reasons);
      return {
        key: d.key,
        verdict: d.verdict,
        releaseClass: d.release_class,
        decidedAt: d.decided_at,
        reasons: reasons.success
          ? reasons.data.map((x): DigestGateReason => ({ rule: x.rule, severity: x.severity, summary: x.summary, subject: x.subject }))
          : [],
      };
    }),
    exceptions: exceptions.map((e) => ({
      id: e.id,
      category: e.category,
      repo: e.repo,
      findingRef: e.finding_ref,
      status: e.status,
      requestedAt: e.requested_at,
      approvedAt: e.approved_at,
      expiresAt: e.expires_at,
    })),
    tools: [...opts.tools],
  };
}

/** Whether a notification with this key exists already (a replica sent this period's digest). */
export async function notificationExists(db: Kysely<Database>, key: string): Promise<boolean> {
  const row = await db
    .selectFrom('notifications')
    .select(sql<number>`1`.as('one'))
    .where('key', '=', key)
    .executeTakeFirst();
  return row !== undefined;
}

/** The DigestSource port on this database. */
export function digestSource(db: Kysely<Database>): DigestSource {
  return {
    digestData: (opts) => readDigestData(db, opts),
    notificationExists: (key) => notificationExists(db, key),
  };
}
