/**
 * GitHub's API misbehaving, end to end through the real server on loopback (nock for GitHub, the
 * embedded database on disk): secondary rate limits with and without `retry-after`, 429, an
 * exhausted primary quota, a permanent 5xx and an API that hangs. Each case shows the wait GitHub
 * asked for is obeyed (the time between the refused call and the retry), that retries end, and
 * that webhooks keep being acknowledged at once while the worker waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse, StartOptions } from '../../src/main.ts';
import { intakeBody } from '../builders/intake.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const REPO = '/repos/Codertocat/Hello-World';
const OVERRIDE = `${REPO}/contents/.github%2Fgatehouse.yml`;
const SECONDARY = {
  message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
  documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
};

let gatehouse: Gatehouse | null = null;

async function start(extra: Partial<StartOptions> = {}, github: NonNullable<StartOptions['github']> = {}): Promise<Gatehouse> {
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, ...github }, ...extra },
  );
  return gatehouse;
}

const token = (): void => {
  nock(API)
    .post('/app/installations/1/access_tokens')
    .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
};

/** Sends a signed delivery; returns its id, status and how long the acknowledgement took. */
async function deliver(payload: Record<string, unknown>): Promise<{ id: string; status: number; ms: number }> {
  const d = githubDelivery({ name: 'issues', secret: SECRET, payload });
  const t0 = performance.now();
  const res = await fetch(`${gatehouse!.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  await res.arrayBuffer();
  return { id: d.id, status: res.status, ms: performance.now() - t0 };
}

/** An event the worker ignores without calling GitHub (sent by our own bot): acknowledgements only. */
const ownEvent = (): Record<string, unknown> => issuesPayload({ body: 'x', sender: { login: 'gatehouse[bot]', type: 'Bot' } });

/** Acknowledgement times of `n` deliveries sent one after another while the worker is busy. */
async function acknowledgements(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await deliver(ownEvent());
    expect(r.status).toBe(200);
    times.push(r.ms);
  }
  return times;
}

/** The intake's writes (labels then comment); `labels` answers the first label call. */
function intakeWrites(first: { status: number; headers?: Record<string, string>; body?: unknown }): number[] {
  const at: number[] = [];
  nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
  nock(API)
    .post(`${REPO}/issues/1/labels`)
    .reply(() => (at.push(Date.now()), [first.status, first.body ?? {}, first.headers ?? {}]));
  nock(API)
    .post(`${REPO}/issues/1/labels`)
    .reply(() => (at.push(Date.now()), [200, []]));
  nock(API)
    .post(`${REPO}/issues/1/comments`)
    .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
  return at;
}

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${gatehouse!.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(' ').pop());
};

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted GitHub call was made').toEqual([]);
});

describe('GitHub API faults end to end', () => {
  it('a secondary rate limit with retry-after: 2 is waited out, then the write is retried once; webhooks are acknowledged meanwhile', async () => {
    await start();
    token();
    nock(API).get(OVERRIDE).reply(404, { message: 'Not Found' });
    const at = intakeWrites({ status: 403, headers: { 'retry-after': '2' }, body: SECONDARY });
    const d = await deliver(issuesPayload({ body: intakeBody({}) }));
    expect(d.status).toBe(200);
    while (at.length === 0) await new Promise((r) => setTimeout(r, 20));
    const acks = await acknowledgements(5);
    expect(await processed(gatehouse!, 'github', d.id)).toBe('done');
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...acks)).toBeLessThan(500);
    // The wait happened inside the attempt, not through a failed job.
    expect((await gatehouse!.store.getDelivery('github', d.id))?.attempts).toBe(0);
  });

  it('a secondary rate limit without retry-after waits the fallback (set to 1 s here; GitHub says at least a minute)', async () => {
    await start({}, { secondaryRetryAfterSeconds: 1 });
    token();
    nock(API).get(OVERRIDE).reply(404, { message: 'Not Found' });
    const at = intakeWrites({ status: 403, body: SECONDARY });
    const d = await deliver(issuesPayload({ body: intakeBody({}) }));
    expect(await processed(gatehouse!, 'github', d.id)).toBe('done');
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(1000);
    expect((await gatehouse!.store.getDelivery('github', d.id))?.attempts).toBe(0);
  });

  it('a 429 with retry-after: 2 is waited out before the retry', async () => {
    await start();
    token();
    nock(API).get(OVERRIDE).reply(404, { message: 'Not Found' });
    const at = intakeWrites({ status: 429, headers: { 'retry-after': '2' }, body: { message: 'Too Many Requests' } });
    const d = await deliver(issuesPayload({ body: intakeBody({}) }));
    while (at.length === 0) await new Promise((r) => setTimeout(r, 20));
    const acks = await acknowledgements(5);
    expect(await processed(gatehouse!, 'github', d.id)).toBe('done');
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...acks)).toBeLessThan(500);
    expect((await gatehouse!.store.getDelivery('github', d.id))?.attempts).toBe(0);
  });

  it('an exhausted quota (x-ratelimit-remaining: 0) is retried only after x-ratelimit-reset', async () => {
    await start();
    token();
    const at: number[] = [];
    let reset = 0;
    nock(API)
      .get(OVERRIDE)
      .reply(() => {
        at.push(Date.now());
        reset = Math.ceil(Date.now() / 1000) + 2;
        return [
          403,
          { message: 'API rate limit exceeded for installation ID 1.' },
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '5000', 'x-ratelimit-reset': String(reset) },
        ];
      });
    nock(API)
      .get(OVERRIDE)
      .reply(() => (at.push(Date.now()), [404, { message: 'Not Found' }]));
    const d = await deliver(issuesPayload({ body: 'Not an intake.' }));
    expect(await processed(gatehouse!, 'github', d.id)).toBe('done');
    expect(at).toHaveLength(2);
    expect(at[1]!).toBeGreaterThanOrEqual(reset * 1000);
  });

  it.each([
    ['a secondary rate limit with retry-after: 3600', () => [403, SECONDARY, { 'retry-after': '3600' }] as const],
    [
      'an exhausted quota resetting in an hour',
      () =>
        [
          403,
          { message: 'API rate limit exceeded for installation ID 1.' },
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600) },
        ] as const,
    ],
    ['a 429 with retry-after: 3600', () => [429, { message: 'Too Many Requests' }, { 'retry-after': '3600' }] as const],
  ])('%s does not hold the worker: the attempt ends at once and the queue retries later', async (_name, refusal) => {
    await start({ queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false } });
    token();
    const at: number[] = [];
    nock(API)
      .get(OVERRIDE)
      .reply(() => {
        at.push(Date.now());
        const [status, body, headers] = refusal();
        return [status, body, headers];
      });
    nock(API)
      .get(OVERRIDE)
      .reply(() => (at.push(Date.now()), [404, { message: 'Not Found' }]));
    const d = await deliver(issuesPayload({ body: 'Not an intake.' }));
    expect(await processed(gatehouse!, 'github', d.id)).toBe('done');
    expect(at).toHaveLength(2);
    // Retried by the queue (about a second later), not after an hour inside one attempt.
    expect(at[1]! - at[0]!).toBeLessThan(10_000);
    const stored = await gatehouse!.store.getDelivery('github', d.id);
    // One attempt failed on the limit (counted), the next one succeeded.
    expect(stored?.attempts).toBeGreaterThanOrEqual(1);
  });

  it('a permanent 5xx ends the delivery failed after the configured attempts, counted in /metrics; after two 5xx in a row GitHub counts as unreachable and the last attempt fails without a call', async () => {
    await start({ queue: { pollIntervalMs: 100, retryDelaySeconds: 1, retryBackoff: false, retryLimit: 2 } });
    token();
    nock(API).get(OVERRIDE).times(2).reply(502, { message: 'Server Error' });
    expect(await metric('gatehouse_deliveries_failed')).toBe(0);
    const d = await deliver(issuesPayload({ body: 'Not an intake.' }));
    expect(await processed(gatehouse!, 'github', d.id, 20_000)).toBe('failed');
    const stored = await gatehouse!.store.getDelivery('github', d.id);
    expect(stored?.attempts).toBe(3);
    expect(stored?.lastError).toMatch(
      /^GitHub unreachable since \S+ \(502 Bad Gateway to GET \/repos\/Codertocat\/Hello-World\/contents\/.github%2Fgatehouse.yml\): waiting until \S+ before trying again$/,
    );
    expect(await metric('gatehouse_deliveries_failed')).toBe(1);
    // No third call: nock has no interceptor left and would fail the next attempt visibly.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await gatehouse!.store.getDelivery('github', d.id))?.status).toBe('failed');
  });

  it('an API that hangs for 20 s fails the attempt at the request timeout; webhooks are acknowledged at once meanwhile', async () => {
    await start({}, { requestTimeoutMs: 1000 });
    token();
    const at: number[] = [];
    nock(API)
      .get(OVERRIDE)
      .delay(20_000)
      .reply(() => (at.push(Date.now()), [404, { message: 'Not Found' }]));
    nock(API)
      .get(OVERRIDE)
      .reply(() => (at.push(Date.now()), [404, { message: 'Not Found' }]));
    const t0 = Date.now();
    const d = await deliver(issuesPayload({ body: 'Not an intake.' }));
    const acks = await acknowledgements(5);
    expect(await processed(gatehouse!, 'github', d.id)).toBe('done');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(Math.max(...acks)).toBeLessThan(500);
    const stored = await gatehouse!.store.getDelivery('github', d.id);
    expect(stored?.attempts).toBeGreaterThanOrEqual(1);
  });
});
