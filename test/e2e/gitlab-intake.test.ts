/**
 * End to end through the real HTTP server on loopback: GitLab webhook deliveries (GitLab's
 * documented Issue Hook, fields set per case) in, GitLab's REST API intercepted with nock (no
 * other network; every interceptor used), the embedded database on disk.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { answers, gitlabBody } from '../builders/intake.ts';
import {
  GITLAB_API as API,
  GITLAB_BOT,
  GITLAB_SECRET as SECRET,
  GITLAB_URL,
  gitlabDelivery,
  gitlabFixture,
  issueHook,
  type GitLabDelivery,
} from '../support/gitlab.ts';
import { processed as handled, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const PROJECT = '/projects/1';
const ISSUE = `${PROJECT}/issues/23`;
const NOTES = `${ISSUE}/notes`;
const MARKER = '<!-- gatehouse:intake -->';

let gatehouse: Gatehouse;

const post = (d: GitLabDelivery, headers: Record<string, string> = d.headers): Promise<Response> =>
  fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers, body: d.body });
const processed = (id: string): Promise<string> => handled(gatehouse, 'gitlab', id);
const ours = (id: number, body: string) => ({ id, body, system: false, author: { id: 99, username: GITLAB_BOT } });

/** The repository policy override on the default branch: absent. Read once per project (cached). */
function noPolicyOverride(): void {
  nock(API)
    .get(`${PROJECT}/repository/files/.gitlab%2Fgatehouse.yml/raw`)
    .query({ ref: 'master' })
    .reply(404, { message: '404 File Not Found' });
}

const intake = (overrides: Parameters<typeof answers>[0] = {}): string => gitlabBody({ answers: answers(overrides) });

/** The calls a deep review's planning checklist adds: the description read and updated (its status is in the intake note). */
function planningCalls(): void {
  nock(API).get(ISSUE).reply(200, { iid: 23, description: '' });
  nock(API)
    .put(ISSUE, (b: { description?: string }) => (b.description ?? '').includes('<!-- gatehouse:planning:start -->'))
    .reply(200, { iid: 23 });
}

loopbackOnly();

beforeEach(async () => {
  gatehouse = await startTestGatehouse(
    { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: SECRET } },
    { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } } },
  );
});

afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted GitLab call was made').toEqual([]);
});

