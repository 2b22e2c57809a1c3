/**
 * The escalation outbox against Slack's Web API (nock; no other network, every interceptor used),
 * on the embedded database: sent once, 429 Retry-After obeyed, nothing lost while Slack is down,
 * later changes update the same message, one message per second per channel.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { pino } from 'pino';
import type { Notice } from '../../src/core/chat/notice.ts';
import { fallbackText } from '../../src/adapters/slack/blocks.ts';
import { SlackWeb } from '../../src/adapters/slack/web.ts';
import { ChatOutbox } from '../../src/jobs/chat-outbox.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { fastQueue } from '../storage/backends.ts';
import { freshDataDir, removeDataDir } from '../storage/fixture.ts';
import { SLACK_API, SLACK_TOKEN } from '../support/slack.ts';

const notice = (title: string, reasons: string[] = ['because']): Notice => ({
  kind: 'manual',
  title,
  reasons,
  severity: 'Tier 3 (leadership)',
  owner: '@alice',
  due: [],
  url: 'https://github.com/acme/app/issues/1',
  labels: [],
  route: null,
  itemKey: 'github:acme/app#1',
});

let opened: OpenedStore;
let dir: string;
let clock: Date;

function outbox(overrides: Partial<ConstructorParameters<typeof ChatOutbox>[0]> = {}): ChatOutbox {
  return new ChatOutbox({
    outbox: opened.store.outbox,
    chat: new SlackWeb({ token: SLACK_TOKEN }),
    now: () => clock,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    sendIntervalMs: () => 0,
    fallbackText,
    ...overrides,
  });
}

const enqueue = (key: string, channel: string, n: Notice) =>
  opened.store.enqueueNotification({ key, channel, text: n.title, notice: n, createdAt: clock });

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(async () => {
  dir = await freshDataDir();
  opened = await openStore({ dataDir: dir, queue: fastQueue });
  clock = new Date('2026-12-02T10:00:00Z');
});
afterEach(async () => {
  await opened.close();
  removeDataDir(dir);
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted call was made').toEqual([]);
});

describe('the chat outbox', () => {
  it('posts a notice once, however often it is drained or enqueued again unchanged', async () => {
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C1', ts: '1.0001' });
    await enqueue('k', '#prodsec-escalations', notice('Data exposure'));
    const box = outbox();
    expect(await box.drain()).toBe(1);
    await enqueue('k', '#prodsec-escalations', notice('Data exposure'));
    expect(await box.drain()).toBe(0);
    expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', channelId: 'C1', messageTs: '1.0001' });
  });

  it('updates the same message when the notice changes (chat.update), never posts another', async () => {
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C1', ts: '1.0001' });
    let updated: Record<string, string> = {};
    nock(SLACK_API)
      .post('/api/chat.update', (b: Record<string, string>) => ((updated = b), true))
      .once()
      .reply(200, { ok: true, channel: 'C1', ts: '1.0001' });
    const box = outbox();
    await enqueue('k', '#c', notice('Data exposure'));
    await box.drain();
    await enqueue('k', '#c', notice('Data exposure', ['because', 'and it got worse']));
    expect(await box.drain()).toBe(1);
    expect(updated['ts']).toBe('1.0001');
    expect(updated['channel']).toBe('C1');
    expect(updated['blocks']).toContain('and it got worse');
  });

  it('an exception request re-sent with other terms updates the same message, drops its earlier approval and offers Approve for the new terms', async () => {
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C1', ts: '1.0001' });
    const updates: Record<string, string>[] = [];
    nock(SLACK_API)
      .post('/api/chat.update', (b: Record<string, string>) => (updates.push(b), true))
      .twice()
      .reply(200, { ok: true, channel: 'C1', ts: '1.0001' });
    const request = (terms: string): Notice => ({
      ...notice('Exception request: js/sql-injection in github:acme/app'),
      kind: 'exception-request',
      terms,
    });
    const box = outbox();
    await enqueue('exception-request:github:acme/app#5', '#c', request('a'.repeat(64)));
    await box.drain();
    await opened.store.outbox.acknowledge('exception-request:github:acme/app#5', 'U0APPROVER', clock);
    await box.drain();
    expect(updates[0]!['blocks']).toContain('Approved by');
    expect(updates[0]!['blocks']).not.toContain('gatehouse_approve_exception');
    // The requester edits the terms: the same message, no approval shown, a button for the new terms.
    await enqueue('exception-request:github:acme/app#5', '#c', request('b'.repeat(64)));
    expect(await box.drain()).toBe(1);
    expect(await opened.store.outbox.get('exception-request:github:acme/app#5')).toMatchObject({
      acknowledgedBy: null,
      messageTs: '1.0001',
    });
    expect(updates[1]!['blocks']).not.toContain('Approved by');
    expect(updates[1]!['blocks']).toContain(
      JSON.stringify(JSON.stringify({ notice: 'exception-request:github:acme/app#5', terms: 'b'.repeat(64) })).slice(1, -1),
    );
  });

  it('obeys a 429 Retry-After of 2 s: the notice is sent once, no sooner than 2 s later', async () => {
    const at: number[] = [];
    nock(SLACK_API)
      .post('/api/chat.postMessage')
      .reply(() => (at.push(Date.now()), [429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '2' }]));
    nock(SLACK_API)
      .post('/api/chat.postMessage')
      .reply(() => (at.push(Date.now()), [200, { ok: true, channel: 'C1', ts: '2.0' }]));
    clock = new Date();
    const box = outbox({ now: () => new Date(), pollMs: 100 });
    await enqueue('k', '#c', notice('Rate limited'));
    box.start();
    try {
      const end = Date.now() + 8000;
      while ((await opened.store.outbox.get('k'))?.status !== 'sent' && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await box.stop();
    }
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2000);
    expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '2.0' });
  });

  it('keeps a notice while Slack is down for a minute and sends it once Slack is back', async () => {
    // A 503 may come from a gateway after Slack took the message: each retry reads the history first.
    const down = nock(SLACK_API).post('/api/chat.postMessage').times(5).reply(503, 'upstream unavailable');
    const history = nock(SLACK_API).post('/api/conversations.history').times(5).reply(200, { ok: true, messages: [] });
    const box = outbox({ backoffMs: () => 10_000 });
    await enqueue('k', 'C0DOWN1', notice('While Slack was down'));
    // A minute of outage, drained every 10 s: every attempt fails, nothing is dropped (the first
    // retry waits until the unsettled post is 30 s old).
    for (let s = 0; s <= 60; s += 10) {
      expect(await box.drain()).toBe(0);
      clock = new Date(clock.getTime() + 10_000);
    }
    expect(down.isDone()).toBe(true);
    const waiting = await opened.store.outbox.get('k');
    expect(waiting).toMatchObject({ status: 'pending', attempts: 5 });
    expect(waiting?.lastError).toContain('503');
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C0DOWN1', ts: '3.0' });
    expect(await box.drain()).toBe(1);
    expect(history.isDone()).toBe(true);
    expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '3.0', postStartedAt: null });
  });

  it('keeps a notice Slack refuses for good as failed, with the reason', async () => {
    nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: false, error: 'channel_not_found' });
    const box = outbox();
    await enqueue('k', '#nowhere', notice('Lost channel'));
    expect(await box.drain()).toBe(0);
    expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'failed', lastError: 'Slack refused: channel_not_found' });
    const metrics = createMetrics();
    metrics.setOutboxSource(() => opened.store.outbox.countByStatus());
    expect(await metrics.registry.metrics()).toContain('gatehouse_chat_outbox{status="failed"} 1');
  });

  it('a worker whose lease ran out (another replica claimed the notice since) does not send it', async () => {
    await enqueue('k', '#c', notice('Claimed twice'));
    const store = opened.store.outbox;
    const [mine] = await store.claimDue(clock, 10, 1000);
    clock = new Date(clock.getTime() + 2000);
    const [theirs] = await store.claimDue(clock, 10, 1000);
    expect(theirs?.key).toBe('k');
    expect(await store.extendLease('k', mine!.claimedUntil, new Date(clock.getTime() + 5000))).toBe(false);
    expect(await store.extendLease('k', theirs!.claimedUntil, new Date(clock.getTime() + 5000))).toBe(true);
  });

  it('does not count digests among open escalations', async () => {
    await enqueue('esc', '#c', notice('An escalation'));
    await enqueue('digest:weekly:2026-W49', '#c', { ...notice('Weekly digest'), kind: 'digest', itemKey: null });
    expect((await opened.store.outbox.openEscalations(10)).map((r) => r.key)).toEqual(['esc']);
  });

  const channelOf = (body: unknown): string =>
    typeof body === 'string' ? String(new URLSearchParams(body).get('channel')) : String((body as Record<string, string>)['channel']);
  const until = async (done: () => Promise<boolean>, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await done()) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  };
  const sentAll =
    (...keys: string[]) =>
    async () =>
      (await Promise.all(keys.map((k) => opened.store.outbox.get(k)))).every((r) => r?.status === 'sent');

  it('sends at most one message per second to a channel, while other channels go on', async () => {
    const at: Record<string, number[]> = {};
    nock(SLACK_API)
      .persist()
      .post('/api/chat.postMessage')
      .reply((_uri, body) => {
        const channel = channelOf(body);
        (at[channel] ??= []).push(Date.now());
        return [200, { ok: true, channel: `C-${channel}`, ts: String(Date.now() / 1000) }];
      });
    // A minute between polls: what waits for its channel's slot is woken when the slot comes.
    const box = outbox({ now: () => new Date(), sendIntervalMs: () => 1000, pollMs: 60_000 });
    clock = new Date();
    for (let i = 0; i < 3; i++) await enqueue(`a${i}`, '#a', notice(`a${i}`));
    await enqueue('b0', '#b', notice('b0'));
    box.start();
    try {
      await until(sentAll('a0', 'a1', 'a2', 'b0'));
    } finally {
      await box.stop();
    }
    nock.cleanAll();
    const a = at['#a']!;
    expect(a).toHaveLength(3);
    // Slots are a second apart; what comes between a slot and its post (the lease renewed on disk)
    // takes a varying time on a loaded machine.
    expect(a[1]! - a[0]!).toBeGreaterThanOrEqual(800);
    expect(a[2]! - a[1]!).toBeGreaterThanOrEqual(800);
    expect(at['#b']![0]! - a[0]!).toBeLessThan(900);
  });

  it('a notice held back by a rate-limited channel (429 Retry-After) does not hold back another channel’s notice', async () => {
    const at: Record<string, number[]> = {};
    let limited = false;
    nock(SLACK_API)
      .persist()
      .post('/api/chat.postMessage')
      .reply((_uri, body) => {
        const channel = channelOf(body);
        (at[channel] ??= []).push(Date.now());
        if (channel === '#a' && !limited) {
          limited = true;
          return [429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '3' }];
        }
        return [200, { ok: true, channel: `C-${channel}`, ts: String(Date.now() / 1000) }];
      });
    const box = outbox({ now: () => new Date(), pollMs: 60_000 });
    clock = new Date();
    box.start();
    try {
      await enqueue('a0', '#a', notice('a0'));
      await until(async () => limited && (await opened.store.outbox.get('a0'))?.lastError !== null);
      // #a is held for 3 s: its next notice waits for that in the outbox, not in a worker ...
      await enqueue('a1', '#a', notice('a1'));
      await new Promise((r) => setTimeout(r, 200));
      // ... so #b's notice, queued meanwhile, goes at once.
      const queued = Date.now();
      await enqueue('b0', '#b', notice('b0'));
      await until(sentAll('b0'));
      expect(at['#b']).toHaveLength(1);
      expect(at['#b']![0]! - queued).toBeLessThan(1_500);
      expect(at['#a']).toHaveLength(1);
      await until(sentAll('a0', 'a1'));
    } finally {
      await box.stop();
    }
    nock.cleanAll();
    const a = at['#a']!;
    expect(a).toHaveLength(3);
    // Retry-After obeyed: nothing to #a for 3 s after the 429.
    expect(a[1]! - a[0]!).toBeGreaterThanOrEqual(2_950);
  });

  describe('a post whose outcome is unknown (no answer, or the process died once Slack had it)', () => {
    const form = (body: unknown): Record<string, string> =>
      typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : (body as Record<string, string>);
    /** The first post goes out and its answer never arrives in time. */
    const unanswered = () => {
      let sent: Record<string, string> = {};
      nock(SLACK_API)
        .post('/api/chat.postMessage', (b: unknown) => ((sent = form(b)), true))
        .once()
        .delay(1_000)
        .reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0001' });
      return () => sent;
    };
    const slow = () => new SlackWeb({ token: SLACK_TOKEN, timeoutMs: 100 });
    /** History holding the message of notice `k` at `ts`. */
    const foundAt = (ts: string) => ({
      ok: true,
      messages: [{ ts, metadata: { event_type: 'gatehouse_notice', event_payload: { key: 'k' } } }],
    });
    /** Notice `k` to `channel`, posted with no answer, and the clock past the wait before its history is read. */
    const unsettledPost = async (channel = 'C0ESC1') => {
      unanswered();
      await enqueue('k', channel, notice('Data exposure'));
      expect(await outbox({ chat: slow() }).drain()).toBe(0);
      clock = new Date(clock.getTime() + 30_000);
    };

    it('tags each message with its notice key, and records the post as begun before it goes out', async () => {
      const sent = unanswered();
      await enqueue('k', '#prodsec-escalations', notice('Data exposure'));
      expect(await outbox({ chat: slow() }).drain()).toBe(0);
      expect(JSON.parse(sent()['metadata']!)).toEqual({ event_type: 'gatehouse_notice', event_payload: { key: 'k' } });
      const row = await opened.store.outbox.get('k');
      expect(row).toMatchObject({ status: 'pending', attempts: 1, messageTs: null });
      expect(row?.postStartedAt?.toISOString()).toBe(clock.toISOString());
      expect(row?.lastError).toContain('no answer from Slack');
    });

    it('finds the message in the channel history and adopts it (brought up to date), posting no second one', async () => {
      await unsettledPost('#prodsec-escalations');
      let history: Record<string, string> = {};
      nock(SLACK_API)
        .post('/api/conversations.list')
        .once()
        .reply(200, { ok: true, channels: [{ id: 'C0OTHER', name: 'general' }], response_metadata: { next_cursor: 'p2' } })
        .post('/api/conversations.list', (b: unknown) => form(b)['cursor'] === 'p2')
        .once()
        .reply(200, { ok: true, channels: [{ id: 'C0ESC1', name: 'prodsec-escalations' }], response_metadata: { next_cursor: '' } })
        .post('/api/conversations.history', (b: unknown) => ((history = form(b)), true))
        .once()
        .reply(200, {
          ok: true,
          messages: [
            { ts: '1.0002', metadata: { event_type: 'gatehouse_notice', event_payload: { key: 'other' } } },
            { ts: '1.0001', metadata: { event_type: 'gatehouse_notice', event_payload: { key: 'k' } } },
          ],
        });
      let updated: Record<string, string> = {};
      nock(SLACK_API)
        .post('/api/chat.update', (b: unknown) => ((updated = form(b)), true))
        .once()
        .reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0001' });
      const metrics = createMetrics();
      expect(await outbox({ backoffMs: () => 0, metrics }).drain()).toBe(1);
      expect(history).toMatchObject({ channel: 'C0ESC1', include_all_metadata: 'true' });
      // searched from a minute before the unsettled post began
      expect(Number(history['oldest'])).toBe((Date.parse('2026-12-02T10:00:00Z') - 60_000) / 1000);
      expect(updated).toMatchObject({ channel: 'C0ESC1', ts: '1.0001' });
      expect(await opened.store.outbox.get('k')).toMatchObject({
        status: 'sent',
        channelId: 'C0ESC1',
        messageTs: '1.0001',
        postStartedAt: null,
      });
      expect(await metrics.registry.metrics()).toContain('gatehouse_chat_messages_total{outcome="found"} 1');
      // the channel's id is remembered: no listing next time
      expect(await opened.store.outbox.channelId('#prodsec-escalations')).toBe('C0ESC1');
    });

    it('posts it when the history has no such message', async () => {
      await unsettledPost();
      nock(SLACK_API)
        .post('/api/conversations.history')
        .once()
        .reply(200, { ok: true, messages: [{ ts: '1.0003', text: 'someone else' }] });
      nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0004' });
      expect(await outbox({ backoffMs: () => 0 }).drain()).toBe(1);
      expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0004', postStartedAt: null });
    });

    it('posts it, with a warning, when the history cannot be read (scope missing)', async () => {
      await unsettledPost();
      nock(SLACK_API).post('/api/conversations.history').once().reply(200, { ok: false, error: 'missing_scope' });
      nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0005' });
      const warnings: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) });
      expect(await outbox({ backoffMs: () => 0, logger }).drain()).toBe(1);
      expect(warnings.some((w) => w.includes('cannot read the channel history'))).toBe(true);
      expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0005' });
    });

    it('keeps the unsettled mark when the history read itself fails, and looks again next time', async () => {
      await unsettledPost();
      nock(SLACK_API).post('/api/conversations.history').once().reply(503, 'unavailable');
      expect(await outbox({ backoffMs: () => 60_000 }).drain()).toBe(0);
      expect((await opened.store.outbox.get('k'))?.postStartedAt).not.toBeNull();
      clock = new Date(clock.getTime() + 60_000);
      nock(SLACK_API).post('/api/conversations.history').once().reply(200, foundAt('1.0001'));
      nock(SLACK_API).post('/api/chat.update').once().reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0001' });
      expect(await outbox({ backoffMs: () => 0 }).drain()).toBe(1);
      expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0001' });
    });

    it('Slack turning the post away (429) means no message: the retry posts without reading history', async () => {
      nock(SLACK_API).post('/api/chat.postMessage').once().reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
      await enqueue('k', 'C0ESC1', notice('Data exposure'));
      expect(await outbox({ backoffMs: () => 60_000 }).drain()).toBe(0);
      const failed = await opened.store.outbox.get('k');
      expect(failed?.lastError).toContain('rate limited');
      expect(failed?.postStartedAt).toBeNull();
      clock = new Date(clock.getTime() + 60_000);
      nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0006' });
      expect(await outbox({ backoffMs: () => 0 }).drain()).toBe(1);
    });

    it('waits 30 s after an unsettled post began before reading the history (the post may still land)', async () => {
      unanswered();
      await enqueue('k', 'C0ESC1', notice('Data exposure'));
      expect(await outbox({ chat: slow() }).drain()).toBe(0);
      clock = new Date(clock.getTime() + 5_000);
      expect(await outbox({ backoffMs: () => 0 }).drain()).toBe(0); // no request: nock would refuse it
      expect((await opened.store.outbox.get('k'))?.nextAttemptAt?.toISOString()).toBe('2026-12-02T10:00:30.000Z');
      expect((await opened.store.outbox.get('k'))?.attempts).toBe(1);
    });

    it('keeps the mark when bringing the found message up to date fails, and adopts it again next time', async () => {
      await unsettledPost();
      nock(SLACK_API).post('/api/conversations.history').twice().reply(200, foundAt('1.0001'));
      nock(SLACK_API)
        .post('/api/chat.update')
        .once()
        .reply(502, 'bad gateway')
        .post('/api/chat.update')
        .once()
        .reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0001' });
      expect(await outbox({ backoffMs: () => 60_000 }).drain()).toBe(0);
      expect((await opened.store.outbox.get('k'))?.postStartedAt).not.toBeNull();
      clock = new Date(clock.getTime() + 60_000);
      expect(await outbox({ backoffMs: () => 60_000 }).drain()).toBe(1);
      expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0001' });
    });

    it('keeps the mark when storing Slack’s answer fails after the post, and finds the message next time', async () => {
      nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0008' });
      await enqueue('k', 'C0ESC1', notice('Data exposure'));
      const store = opened.store.outbox;
      const failing = Object.create(store) as typeof store;
      failing.markSent = () => Promise.reject(new Error('connection reset'));
      expect(await outbox({ outbox: failing, backoffMs: () => 60_000 }).drain()).toBe(0);
      expect((await store.get('k'))?.postStartedAt).not.toBeNull();
      clock = new Date(clock.getTime() + 60_000);
      nock(SLACK_API)
        .post('/api/conversations.history')
        .once()
        .reply(200, foundAt('1.0008'))
        .post('/api/chat.update')
        .once()
        .reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0008' });
      expect(await outbox({ backoffMs: () => 60_000 }).drain()).toBe(1);
      expect(await store.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0008' });
    });

    it('joins a public channel it posted to without being a member, to read its history', async () => {
      await unsettledPost();
      nock(SLACK_API)
        .post('/api/conversations.history')
        .once()
        .reply(200, { ok: false, error: 'not_in_channel' })
        .post('/api/conversations.join', (b: unknown) => form(b)['channel'] === 'C0ESC1')
        .once()
        .reply(200, { ok: true, channel: { id: 'C0ESC1' } })
        .post('/api/conversations.history')
        .once()
        .reply(200, foundAt('1.0001'))
        .post('/api/chat.update')
        .once()
        .reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0001' });
      expect(await outbox({ backoffMs: () => 0 }).drain()).toBe(1);
      expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0001' });
    });

    it('on the embedded database, a lease left by a run that died is given up at start, not waited out', async () => {
      await enqueue('k', 'C0ESC1', notice('Data exposure'));
      await opened.store.outbox.claimDue(clock, 10, 120_000); // the dead run's claim
      nock(SLACK_API).post('/api/chat.postMessage').once().reply(200, { ok: true, channel: 'C0ESC1', ts: '1.0007' });
      const waiting = outbox({ pollMs: 60_000 });
      expect(await waiting.drain()).toBe(0); // another worker's lease: left alone
      const box = outbox({ soleWorker: true, pollMs: 60_000 });
      box.start();
      try {
        for (let i = 0; i < 100 && (await opened.store.outbox.get('k'))?.status !== 'sent'; i++)
          await new Promise((r) => setTimeout(r, 20));
      } finally {
        await box.stop();
      }
      expect(await opened.store.outbox.get('k')).toMatchObject({ status: 'sent', messageTs: '1.0007' });
    });
  });
});
