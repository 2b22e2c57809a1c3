/**
 * Queuing a notification for chat (an escalation, a digest, a report to the escalation channel).
 * The escalation outbox (ports/outbox.ts) sends what is queued here.
 */
import type { Notice } from '../core/chat/notice.ts';

export interface NotificationInput {
  /** Idempotency key: a second enqueue with the same key is a no-op. */
  key: string;
  channel: string;
  text: string;
  /** The structured notice (escalations); a later enqueue with new content updates its message. */
  notice?: Notice;
  createdAt: Date;
}

export interface Notifications {
  enqueueNotification(n: NotificationInput): Promise<{ inserted: boolean }>;
}
