/**
 * Queuing notifications over Kysely: a structured notice goes through the escalation outbox
 * (chat-store.ts, which may update its message); plain text is queued once per key.
 */
import type { Kysely } from 'kysely';
import type { NotificationInput, Notifications } from '../ports/notifications.ts';
import type { ChatStore } from './chat-store.ts';
import type { Database } from './schema.ts';

export class KyselyNotifications implements Notifications {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly outbox: ChatStore,
  ) {}

  async enqueueNotification(n: NotificationInput): Promise<{ inserted: boolean }> {
    if (n.notice) {
      const { inserted } = await this.outbox.enqueue({
        key: n.key,
        channel: n.channel,
        text: n.text,
        notice: n.notice,
        createdAt: n.createdAt,
      });
      return { inserted };
    }
    const rows = await this.db
      .insertInto('notifications')
      .values({ key: n.key, channel: n.channel, text: n.text, status: 'pending', created_at: n.createdAt })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .execute();
    return { inserted: rows.length > 0 };
  }
}
