/**
 * The escalation outbox worker: sends queued notices to chat and keeps each one's message up to
 * date. It runs on the background-job mechanism (background-job.ts: leased rows, a run on demand
 * and every poll). Nothing is dropped: a notice leaves the outbox only when Slack took it, or when
 * Slack refused it for good (unknown channel, bad token), and then it is kept as failed, counted and
 * logged. Each channel gets at most one message per interval (a slot kept in the database, so
 * replicas share it); a 429's Retry-After holds the channel. A notice whose channel is not free
 * waits in the outbox until it is (its row says when, a timer wakes the worker then): no worker
 * waits on a channel, so one channel held back never holds back another's notices. Any other
 * failure is retried with capped backoff for as long as it takes. Why rows under a lease rather
 * than a job kept apart from them: see the decision at the top of background-job.ts.
 *
 * A post is recorded as begun (on disk) before it goes out and settled when Slack's answer is
 * stored. A post left unsettled — the process died after Slack took it, or no answer came — makes
 * the next attempt look for the message in the channel's recent history (each message carries its
 * notice's key as metadata) and adopt it, so a notice is not posted twice.
 */
import type { Logger } from 'pino';
import type { Notice } from '../core/chat/notice.ts';
import { ChatRateLimited, ChatRejected, type Chat, type NoticeState, type PostedMessage } from '../ports/chat.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { NoticeOutbox, OutboxRow } from '../ports/outbox.ts';
import { BackgroundJob } from './background-job.ts';

export interface ChatOutboxDeps {
  outbox: NoticeOutbox;
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
  /**
   * Only this process uses the outbox (the embedded database, locked to one process): leases
   * found at start were held by a run that died, and are given up rather than waited out.
   */
  soleWorker?: boolean;
}

/** How far before an unsettled post's start the channel's history is searched (clock skew). */
const HISTORY_MARGIN_MS = 60_000;
/** How long after an unsettled post began its channel's history is read (the post may still land). */
export const UNSETTLED_WAIT_MS = 30_000;

export const defaultBackoff = (n: number): number => Math.min(1000 * 2 ** (n - 1), 60_000);

function legacyNotice(row: OutboxRow): Notice {
  return {
    kind: 'manual',
    title: row.text,
    reasons: [],
    severity: null,
    owner: null,
    due: [],
    url: null,
    labels: [],
    route: null,
    itemKey: row.itemKey,
  };
}

