/** The Slack adapter's pieces: request verification, Block Kit rendering, the Web API (nock). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Notice } from '../../src/core/chat/notice.ts';
import { escapeSlack, fallbackText, noticeBlocks } from '../../src/adapters/slack/blocks.ts';
import { signSlack, verifySlackRequest } from '../../src/adapters/slack/verify.ts';
import { SlackWeb } from '../../src/adapters/slack/web.ts';
import { ChatRateLimited, ChatRejected } from '../../src/ports/chat.ts';
import { SLACK_API, SLACK_TOKEN } from '../support/slack.ts';

const SECRET = 's3cret';
const NOW = 1_764_670_000_000;
const body = Buffer.from('token=x&command=%2Fgatehouse&text=help');
const headers = (ts: number, sig = signSlack(SECRET, ts, body)) => ({ 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig });
const nowSec = Math.floor(NOW / 1000);

describe('verifySlackRequest', () => {
  it.each([
    ['a correct signature', headers(nowSec), true],
    ['a timestamp 4 minutes old', headers(nowSec - 240), true],
    ['a timestamp 6 minutes old', headers(nowSec - 360), false],
    ['a timestamp 6 minutes ahead', headers(nowSec + 360), false],
    ['a wrong signature', headers(nowSec, `v0=${'a'.repeat(64)}`), false],
    ['a truncated signature', headers(nowSec, 'v0=abc'), false],
    ['no timestamp', { 'x-slack-signature': signSlack(SECRET, nowSec, body) }, false],
    [
      'a timestamp that is not a number',
      headers(nowSec, signSlack(SECRET, 'abc', body)) && {
        'x-slack-request-timestamp': 'abc',
        'x-slack-signature': signSlack(SECRET, 'abc', body),
      },
      false,
    ],
  ])('%s → %s', (_name, h, ok) => {
    expect(verifySlackRequest(h, body, SECRET, NOW).ok).toBe(ok);
  });

  it('refuses a body changed after signing', () => {
    expect(verifySlackRequest(headers(nowSec), Buffer.from(`${body.toString()}&x=1`), SECRET, NOW).ok).toBe(false);
  });
});

const hostile: Notice = {
  kind: 'incident',
  title: '<!channel> @here <@U123> <https://evil|click> & more',
  reasons: ['Reason with <!here>'],
  severity: 'Tier 3 (leadership)',
  owner: '<@U999>',
  due: [{ label: 'Requested deadline', at: '2026-12-24T00:00:00.000Z' }],
  url: 'https://github.com/acme/app/issues/1',
  labels: ['route::incident'],
  route: 'incident',
  itemKey: 'github:acme/app#1',
};

describe('noticeBlocks', () => {
  it('puts every user-supplied text in plain_text, and escapes the fallback', () => {
    const blocks = noticeBlocks(hostile, { key: 'k', acknowledgedBy: null, acknowledgedAt: null, owner: null });
    const json = JSON.stringify(blocks);
    expect(json).not.toContain('"type":"mrkdwn"');
    expect(json).toContain('<!channel> @here <@U123> <https://evil|click>');
    expect(fallbackText(hostile)).not.toMatch(/[<>]/);
    expect(escapeSlack('<!here> & <@U1>')).toBe('&lt;!here&gt; &amp; &lt;@U1&gt;');
  });

  it('names what, why, severity, owner, due time, link and labels, with both buttons', () => {
    const blocks = noticeBlocks(hostile, { key: 'k', acknowledgedBy: null, acknowledgedAt: null, owner: null });
    const json = JSON.stringify(blocks);
    for (const s of [
      'Suspected active exploitation',
      'Reason with',
      'Tier / criticality: Tier 3 (leadership)',
      'Owner: <@U999>',
      'Requested deadline: 2026-12-24 00:00 UTC',
      'https://github.com/acme/app/issues/1',
      'route::incident',
      'gatehouse_acknowledge',
      'gatehouse_take_ownership',
    ]) {
      expect(json).toContain(s);
    }
  });

  it('shows the acknowledgement and owner, and drops the buttons they replace', () => {
    const json = JSON.stringify(
      noticeBlocks(hostile, { key: 'k', acknowledgedBy: 'U1', acknowledgedAt: new Date('2026-12-02T10:00:00Z'), owner: 'U2' }),
    );
    expect(json).toContain('Acknowledged by <@U1> at 2026-12-02 10:00 UTC');
    expect(json).toContain('Owned by <@U2>');
    expect(json).not.toContain('gatehouse_acknowledge');
    expect(json).not.toContain('gatehouse_take_ownership');
  });

  it('keeps within Block Kit limits for a huge title', () => {
    const blocks = noticeBlocks(
      { ...hostile, title: 'x'.repeat(10_000) },
      { key: 'k', acknowledgedBy: null, acknowledgedAt: null, owner: null },
    );
    for (const b of blocks) {
      const t = (b['text'] as { text?: string } | undefined)?.text;
      if (t) expect(t.length).toBeLessThanOrEqual(3000);
    }
  });
});

describe('SlackWeb', () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });
  const web = new SlackWeb({ token: SLACK_TOKEN });
  const state = { key: 'k', acknowledgedBy: null, acknowledgedAt: null, owner: null };

  it('posts with the bot token and answers where the message went', async () => {
    nock(SLACK_API, { reqheaders: { authorization: `Bearer ${SLACK_TOKEN}` } })
      .post('/api/chat.postMessage', (b: Record<string, string>) => b['channel'] === '#prodsec-incidents' && b['unfurl_links'] === 'false')
      .reply(200, { ok: true, channel: 'C1', ts: '1.1' });
    expect(await web.post('#prodsec-incidents', hostile, state, 'x')).toEqual({ channelId: 'C1', ts: '1.1' });
  });

  it('turns a 429 into ChatRateLimited with its Retry-After, without retrying itself', async () => {
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '7' });
    const err = await web.post('#c', hostile, state, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatRateLimited);
    expect((err as ChatRateLimited).retryAfterMs).toBe(7000);
  });

  it.each(['channel_not_found', 'not_in_channel', 'invalid_auth'])('turns %s into a permanent refusal', async (code) => {
    nock(SLACK_API).post('/api/chat.postMessage').reply(200, { ok: false, error: code });
    await expect(web.post('#c', hostile, state, 'x')).rejects.toBeInstanceOf(ChatRejected);
  });

  it('leaves a 500 retryable (not a refusal)', async () => {
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(500, 'oops');
    const err = await web.post('#c', hostile, state, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ChatRejected);
    expect(err).not.toBeInstanceOf(ChatRateLimited);
  });

  it('reads a user group’s members', async () => {
    nock(SLACK_API)
      .post('/api/usergroups.users.list', (b: Record<string, string>) => b['usergroup'] === 'S1')
      .reply(200, { ok: true, users: ['U1', 'U2'] });
    expect(await web.groupMembers('S1')).toEqual(['U1', 'U2']);
  });
});
