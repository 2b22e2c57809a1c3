/**
 * The escalation outbox worker: sends queued notices to chat and keeps each one's message up to
 * date. Nothing is dropped: a notice leaves the outbox only when Slack took it, or when Slack
 * refused it for good (unknown channel, bad token), and then it is kept as failed, counted and
 * logged. Each channel gets at most one message per interval (a slot reserved in the database, so
 * replicas share it); a 429's Retry-After holds the channel and the notice; any other failure is
 * retried with capped backoff for as long as it takes.
 */
import type { Logger } from 'pino';
import type { Notice } from '../core/chat/notice.ts';
import { ChatRateLimited, ChatRejected, type Chat, type NoticeState } from '../ports/chat.ts';
import type { Metrics } from '../server/metrics.ts';
import type { ChatStore, OutboxRow } from '../storage/chat-store.ts';

export interface ChatOutboxDeps {
  outbox: ChatStore;
  chat: Chat;
  now: () => Date;
  logger: Logger;
  metrics: Metrics;
  /** Per-channel spacing between messages (the policy's chat.sendIntervalMs). */
  sendIntervalMs: () => number;
  /** Renders the plain-text fallback of a notice. */
  fallbackText: (notice: Notice) => string;
  /** How often the worker looks for notices queued by other replicas or due for retry. Default 1000. */
  pollMs?: number;
  leaseMs?: number;
  batch?: number;
  /** Wait before retry `n` (1-based) of a failure that gave no Retry-After. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
}

export const defaultBackoff = (n: number): number => Math.min(1000 * 2 ** (n - 1), 60_000);

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function legacyNotice(row: OutboxRow): Notice {
  return { kind: 'manual', title: row.text, reasons: [], severity: null, owner: null, due: [], url: null, labels: [], route: null, itemKey: row.itemKey };
}

export class ChatOutbox {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #again = false;
  #stopped = false;
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: ChatOutboxDeps) {}

  start(): void {
    this.#stopped = false;
    this.#unsubscribe = this.deps.outbox.onQueued(() => this.wake());
    const poll = (): void => this.wake();
    this.#timer = setInterval(poll, this.deps.pollMs ?? 1000);
    this.#timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }

  /** Drains now (or right after the drain under way). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.drain().catch((err: unknown) => this.deps.logger.error({ err }, 'chat outbox drain failed'));
  }

  /** One drain; returns how many messages went out. Drains never overlap. */
  drain(): Promise<number> {
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  async #drain(): Promise<number> {
    let sent = 0;
    for (let round = 0; round < 50 && !this.#stopped; round++) {
      const due = await this.deps.outbox.claimDue(this.deps.now(), this.deps.batch ?? 50, this.deps.leaseMs ?? 120_000);
      if (due.length === 0) break;
      const byChannel = new Map<string, OutboxRow[]>();
      for (const row of due) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), row]);
      const counts = await Promise.all([...byChannel.entries()].map(([channel, rows]) => this.#sendChannel(channel, rows)));
      sent += counts.reduce((a, b) => a + b, 0);
    }
    return sent;
  }

  /** A channel's notices in order; a 429 holds the rest of the batch for that channel. */
  async #sendChannel(channel: string, rows: OutboxRow[]): Promise<number> {
    const { outbox, chat, metrics, logger } = this.deps;
    const sleep = this.deps.sleep ?? realSleep;
    let sent = 0;
    for (const [i, row] of rows.entries()) {
      const slot = await outbox.reserveSlot(channel, this.deps.now(), this.deps.sendIntervalMs());
      const wait = slot.getTime() - this.deps.now().getTime();
      if (wait > 0) await sleep(wait);
      // The claim may have run out while this channel's earlier notices waited (Slack slow, many
      // queued): renew it, or leave the notice to whoever claimed it since — never send it twice.
      const lease = new Date(this.deps.now().getTime() + (this.deps.leaseMs ?? 120_000));
      if (!(await outbox.extendLease(row.key, row.claimedUntil, lease))) {
        logger.warn({ channel, key: row.key }, 'outbox lease lost before sending: another worker has this notice');
        continue;
      }
      row.claimedUntil = lease;
      const notice = row.notice ?? legacyNotice(row);
      const state: NoticeState = { key: row.key, acknowledgedBy: row.acknowledgedBy, acknowledgedAt: row.acknowledgedAt, owner: row.owner };
      const text = this.deps.fallbackText(notice);
      try {
        if (row.channelId && row.messageTs) {
          await chat.update({ channelId: row.channelId, ts: row.messageTs }, notice, state, text);
          await outbox.markSent(row.key, row.revision, { channelId: row.channelId, ts: row.messageTs }, this.deps.now());
          metrics.chatMessages.inc({ outcome: 'updated' });
        } else {
          const posted = await chat.post(channel, notice, state, text);
          await outbox.markSent(row.key, row.revision, posted, this.deps.now());
          metrics.chatMessages.inc({ outcome: 'posted' });
        }
        sent++;
      } catch (err) {
        const now = this.deps.now();
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof ChatRateLimited) {
          const until = new Date(now.getTime() + err.retryAfterMs);
          await outbox.holdChannel(channel, until);
          // This notice and the rest of the channel's batch wait out the Retry-After.
          await outbox.markFailed(row.key, message, until, now);
          for (const r of rows.slice(i + 1)) await outbox.defer(r.key, until, now);
          metrics.chatMessages.inc({ outcome: 'rate_limited' });
          logger.warn({ channel, key: row.key, retryAfterMs: err.retryAfterMs }, 'Slack rate limit: waiting before sending again');
          return sent;
        }
        if (err instanceof ChatRejected) {
          await outbox.markFailed(row.key, message, null, now);
          metrics.chatMessages.inc({ outcome: 'failed' });
          logger.error({ channel, key: row.key, err: message }, 'Slack refused an escalation notice; kept as failed (fix the channel or token, then requeue)');
          continue;
        }
        const retryAt = new Date(now.getTime() + (this.deps.backoffMs ?? defaultBackoff)(row.attempts + 1));
        await outbox.markFailed(row.key, message, retryAt, now);
        metrics.chatMessages.inc({ outcome: 'retried' });
        logger.warn({ channel, key: row.key, attempt: row.attempts + 1, retryAt, err: message }, 'could not reach Slack; the notice will be sent later');
      }
    }
    return sent;
  }
}
