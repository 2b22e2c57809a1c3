/**
 * The Chat port over Slack's Web API (@slack/web-api). The client's own retries are off: the
 * outbox decides when to try again, so a 429's Retry-After is obeyed across restarts and replicas,
 * and no call is repeated behind our back.
 */
import { ErrorCode, WebClient, type KnownBlock, type WebAPICallError } from '@slack/web-api';
import { z } from 'zod';
import type { Notice } from '../../core/chat/notice.ts';
import { ChatRateLimited, ChatRejected, type Chat, type NoticeState, type PostedMessage } from '../../ports/chat.ts';
import { noticeBlocks } from './blocks.ts';

export interface SlackWebOptions {
  token: string;
  /** Web API base, e.g. `http://127.0.0.1:9000/api/` (default Slack's own). */
  apiUrl?: string;
  timeoutMs?: number;
}

const postedSchema = z.object({ ok: z.literal(true), channel: z.string(), ts: z.string() });
const membersSchema = z.object({ ok: z.literal(true), users: z.array(z.string()).default([]) });

/** Slack errors that no retry can fix. */
const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'missing_scope', 'invalid_blocks', 'msg_too_long', 'no_permission', 'message_not_found', 'cant_update_message', 'restricted_action']);

function translateError(err: unknown): Error {
  const e = err as Partial<WebAPICallError> & { retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e.code === ErrorCode.RateLimitedError) return new ChatRateLimited(Math.max(1, Number(e.retryAfter ?? 1)) * 1000);
  if (e.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? 'unknown_error';
    return PERMANENT.has(code) ? new ChatRejected(`Slack refused: ${code}`) : new Error(`Slack error: ${code}`);
  }
  if (e.code === ErrorCode.HTTPError) return new Error(`Slack answered HTTP ${e.statusCode ?? '?'}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** Our blocks are built from Block Kit's documented shapes (blocks.ts); the SDK's union is stricter than needed. */
const asBlocks = (notice: Notice, state: NoticeState): KnownBlock[] => noticeBlocks(notice, state) as unknown as KnownBlock[];

export class SlackWeb implements Chat {
  readonly client: WebClient;

  constructor(opts: SlackWebOptions) {
    this.client = new WebClient(opts.token, {
      slackApiUrl: opts.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: opts.timeoutMs ?? 10_000,
      // The client's own logger prints warnings to stdout; failures reach our log through the outbox.
      logLevel: undefined,
    });
  }

  async post(channel: string, notice: Notice, state: NoticeState, fallbackText: string): Promise<PostedMessage> {
    try {
      const res = await this.client.chat.postMessage({ channel, text: fallbackText, blocks: asBlocks(notice, state), unfurl_links: false, unfurl_media: false });
      const ok = postedSchema.parse(res);
      return { channelId: ok.channel, ts: ok.ts };
    } catch (err) {
      throw translateError(err);
    }
  }

  async update(message: PostedMessage, notice: Notice, state: NoticeState, fallbackText: string): Promise<void> {
    try {
      await this.client.chat.update({ channel: message.channelId, ts: message.ts, text: fallbackText, blocks: asBlocks(notice, state) });
    } catch (err) {
      throw translateError(err);
    }
  }

  async groupMembers(groupId: string): Promise<string[]> {
    try {
      return membersSchema.parse(await this.client.usergroups.users.list({ usergroup: groupId })).users;
    } catch (err) {
      throw translateError(err);
    }
  }
}
