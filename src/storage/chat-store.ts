/**
 * The escalation outbox over Kysely (PGlite and PostgreSQL): notices waiting to be sent or updated,
 * the Slack message each became, who acknowledged it, and each channel's next free send slot.
 * Claims are leased rows taken with `for update skip locked`, so replicas never send one twice.
 */
import { CONFIDENTIAL_ANSWER } from '../core/chat/confidential.ts';
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import { NOTICE_KINDS, type Notice, type NoticeKind } from '../core/chat/notice.ts';
import type { ClockState } from '../core/outage/clocks.ts';
import { clockStatesSchema } from './clock-store.ts';
import { leaseFree, releaseLeases } from './leases.ts';
import type { NoticeOutbox, OutboxRow } from '../ports/outbox.ts';
import type { Database, NotificationsTable } from './schema.ts';

export const noticeSchema: z.ZodType<Notice> = z.object({
  kind: z.enum(NOTICE_KINDS as [NoticeKind, ...NoticeKind[]]),
  title: z.string(),
  reasons: z.array(z.string()),
  severity: z.string().nullable(),
  owner: z.string().nullable(),
  due: z.array(z.object({ label: z.string(), at: z.string() })),
  url: z.string().nullable(),
  labels: z.array(z.string()),
  route: z.string().nullable(),
  itemKey: z.string().nullable(),
  terms: z.string().nullable().optional(),
});

const status = z.enum(['pending', 'sent', 'failed']);

function toRow(r: Selectable<NotificationsTable>): OutboxRow {
  const parsed = r.notice === null ? null : noticeSchema.safeParse(r.notice);
  return {
    key: r.key,
    channel: r.channel,
    text: r.text,
    notice: parsed && parsed.success ? parsed.data : null,
    status: status.parse(r.status),
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    channelId: r.channel_id,
    messageTs: r.message_ts,
    revision: Number(r.revision),
    sentRevision: Number(r.sent_revision),
    itemKey: r.item_key,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    owner: r.owner,
    createdAt: r.created_at,
    claimedUntil: r.claimed_until,
    postStartedAt: r.post_started_at,
  };
}

export interface EnqueueNotice {
  key: string;
  channel: string;
  text: string;
  notice: Notice;
  createdAt: Date;
}

export class ChatStore implements NoticeOutbox {
  readonly #listeners = new Set<() => void>();

  /** Called after a notice is queued or re-queued in this process (the outbox worker wakes up). */
  onQueued(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #queued(): void {
    for (const l of this.#listeners) l();
  }

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * A new notice is queued; a notice whose key exists and whose content changed is queued again as
   * an update of the same message (its revision goes up). The same content again is a no-op.
   */
  async enqueue(n: EnqueueNotice): Promise<{ inserted: boolean; updated: boolean }> {
    const notice = JSON.stringify(n.notice);
    const rows = await this.db
      .insertInto('notifications')
      .values({
        key: n.key,
        channel: n.channel,
        text: n.text,
        notice,
        status: 'pending',
        created_at: n.createdAt,
        item_key: n.notice.itemKey,
      })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({
            text: (eb) => eb.ref('excluded.text'),
            notice: (eb) => eb.ref('excluded.notice'),
            revision: sql`notifications.revision + 1`,
            // A notice about other terms (an exception request edited) is not approved by a click on the old one.
            acknowledged_by: sql`case when notifications.notice->>'terms' is distinct from excluded.notice->>'terms' then null else notifications.acknowledged_by end`,
            acknowledged_at: sql`case when notifications.notice->>'terms' is distinct from excluded.notice->>'terms' then null else notifications.acknowledged_at end`,
            status: 'pending',
            attempts: 0,
            next_attempt_at: null,
            updated_at: n.createdAt,
          })
          .where(sql<boolean>`notifications.notice is distinct from excluded.notice`),
      )
      .returning([sql<boolean>`xmax = 0`.as('inserted')])
      .execute();
    const row = rows[0];
    if (row) this.#queued();
    return { inserted: row ? Boolean(row.inserted) : false, updated: row ? !row.inserted : false };
  }

  /** Leases up to `limit` notices due at `now` that no other worker holds, oldest first. */
  async claimDue(now: Date, limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const rows = await this.db
      .updateTable('notifications')
      .set({ claimed_until: new Date(now.getTime() + leaseMs) })
      .where('key', 'in', (qb) =>
        qb
          .selectFrom('notifications')
          .select('key')
          .where('status', '=', 'pending')
          .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
          .where(leaseFree(now))
          .orderBy('created_at')
          .orderBy('key')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
    return rows.map(toRow).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.key.localeCompare(b.key));
  }