export class ChatOutbox {
  readonly #job: BackgroundJob<number>;
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: ChatOutboxDeps) {
    this.#job = new BackgroundJob({
      run: () => this.#drain(),
      onError: (err) => this.deps.logger.error({ err }, 'chat outbox drain failed'),
      ...(deps.soleWorker
        ? {
            releaseLeases: () => this.deps.outbox.releaseClaims(),
            onReleased: (n: number) =>
              this.deps.logger.warn(
                { notices: n },
                'notices claimed by the previous run (which stopped without finishing them) are taken up again',
              ),
          }
        : {}),
    });
  }

  /** Drains now, on every notice queued in this process, and every `pollMs` (other replicas' notices, retries). */
  start(): void {
    this.#unsubscribe = this.deps.outbox.onQueued(() => this.wake());
    this.#job.start(this.deps.pollMs ?? 1000);
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#job.stop();
  }

  /** Drains now (or right after the drain under way). */
  wake(): void {
    this.#job.wake();
  }

  /** One drain; returns how many messages went out. Drains never overlap. */
  drain(): Promise<number> {
    return this.#job.run();
  }

  /** The outbox holds a notice until `at` (its channel's slot, a Retry-After): the worker looks again then. */
  #deferred(at: Date): void {
    this.#job.wakeIn(at.getTime() - this.deps.now().getTime());
  }

  async #drain(): Promise<number> {
    let sent = 0;
    for (let round = 0; round < 50 && !this.#job.stopping; round++) {
      const due = await this.deps.outbox.claimDue(this.deps.now(), this.deps.batch ?? 50, this.deps.leaseMs ?? 120_000);
      if (due.length === 0) break;
      const byChannel = new Map<string, OutboxRow[]>();
      for (const row of due) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), row]);
      const counts = await Promise.all([...byChannel.entries()].map(([channel, rows]) => this.#sendChannel(channel, rows)));
      sent += counts.reduce((a, b) => a + b, 0);
    }
    return sent;
  }

  /** A channel's notices in order; a channel not free (its slot, a 429) holds the rest of the batch for that channel. */
  async #sendChannel(channel: string, rows: OutboxRow[]): Promise<number> {
    const { outbox, chat, metrics, logger } = this.deps;
    let sent = 0;
    for (const [i, row] of rows.entries()) {
      const posting = !(row.channelId && row.messageTs);
      // A post left unsettled may still be landing (Slack slow enough to time out): its history
      // is read once it has had time to, not at once.
      const settled = row.postStartedAt ? new Date(row.postStartedAt.getTime() + UNSETTLED_WAIT_MS) : null;
      if (posting && settled && settled > this.deps.now()) {
        await outbox.defer(row.key, settled, this.deps.now());
        this.#deferred(settled);
        continue;
      }
      const busyUntil = await outbox.takeSlot(channel, this.deps.now(), this.deps.sendIntervalMs());
      if (busyUntil) {
        // The channel is not free yet: this notice and the rest of its batch wait in the outbox.
        const now = this.deps.now();
        for (const r of rows.slice(i)) await outbox.defer(r.key, busyUntil, now);
        this.#deferred(busyUntil);
        return sent;
      }
      // The claim may have run out while this channel's earlier notices were sent (Slack slow, many
      // queued): renew it, or leave the notice to whoever claimed it since — never send it twice.
      const renewedAt = this.deps.now();
      const lease = new Date(renewedAt.getTime() + (this.deps.leaseMs ?? 120_000));
      // A new message: its post is recorded as begun, on disk, before it goes out.
      if (!(await outbox.extendLease(row.key, row.claimedUntil, lease, posting ? renewedAt : undefined))) {
        logger.warn({ channel, key: row.key }, 'outbox lease lost before sending: another worker has this notice');
        continue;
      }
      row.claimedUntil = lease;
      const notice = row.notice ?? legacyNotice(row);
      const state: NoticeState = { key: row.key, acknowledgedBy: row.acknowledgedBy, acknowledgedAt: row.acknowledgedAt, owner: row.owner };
      const text = this.deps.fallbackText(notice);
      // The post's mark is cleared once its message is stored, or when Slack refused this very post
      // (an error answer or a 429: no message then). Any other failure may follow a message that
      // exists — no answer, a 5xx from a gateway, the store failing after Slack took it — and the
      // next attempt reads the history first.
      let refused = false;
      try {
        if (!posting) {
          const message = { channelId: row.channelId!, ts: row.messageTs! };
          await chat.update(message, notice, state, text);
          await outbox.markSent(row.key, row.revision, message, this.deps.now());
          metrics.chatMessages.inc({ outcome: 'updated' });
        } else {
          const earlier = row.postStartedAt ? await this.#findEarlierPost(channel, row) : null;
          if (earlier) {
            await this.#adopt(earlier, row, notice, state, text);
          } else {
            const posted = await chat.post(channel, notice, state, text).catch((err: unknown) => {
              refused = err instanceof ChatRejected || err instanceof ChatRateLimited;
              throw err;
            });
            await outbox.markSent(row.key, row.revision, posted, this.deps.now());
            await outbox.learnChannelId(channel, posted.channelId);
            metrics.chatMessages.inc({ outcome: 'posted' });
          }
        }
        sent++;
      } catch (err) {
        const now = this.deps.now();
        const message = err instanceof Error ? err.message : String(err);
        const maybePosted = posting && !refused;
        if (err instanceof ChatRateLimited) {
          const until = new Date(now.getTime() + err.retryAfterMs);
          await outbox.holdChannel(channel, until);
          // This notice and the rest of the channel's batch wait out the Retry-After.
          await outbox.markFailed(row.key, message, until, now, maybePosted);
          for (const r of rows.slice(i + 1)) await outbox.defer(r.key, until, now);
          this.#deferred(until);
          metrics.chatMessages.inc({ outcome: 'rate_limited' });
          logger.warn({ channel, key: row.key, retryAfterMs: err.retryAfterMs }, 'Slack rate limit: waiting before sending again');
          return sent;
        }
        if (err instanceof ChatRejected) {
          await outbox.markFailed(row.key, message, null, now, maybePosted);
          metrics.chatMessages.inc({ outcome: 'failed' });
          logger.error(
            { channel, key: row.key, err: message },
            'Slack refused an escalation notice; kept as failed (fix the channel or token, then requeue)',
          );
          continue;
        }
        const retryAt = new Date(now.getTime() + (this.deps.backoffMs ?? defaultBackoff)(row.attempts + 1));
        await outbox.markFailed(row.key, message, retryAt, now, maybePosted);
        this.#deferred(retryAt);
        metrics.chatMessages.inc({ outcome: 'retried' });
        logger.warn(
          { channel, key: row.key, attempt: row.attempts + 1, retryAt, err: message },
          'could not reach Slack; the notice will be sent later',
        );
      }
    }
    return sent;
  }

  /**
   * The message an earlier, unsettled post of this notice became, from the channel's history; null
   * when there is none. When the history cannot be read at all (a scope missing), the notice is
   * posted again and may show twice: said in the log, never dropped.
   */
  async #findEarlierPost(channel: string, row: OutboxRow): Promise<PostedMessage | null> {
    const since = new Date(row.postStartedAt!.getTime() - HISTORY_MARGIN_MS);
    try {
      return await this.deps.chat.findPosted(channel, await this.deps.outbox.channelId(channel), row.key, since);
    } catch (err) {
      if (!(err instanceof ChatRejected)) throw err;
      this.deps.logger.warn(
        { channel, key: row.key, err: err.message },
        'cannot read the channel history to check for an earlier post of this notice (grant channels:history and groups:history); posting it, it may show twice',
      );
      return null;
    }
  }

  /** An earlier post of the notice exists: it becomes the notice's message, brought up to date. */
  async #adopt(message: PostedMessage, row: OutboxRow, notice: Notice, state: NoticeState, text: string): Promise<void> {
    const { outbox, chat, metrics, logger } = this.deps;
    try {
      await chat.update(message, notice, state, text);
    } catch (err) {
      if (!(err instanceof ChatRejected)) throw err;
      logger.warn({ key: row.key, err: err.message }, 'found the earlier message of a notice but could not bring it up to date');
    }
    await outbox.markSent(row.key, row.revision, message, this.deps.now());
    await outbox.learnChannelId(row.channel, message.channelId);
    metrics.chatMessages.inc({ outcome: 'found' });
    logger.info(
      { key: row.key, channelId: message.channelId, ts: message.ts },
      'an earlier post of the notice reached Slack; kept it instead of posting again',
    );
  }
}
