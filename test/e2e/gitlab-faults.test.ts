/**
 * GitLab's API misbehaving, end to end through the real server on loopback (nock for GitLab, the
 * embedded database on disk): a 429 with `Retry-After` waited out, a 502 on a POST never replayed
 * blindly, an API that hangs for 20 s cut off by the request timeout, a permanent 5xx ending the
 * delivery failed; webhooks acknowledged at once throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse, StartOptions } from '../../src/main.ts';
import { answers, gitlabBody } from '../builders/intake.ts';
import { GITLAB_API as API, GITLAB_BOT, GITLAB_SECRET as SECRET, GITLAB_URL, gitlabDelivery, issueHook } from '../support/gitlab.ts';
import { processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const PROJECT = '/projects/1';
const ISSUE = `${PROJECT}/issues/23`;
const NOTES = `${ISSUE}/notes`;
const POLICY = `${PROJECT}/repository/files/.gitlab%2Fgatehouse.yml/raw`;
const ours = (id: number, body: string) => ({ id, body, system: false, author: { id: 99, username: GITLAB_BOT } });

let gatehouse: Gatehouse | null = null;

async function start(
  extra: Partial<StartOptions> = {},
  retry: NonNullable<NonNullable<StartOptions['gitlab']>['retry']> = {},
): Promise<Gatehouse> {
  gatehouse = await startTestGatehouse(
    { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: SECRET } },
    { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10, ...retry } }, ...extra },
  );
  return gatehouse;
}

async function deliver(payload: Record<string, unknown>): Promise<{ id: string; status: number; ms: number }> {
  const d = gitlabDelivery({ event: 'Issue Hook', payload });
  const t0 = performance.now();
  const res = await fetch(`${gatehouse!.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  await res.arrayBuffer();
  return { id: d.id, status: res.status, ms: performance.now() - t0 };
}

const intake = (): Record<string, unknown> => issueHook({ description: gitlabBody({ answers: answers({}) }), labels: ['intake'] });

/** Acknowledgement times of `n` deliveries the worker ignores (caused by our own bot). */
async function acknowledgements(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await deliver(issueHook({ action: 'update', description: 'x', username: GITLAB_BOT }));
    expect(r.status).toBe(200);
    times.push(r.ms);
  }
  return times;
}

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${gatehouse!.url}/metrics`)).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')
      .pop(),
  );
};

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted GitLab call was made').toEqual([]);
});

describe('GitLab API faults end to end', () => {
  it('a 429 with Retry-After: 2 is waited out inside the attempt; webhooks are acknowledged meanwhile', async () => {
    await start();
    nock(API).get(POLICY).query(true).reply(404, { message: '404 File Not Found' });
    nock(API).get(NOTES).query(true).reply(200, []);
    const at: number[] = [];
    nock(API)
      .put(ISSUE)
      .reply(() => (at.push(Date.now()), [429, { message: 'Retry later' }, { 'retry-after': '2', 'content-type': 'application/json' }]));
    nock(API)
      .put(ISSUE)
      .reply(() => (at.push(Date.now()), [200, { iid: 23 }]));
    nock(API).post(NOTES).reply(201, ours(501, 'x'));
    const d = await deliver(intake());
    expect(d.status).toBe(200);
    while (at.length === 0) await new Promise((r) => setTimeout(r, 20));
    const acks = await acknowledgements(5);
    expect(await processed(gatehouse!, 'gitlab', d.id)).toBe('done');
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...acks)).toBeLessThan(500);
    expect((await gatehouse!.store.getDelivery('gitlab', d.id))?.attempts).toBe(0);
  });

  it('a 502 on the note POST is not replayed blindly: the notes are read again and the note GitLab did store is found', async () => {
    await start();
    nock(API).get(POLICY).query(true).reply(404, { message: '404 File Not Found' });
    nock(API).get(NOTES).query(true).reply(200, []);
    nock(API).put(ISSUE).reply(200, { iid: 23 });
    let posts = 0;
    let posted = '';
    nock(API)
      .post(NOTES, (b: { body: string }) => ((posted = b.body), true))
      .reply(() => (posts++, [502, 'Bad Gateway']));
    nock(API)
      .get(NOTES)
      .query(true)
      .reply(() => [200, [ours(501, posted)]]);
    const d = await deliver(intake());
    expect(await processed(gatehouse!, 'gitlab', d.id)).toBe('done');
    // One POST: the requester never replays a POST; the forge re-read the notes and found ours.
    expect(posts).toBe(1);
    const audit = await gatehouse!.store.auditFor('gitlab:gitlabhq/gitlab-test#23');
    expect(audit.filter((e) => e.action === 'ensureComment').map((e) => e.outcome)).toEqual(['ok']);
  });

  it('an API that hangs for 20 s is cut off by the request timeout; webhooks are acknowledged at once meanwhile', async () => {
    await start({}, { timeoutMs: 1000 });
    const at: number[] = [];
    nock(API)
      .get(POLICY)
      .query(true)
      .delay(20_000)
      .reply(() => (at.push(Date.now()), [404, { message: '404 File Not Found' }]));
    nock(API)
      .get(POLICY)
      .query(true)
      .reply(() => (at.push(Date.now()), [404, { message: '404 File Not Found' }]));
    const t0 = Date.now();
    const d = await deliver(issueHook({ description: 'Not an intake.' }));
    const acks = await acknowledgements(5);
    expect(await processed(gatehouse!, 'gitlab', d.id)).toBe('done');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(Math.max(...acks)).toBeLessThan(500);
  });

  it('a permanent 5xx ends the delivery failed after the configured attempts, counted in /metrics; after two 5xx in a row GitLab counts as unreachable and the next attempt fails without a request', async () => {
    await start({ queue: { pollIntervalMs: 100, retryDelaySeconds: 1, retryBackoff: false, retryLimit: 1 } }, { attempts: 2 });
    // The first attempt: a GET retried once inside it; both 503, so the circuit opens and the
    // second attempt is refused without a request.
    nock(API).get(POLICY).query(true).times(2).reply(503, { message: 'Service Unavailable' });
    const d = await deliver(issueHook({ description: 'Not an intake.' }));
    expect(await processed(gatehouse!, 'gitlab', d.id, 20_000)).toBe('failed');
    const stored = await gatehouse!.store.getDelivery('gitlab', d.id);
    expect(stored?.attempts).toBe(2);
    expect(stored?.lastError).toMatch(
      /^GitLab unreachable since \S+ \(503 Service Unavailable to GET \/api\/v4\/projects\/1\/repository\/files\/.+\): waiting until \S+ before trying again$/,
    );
    expect(await metric('gatehouse_deliveries_failed')).toBe(1);
  });
});