  /**
   * Takes the channel's send slot when it is free at `now` (the next one is then `intervalMs`
   * later): null. When it is not, nothing is taken and the moment it frees is returned — the notice
   * waits in the outbox until then, no worker waits for it. Replicas share the slot, so a channel
   * gets at most one message per interval (and none before a 429's Retry-After ran out) whatever the
   * number of processes.
   */
  async takeSlot(channel: string, now: Date, intervalMs: number): Promise<Date | null> {
    const next = new Date(now.getTime() + intervalMs);
    const taken = await this.db
      .insertInto('chat_channels')
      .values({ channel, next_slot: next })
      .onConflict((oc) => oc.column('channel').doUpdateSet({ next_slot: next }).where('chat_channels.next_slot', '<=', now))
      .returning('next_slot')
      .executeTakeFirst();
    if (taken) return null;
    const row = await this.db.selectFrom('chat_channels').select('next_slot').where('channel', '=', channel).executeTakeFirst();
    // Freed between the two statements (a clock step backwards): tried again at once.
    return row && row.next_slot > now ? row.next_slot : now;
  }

  /** The channel may not be written to before `until` (a 429's Retry-After). */
  async holdChannel(channel: string, until: Date): Promise<void> {
    await this.db
      .insertInto('chat_channels')
      .values({ channel, next_slot: until })
      .onConflict((oc) => oc.column('channel').doUpdateSet({ next_slot: sql`greatest(chat_channels.next_slot, ${until}::timestamptz)` }))
      .execute();
  }

  /**
   * Extends the lease a worker holds, just before it sends: false when the lease was lost (it ran
   * out and another worker claimed the notice), and then this worker must not send it. With
   * `postAt`, a new message is about to be posted: that is recorded too, on disk before this
   * resolves (an earlier unsettled start is kept), so that should this worker die once Slack has the
   * message, the next one finds it instead of posting it again.
   */
  async extendLease(key: string, held: Date | null, until: Date, postAt?: Date): Promise<boolean> {
    if (held === null) return false;
    const update = () =>
      this.db
        .updateTable('notifications')
        .set({ claimed_until: until, ...(postAt ? { post_started_at: sql<Date>`coalesce(post_started_at, ${postAt}::timestamptz)` } : {}) })
        .where('key', '=', key)
        .where('claimed_until', '=', held)
        .returning('key')
        .execute();
    const rows = await update();
    return rows.length > 0;
  }

  /**
   * Leases held by workers of an earlier run are given up: for the embedded database, where only
   * one process runs at a time (the data dir's lock), so a lease found at start belongs to a dead one.
   */
  releaseClaims(): Promise<number> {
    return releaseLeases(this.db, 'notifications');
  }

  /** The channel id Slack gave for a configured channel name, when one of our posts taught it. */
  async channelId(channel: string): Promise<string | null> {
    const row = await this.db.selectFrom('chat_channels').select('channel_id').where('channel', '=', channel).executeTakeFirst();
    return row?.channel_id ?? null;
  }

  /** Sent (or updated) as of `revision`; the lease ends. A newer revision stays pending. */
  async markSent(key: string, revision: number, message: { channelId: string; ts: string }, at: Date): Promise<void> {
    await this.db
      .updateTable('notifications')
      .set({
        channel_id: message.channelId,
        message_ts: message.ts,
        sent_revision: revision,
        status: sql`case when revision > ${revision} then 'pending' else 'sent' end`,
        claimed_until: null,
        post_started_at: null,
        last_error: null,
        attempts: 0,
        next_attempt_at: null,
        updated_at: at,
      })
      .where('key', '=', key)
      .execute();
  }

  /** Remembers the id Slack answered for a channel name (used to read its history after a crash). */
  async learnChannelId(channel: string, channelId: string): Promise<void> {
    await this.db
      .updateTable('chat_channels')
      .set({ channel_id: channelId })
      .where('channel', '=', channel)
      .where((eb) => eb.or([eb('channel_id', 'is', null), eb('channel_id', '!=', channelId)]))
      .execute();
  }

  /**
   * A failed attempt: tried again at `retryAt` (retryable), or kept as failed (`retryAt` null).
   * `maybePosted`: no answer came, so the message may exist (the post's start is kept for the check).
   */
  async markFailed(key: string, error: string, retryAt: Date | null, at: Date, maybePosted = false): Promise<void> {
    await this.db
      .updateTable('notifications')
      .set({
        attempts: sql`attempts + 1`,
        last_error: error.slice(0, 1000),
        next_attempt_at: retryAt,
        status: retryAt ? 'pending' : 'failed',
        claimed_until: null,
        ...(maybePosted ? {} : { post_started_at: null }),
        updated_at: at,
      })
      .where('key', '=', key)
      .execute();
  }

