/**
 * The Chat port over Slack's Web API (@slack/web-api). The client's own retries are off: the
 * outbox decides when to try again, so a 429's Retry-After is obeyed across restarts and replicas,
 * and no call is repeated behind our back.
 */
import { ErrorCode, WebClient, type KnownBlock, type WebAPICallError } from '@slack/web-api';
import type { Notice } from '../../core/chat/notice.ts';
import { ChatRateLimited, ChatRejected, type Chat, type NoticeState, type PostedMessage } from '../../ports/chat.ts';
import { noticeBlocks } from './blocks.ts';
import { channelsSchema, historySchema, membersSchema, postedSchema } from './schema.ts';

export interface SlackWebOptions {
  token: string;
  /** Web API base, e.g. `http://127.0.0.1:9000/api/` (default Slack's own). */
  apiUrl?: string;
  timeoutMs?: number;
}

/** The metadata event each notice's message carries: its outbox key, to find it again. */
export const NOTICE_EVENT = 'gatehouse_notice';
/** Slack channel ids (public C…, private G…, direct D…) as opposed to names. */
const CHANNEL_ID = /^[CGD][A-Z0-9]{5,}$/;
/** Pages of history read when looking for an earlier post (200 messages each). */
const HISTORY_PAGES = 5;

/** Slack errors that no retry can fix. */
const PERMANENT = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'invalid_blocks',
  'msg_too_long',
  'no_permission',
  'message_not_found',
  'cant_update_message',
  'restricted_action',
]);

/** Slack's error code of a platform error (`{ ok: false, error }`), else null. */
function platformCode(err: unknown): string | null {
  const e = err as Partial<WebAPICallError> & { data?: { error?: string } };
  return e.code === ErrorCode.PlatformError ? (e.data?.error ?? null) : null;
}

function translateError(err: unknown): Error {
  const e = err as Partial<WebAPICallError> & { retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e.code === ErrorCode.RateLimitedError) return new ChatRateLimited(Math.max(1, Number(e.retryAfter ?? 1)) * 1000);
  if (e.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? 'unknown_error';
    return PERMANENT.has(code) ? new ChatRejected(`Slack refused: ${code}`) : new Error(`Slack error: ${code}`);
  }
  if (e.code === ErrorCode.HTTPError) return new Error(`Slack answered HTTP ${e.statusCode ?? '?'}`);
  // Sent, and no answer (timeout, connection dropped): Slack may have carried it out.
  if (e.code === ErrorCode.RequestError) return new Error(`no answer from Slack: ${err instanceof Error ? err.message : String(err)}`);
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

  /** Whether Slack takes the bot token (`auth.test`): null when it does, else why not (one line). */
  async verify(): Promise<string | null> {
    try {
      await this.client.auth.test();
      return null;
    } catch (err) {
      const code = platformCode(err);
      return code
        ? `Slack refused the bot token (${code}); check SLACK_BOT_TOKEN`
        : `${translateError(err).message}; check SLACK_API_URL and the network path to Slack`;
    }
  }

  async post(channel: string, notice: Notice, state: NoticeState, fallbackText: string): Promise<PostedMessage> {
    try {
      const res = await this.client.chat.postMessage({
        channel,
        text: fallbackText,
        blocks: asBlocks(notice, state),
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: NOTICE_EVENT, event_payload: { key: state.key } },
      });
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

  async findPosted(channel: string, channelId: string | null, key: string, since: Date): Promise<PostedMessage | null> {
    try {
      const id = CHANNEL_ID.test(channel) ? channel : (channelId ?? (await this.#channelIdByName(channel)));
      if (!id) throw new ChatRejected(`Slack has no channel named ${channel} that Gatehouse can see`);
      let cursor: string | undefined;
      let joined = false;
      for (let page = 0; page < HISTORY_PAGES; page++) {
        const args = {
          channel: id,
          oldest: (since.getTime() / 1000).toFixed(6),
          inclusive: true,
          limit: 200,
          include_all_metadata: true,
          ...(cursor ? { cursor } : {}),
        };
        const res = historySchema.parse(
          await this.client.conversations.history(args).catch(async (err: unknown) => {
            // Posting to a public channel needs no membership (chat:write.public), reading it does.
            if (joined || platformCode(err) !== 'not_in_channel') throw err;
            joined = true;
            await this.client.conversations.join({ channel: id });
            return this.client.conversations.history(args);
          }),
        );
        const found = res.messages.find((m) => m.metadata?.event_type === NOTICE_EVENT && m.metadata.event_payload?.['key'] === key);
        if (found) return { channelId: id, ts: found.ts };
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) return null;
      }
      return null;
    } catch (err) {
      throw err instanceof ChatRejected ? err : translateError(err);
    }
  }

  /** A channel's id from its name (`#prodsec-escalations`), through the channels the bot can list. */
  async #channelIdByName(channel: string): Promise<string | null> {
    const name = channel.replace(/^#/, '');
    let cursor: string | undefined;
    do {
      const res = channelsSchema.parse(
        await this.client.conversations.list({
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        }),
      );
      const hit = res.channels.find((c) => c.name === name);
      if (hit) return hit.id;
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return null;
  }

  async groupMembers(groupId: string): Promise<string[]> {
    try {
      return membersSchema.parse(await this.client.usergroups.users.list({ usergroup: groupId })).users;
    } catch (err) {
      throw translateError(err);
    }
  }
}
