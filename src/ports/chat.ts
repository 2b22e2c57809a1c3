/** The Chat port: where escalation notices go (Slack), and what chat-ops needs of it. */
import type { Notice } from '../core/chat/notice.ts';

/** What has happened to an escalation since it was raised, shown on its message. */
export interface NoticeState {
  key: string;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  owner: string | null;
}

/** The message a notice became: where to update it. */
export interface PostedMessage {
  channelId: string;
  ts: string;
}

/** The chat service asked us to wait (HTTP 429): try again no sooner than `retryAfterMs`. */
export class ChatRateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`rate limited: retry after ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

/** The request cannot succeed as it is (unknown channel, bad token, not in channel): no retry. */
export class ChatRejected extends Error {}

/**
 * Any other failure (no answer, 5xx, Slack's internal errors) is retried later with backoff; after
 * one on a post the message may exist, and the next post first looks for it (`findPosted`).
 */
export interface Chat {
  /** Posts a new message for the notice, tagged with the notice's key (found again by `findPosted`). */
  post(channel: string, notice: Notice, state: NoticeState, fallbackText: string): Promise<PostedMessage>;
  /**
   * The message a post of notice `key` to `channel` became, if one exists among the channel's
   * messages since `since`: the check made before posting again after an attempt whose outcome is
   * unknown. `channelId` is the channel's id when already known. ChatRejected when the history
   * cannot be read (missing scope, unknown channel).
   */
  findPosted(channel: string, channelId: string | null, key: string, since: Date): Promise<PostedMessage | null>;
  /** Replaces the message a notice became. */
  update(message: PostedMessage, notice: Notice, state: NoticeState, fallbackText: string): Promise<void>;
  /** Members (user ids) of a user group. */
  groupMembers(groupId: string): Promise<string[]>;
}
