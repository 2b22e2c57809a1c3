/**
 * What was queued for chat, read straight from the database (production only writes these rows
 * and the outbox reads them one by one): every notification, oldest first.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../src/storage/schema.ts';

export function storedNotifications(db: Kysely<Database>): Promise<{ key: string; channel: string; text: string; status: string }[]> {
  return db.selectFrom('notifications').select(['key', 'channel', 'text', 'status']).orderBy('created_at').orderBy('key').execute();
}