  async get(key: string): Promise<OutboxRow | null> {
    const row = await this.db.selectFrom('notifications').selectAll().where('key', '=', key).executeTakeFirst();
    return row ? toRow(row) : null;
  }

  async forItem(itemKey: string): Promise<OutboxRow[]> {
    const rows = await this.db.selectFrom('notifications').selectAll().where('item_key', '=', itemKey).orderBy('created_at').execute();
    return rows.map(toRow);
  }

  /** Escalations nobody acknowledged yet, oldest first. */
  async openEscalations(limit: number): Promise<OutboxRow[]> {
    const rows = await this.db
      .selectFrom('notifications')
      .selectAll()
      .where('acknowledged_at', 'is', null)
      .where('status', '!=', 'failed')
      // Digests are reports, not escalations.
      .where(sql<boolean>`coalesce(notice->>'kind', '') <> 'digest'`)
      .orderBy('created_at')
      .orderBy('key')
      .limit(limit)
      .execute();
    return rows.map(toRow);
  }

  async countByStatus(): Promise<Record<'pending' | 'sent' | 'failed', number>> {
    const rows = await this.db
      .selectFrom('notifications')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute();
    const out = { pending: 0, sent: 0, failed: 0 };
    for (const r of rows) out[status.parse(r.status)] = Number(r.n);
    return out;
  }

  /** Intakes not closed, with their latest tier and when Gatehouse first classified them. */
  async openIntakes(
    limit: number,
  ): Promise<{ key: string; tier: number | null; complete: boolean; service: string | null; since: Date }[]> {
    const rows = await this.db
      .selectFrom('intake_records as i')
      .select((eb) => [
        'i.issue_key',
        'i.complete',
        'i.updated_at',
        // A confidential issue's service stays off chat.
        sql<string | null>`case when i.answers->>${sql.lit(CONFIDENTIAL_ANSWER)} = 'yes' then null else i.answers->>'service' end`.as(
          'service',
        ),
        eb
          .selectFrom('tier_decisions as t')
          .select('t.tier')
          .whereRef('t.issue_key', '=', 'i.issue_key')
          .orderBy('t.decided_at', 'desc')
          .orderBy('t.id', 'desc')
          .limit(1)
          .as('tier'),
        eb
          .selectFrom('tier_decisions as f')
          .select((e) => e.fn.min('f.decided_at').as('first'))
          .whereRef('f.issue_key', '=', 'i.issue_key')
          .as('first_at'),
      ])
      .where('i.closed_at', 'is', null)
      .orderBy('i.updated_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      key: r.issue_key,
      tier: r.tier === null || r.tier === undefined ? null : Number(r.tier),
      complete: r.complete,
      service: r.service ?? null,
      since: r.first_at ? new Date(r.first_at as unknown as string) : r.updated_at,
    }));
  }

  /** Issues with clocks (running, warned or breached), for the queue view. */
  async activeClocks(limit: number): Promise<{ key: string; clocks: ClockState[] }[]> {
    const rows = await this.db.selectFrom('clocks').select(['issue_key', 'clocks']).orderBy('updated_at', 'desc').limit(limit).execute();
    return rows.flatMap((r) => {
      const parsed = clockStatesSchema.safeParse(r.clocks);
      return parsed.success ? [{ key: r.issue_key, clocks: parsed.data }] : [];
    });
  }

  /** Holds a notice back until `until` without counting an attempt (its channel is rate limited). */
  async defer(key: string, until: Date, at: Date): Promise<void> {
    await this.db
      .updateTable('notifications')
      .set({ next_attempt_at: until, claimed_until: null, updated_at: at })
      .where('key', '=', key)
      .execute();
  }

  /** Records an acknowledgement (the first one wins) and queues the message's update. */
  async acknowledge(key: string, by: string, at: Date): Promise<OutboxRow | null> {
    const rows = await this.db
      .updateTable('notifications')
      .set({
        acknowledged_by: by,
        acknowledged_at: at,
        revision: sql`revision + 1`,
        status: 'pending',
        next_attempt_at: null,
        updated_at: at,
      })
      .where('key', '=', key)
      .where('acknowledged_at', 'is', null)
      .returningAll()
      .execute();
    if (rows[0]) this.#queued();
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** Records who took ownership and queues the message's update. */
  async takeOwnership(key: string, owner: string, at: Date): Promise<OutboxRow | null> {
    const rows = await this.db
      .updateTable('notifications')
      .set({ owner, revision: sql`revision + 1`, status: 'pending', next_attempt_at: null, updated_at: at })
      .where('key', '=', key)
      .where('owner', 'is', null)
      .returningAll()
      .execute();
    if (rows[0]) this.#queued();
    return rows[0] ? toRow(rows[0]) : null;
  }
}