describe('GitLab intake end to end', () => {
  it('labels the documented Issue Hook with an intake description with its tier and posts one note', async () => {
    noPolicyOverride();
    let labels: unknown;
    let note = '';
    nock(API).get(NOTES).query(true).reply(200, []);
    nock(API, { reqheaders: { 'private-token': 'glpat-test' } })
      .put(ISSUE, (b) => ((labels = b), true))
      .reply(200, { iid: 23 });
    nock(API)
      .post(NOTES, (b: { body: string }) => ((note = b.body), true))
      .reply(201, ours(501, 'x'));
    planningCalls();

    const d = gitlabDelivery({
      event: 'Issue Hook',
      payload: issueHook({ description: intake({ exposure: 'new public endpoint' }), labels: ['intake'] }),
    });
    const res = await post(d);
    expect(res.status).toBe(200);
    expect(await processed(d.id)).toBe('done');

    expect(labels).toEqual({ add_labels: 'intake::complete,tier::deep-review' });
    expect(note).toContain(MARKER);
    expect(note).toContain('Tier 2');
    expect(note).toContain('Internet exposure = new public endpoint');
    const history = await gatehouse.store.decisionHistory('gitlab:gitlabhq/gitlab-test#23');
    expect(history.map((h) => h.tier)).toEqual([2]);
  });

  it.each([
    ['a wrong token', (d: GitLabDelivery) => ({ ...d.headers, 'x-gitlab-token': 'wrong' })],
    ['no token', (d: GitLabDelivery) => Object.fromEntries(Object.entries(d.headers).filter(([k]) => k !== 'x-gitlab-token'))],
  ])('refuses %s with 401: nothing stored, no API call', async (_name, headersOf) => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: issueHook({ description: intake(), labels: ['intake'] }) });
    const res = await post(d, headersOf(d));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'missing or wrong X-Gitlab-Token' });
    expect(await gatehouse.store.getDelivery('gitlab', d.id)).toBeNull();
    // nock has no interceptors: any API call would be refused and show up as a failure.
  });

  it('refuses a body that is not JSON with 400 and stores nothing', async () => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: {} });
    const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: '{"object_kind":' });
    expect(res.status).toBe(400);
    expect(await gatehouse.store.getDelivery('gitlab', d.id)).toBeNull();
  });

  it('handles the same Idempotency-Key sent three times (two at once) once: one note', async () => {
    noPolicyOverride();
    nock(API).get(NOTES).query(true).reply(200, []);
    nock(API).put(ISSUE).reply(200, { iid: 23 });
    nock(API).post(NOTES).once().reply(201, ours(501, 'x'));

    const d = gitlabDelivery({ event: 'Issue Hook', payload: issueHook({ description: intake(), labels: ['intake'] }) });
    const [a, b] = await Promise.all([post(d), post(d)]);
    const c = await post(d);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect(await processed(d.id)).toBe('done');
    // Give a wrongly duplicated job the time to run (and hit nock with no interceptor left).
    await new Promise((r) => setTimeout(r, 1500));
    const audit = await gatehouse.store.auditFor('gitlab:gitlabhq/gitlab-test#23');
    expect(audit.filter((e) => e.action === 'ensureComment')).toHaveLength(1);
  });

  it('re-evaluates an update that changes the answers: swaps the tier label and edits the same note', async () => {
    noPolicyOverride();
    let first = '';
    nock(API).get(NOTES).query(true).reply(200, []);
    nock(API).put(ISSUE).reply(200, { iid: 23 });
    nock(API)
      .post(NOTES, (b: { body: string }) => ((first = b.body), true))
      .reply(201, ours(501, 'x'));
    const opened = gitlabDelivery({ event: 'Issue Hook', payload: issueHook({ description: intake(), labels: ['intake'] }) });
    await post(opened);
    expect(await processed(opened.id)).toBe('done');
    expect(first).toContain('Tier 1');

    // The update: blast radius across trust domains → tier 3. The payload carries the labels we set.
    let labels: unknown;
    let edited = '';
    // The note made on open is known by its id: it is read and edited without listing the issue's notes.
    nock(API).get(`${NOTES}/501`).reply(200, ours(501, first));
    nock(API)
      .put(ISSUE, (b) => ((labels = b), true))
      .reply(200, { iid: 23 });
    nock(API)
      .put(`${NOTES}/501`, (b: { body: string }) => ((edited = b.body), true))
      .reply(200, ours(501, 'x'));
    planningCalls();
    const update = gitlabDelivery({
      event: 'Issue Hook',
      payload: issueHook({
        action: 'update',
        description: intake({ blast_radius: 'multiple products or trust domains' }),
        labels: ['intake', 'intake::complete', 'tier::advisory'],
      }),
    });
    await post(update);
    expect(await processed(update.id)).toBe('done');
    expect(labels).toEqual({ add_labels: 'tier::leadership', remove_labels: 'tier::advisory' });
    expect(edited).toContain('Tier 3');
    expect(edited).toContain('Blast radius = multiple products or trust domains');
    const history = await gatehouse.store.decisionHistory('gitlab:gitlabhq/gitlab-test#23');
    expect(history.map((h) => h.tier)).toEqual([1, 3]);
  });

  it('never posts a second note when the note POST answers 502 after GitLab stored it', async () => {
    noPolicyOverride();
    const d = gitlabDelivery({ event: 'Issue Hook', payload: issueHook({ description: intake(), labels: ['intake'] }) });
    let posted = '';
    nock(API).get(NOTES).query(true).reply(200, []);
    nock(API).put(ISSUE).reply(200, { iid: 23 });
    nock(API)
      .post(NOTES, (b: { body: string }) => ((posted = b.body), true))
      .reply(502, 'Bad Gateway');
    nock(API)
      .get(NOTES)
      .query(true)
      .reply(() => [200, [ours(501, posted)]]);
    await post(d);
    expect(await processed(d.id)).toBe('done');
    const audit = await gatehouse.store.auditFor('gitlab:gitlabhq/gitlab-test#23');
    expect(audit.find((e) => e.action === 'ensureComment')?.outcome).toBe('ok');
  });

  it('ignores its own events and acknowledges events it does not handle', async () => {
    const own = gitlabDelivery({
      event: 'Issue Hook',
      payload: issueHook({ action: 'update', description: intake(), labels: ['intake'], username: GITLAB_BOT }),
    });
    expect((await post(own)).status).toBe(200);
    expect(await processed(own.id)).toBe('ignored');
    const wiki = gitlabDelivery({ event: 'Wiki Page Hook', payload: gitlabFixture('wiki-page-hook') });
    expect((await post(wiki)).status).toBe(200);
    expect(await processed(wiki.id)).toBe('ignored');
    const note = gitlabDelivery({ event: 'Note Hook', payload: gitlabFixture('note-hook-issue') });
    expect((await post(note)).status).toBe(200);
    expect(await processed(note.id)).toBe('ignored');
  });

  it('keeps a malformed payload as failed with the field named, calling no API', async () => {
    const p = issueHook({ description: intake() });
    (p['object_attributes'] as Record<string, unknown>)['iid'] = 'x';
    const d = gitlabDelivery({ event: 'Issue Hook', payload: p });
    expect((await post(d)).status).toBe(200);
    expect(await processed(d.id)).toBe('failed');
    expect((await gatehouse.store.getDelivery('gitlab', d.id))?.lastError).toMatch(/Issue Hook payload: object_attributes\.iid/);
  });

  it('acts on a merge request through the merge-request endpoints, never an issue with the same number', async () => {
    // The documented Merge Request Hook (!1); its changes touch authentication code.
    noPolicyOverride();
    const MR = `${PROJECT}/merge_requests/1`;
    let labels: unknown;
    let note = '';
    nock(API)
      .get(`${MR}/diffs`)
      .query(true)
      .reply(200, [{ old_path: 'app/auth/session.rb', new_path: 'app/auth/session.rb' }]);
    nock(API).get(`${MR}/notes`).query(true).reply(200, []);
    nock(API)
      .put(MR, (b) => ((labels = b), true))
      .reply(200, { iid: 1 });
    nock(API)
      .post(`${MR}/notes`, (b: { body: string }) => ((note = b.body), true))
      .reply(201, ours(601, 'x'));
    const d = gitlabDelivery({ event: 'Merge Request Hook', payload: gitlabFixture('merge-request-hook') });
    expect((await post(d)).status).toBe(200);
    expect(await processed(d.id)).toBe('done');
    expect(labels).toEqual({ add_labels: 'tier::deep-review' });
    expect(note).toContain('app/auth/session.rb');
  });
});
