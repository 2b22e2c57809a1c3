/**
 * The escalation outbox as the chat jobs see it (ChatOutbox sends, ChatOps reads and acknowledges);
 * src/storage/chat-store.ts keeps it in the database.
 */
import type { Notice } from '../core/chat/notice.ts';
import type { ClockState } from '../core/outage/clocks.ts';

export interface OutboxRow {
  key: string;
  channel: string;
  text: string;
  notice: Notice | null;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  channelId: string | null;
  messageTs: string | null;
  revision: number;
  sentRevision: number;
  itemKey: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  owner: string | null;
  createdAt: Date;
  /** The lease a worker holds on it (the claim's token: updates are conditional on it). */
  claimedUntil: Date | null;
  /** A post began then and was never settled: the message may exist already. */
  postStartedAt: Date | null;
}

/** An intake not closed, with its latest tier and when Gatehouse first classified it. */
export interface OpenIntake {
  key: string;
  tier: number | null;
  complete: boolean;
  service: string | null;
  since: Date;
}

export interface NoticeOutbox {
  /** Called after a notice is queued or re-queued in this process (the outbox worker wakes up). */
  onQueued(listener: () => void): () => void;
  /** Leases up to `limit` notices due at `now` that no other worker holds, oldest first. */
  claimDue(now: Date, limit: number, leaseMs: number): Promise<OutboxRow[]>;
  /**
   * Takes the channel's send slot when it is free at `now` (one message per interval across
   * replicas): null; when it is not, nothing is taken and the moment it frees is returned.
   */
  takeSlot(channel: string, now: Date, intervalMs: number): Promise<Date | null>;
  /** Gives up every lease at start, when this process is the only one on the database; answers how many. */
  releaseClaims(): Promise<number>;
  /** The channel may not be written to before `until` (a 429's Retry-After). */
  holdChannel(channel: string, until: Date): Promise<void>;
  /** Extends the lease held since `held` to `until`; `postAt` records that a post begins. */
  extendLease(key: string, held: Date | null, until: Date, postAt?: Date): Promise<boolean>;
  /** The channel id Slack gave for a configured channel name, when one of our posts taught it. */
  channelId(channel: string): Promise<string | null>;
  /** Sent (or updated) as of `revision`; the lease ends. A newer revision stays pending. */
  markSent(key: string, revision: number, message: { channelId: string; ts: string }, at: Date): Promise<void>;
  /** Remembers the id Slack answered for a channel name (used to read its history after a crash). */
  learnChannelId(channel: string, channelId: string): Promise<void>;
  /** A failed attempt: tried again at `retryAt`, or kept as failed (`retryAt` null); `maybePosted`: the message may exist. */
  markFailed(key: string, error: string, retryAt: Date | null, at: Date, maybePosted?: boolean): Promise<void>;
  get(key: string): Promise<OutboxRow | null>;
  forItem(itemKey: string): Promise<OutboxRow[]>;
  /** Escalations nobody acknowledged yet, oldest first. */
  openEscalations(limit: number): Promise<OutboxRow[]>;
  /** Intakes not closed, with their latest tier and when Gatehouse first classified them. */
  openIntakes(limit: number): Promise<OpenIntake[]>;
  /** Issues with clocks (running, warned or breached), for the queue view. */
  activeClocks(limit: number): Promise<{ key: string; clocks: ClockState[] }[]>;
  /** Holds a notice back until `until` without counting an attempt (its channel is rate limited). */
  defer(key: string, until: Date, at: Date): Promise<void>;
  /** Records an acknowledgement (the first one wins) and queues the message's update. */
  acknowledge(key: string, by: string, at: Date): Promise<OutboxRow | null>;
  /** Records who took ownership and queues the message's update. */
  takeOwnership(key: string, owner: string, at: Date): Promise<OutboxRow | null>;
}
