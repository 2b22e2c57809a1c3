/**
 * The GitLab forge and its requester against exact GitLab API calls (nock, one interceptor per
 * expected call; no other network; every interceptor used).
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabForge } from '../../src/adapters/gitlab/forge.ts';
import { formatQuery, retryAfterMs, type RetryPolicy } from '../../src/adapters/gitlab/requester.ts';
import { mergeRequestRef } from '../../src/adapters/gitlab/target.ts';
import type { IssueRef, RepoRef } from '../../src/core/model.ts';
import { GITLAB_API, GITLAB_BOT, GITLAB_URL } from '../support/gitlab.ts';

const repo: RepoRef = { platform: 'gitlab', fullName: 'gitlabhq/gitlab-test', id: 1, defaultBranch: 'master' };
const issue: IssueRef = { repo, number: 23 };
const MARKER = '<!-- gatehouse:intake -->';
const NOTES = '/projects/1/issues/23/notes';

const fast: Partial<RetryPolicy> = { backoffMs: () => 1 };
const forgeWith = (retry: Partial<RetryPolicy> = fast, sleep = (_ms: number) => Promise.resolve()): GitLabForge =>
  new GitLabForge(createGitLabApi({ url: GITLAB_URL, token: 'glpat-test', retry }), GITLAB_BOT, { sleep, recheckDelayMs: 1 });

const ours = (id: number, body: string) => ({ id, body, system: false, author: { id: 99, username: GITLAB_BOT } });

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every expected GitLab call was made').toEqual([]);
});

describe('GitLabForge requests', () => {
  it('sends the token, and adds and removes scoped labels in one PUT', async () => {
    let body: unknown;
    nock(GITLAB_API, { reqheaders: { 'private-token': 'glpat-test' } })
      .put('/projects/1/issues/23', (b) => ((body = b), true))
      .reply(200, { iid: 23 });
    await forgeWith().ensureLabels(issue, ['tier::leadership', 'intake::complete'], ['tier::advisory']);
    expect(body).toEqual({ add_labels: 'tier::leadership,intake::complete', remove_labels: 'tier::advisory' });
  });

  it('addresses a project by its path when it has no id', async () => {
    nock(GITLAB_API).put('/projects/gitlabhq%2Fgitlab-test/issues/23').reply(200, {});
    await forgeWith().ensureLabels({ repo: { ...repo, id: null }, number: 23 }, ['intake'], []);
  });

  it('uses the merge-request endpoints for merge-request refs', async () => {
    const mr = mergeRequestRef(repo, 1);
    nock(GITLAB_API).put('/projects/1/merge_requests/1', { add_labels: 'tier::deep-review' }).reply(200, {});
    nock(GITLAB_API).get('/projects/1/merge_requests/1/notes').query({ per_page: 100, sort: 'asc', order_by: 'created_at' }).reply(200, []);
    nock(GITLAB_API)
      .post('/projects/1/merge_requests/1/notes', { body: `${MARKER}\nx` })
      .reply(201, ours(5, `${MARKER}\nx`));
    nock(GITLAB_API)
      .get('/projects/1/merge_requests/1/diffs')
      .query({ per_page: 100 })
      .reply(200, [
        { old_path: 'src/auth/login.ts', new_path: 'src/auth/login.ts' },
        { old_path: 'docs/old.md', new_path: 'docs/new.md' },
      ]);
    const forge = forgeWith();
    await forge.ensureLabels(mr, ['tier::deep-review'], []);
    expect(await forge.ensureComment(mr, MARKER, `${MARKER}\nx`)).toBe('created');
    expect(await forge.listChangedPaths(mr)).toEqual(['src/auth/login.ts', 'docs/new.md', 'docs/old.md']);
  });

  it('requests review by username, keeping the reviewers already there', async () => {
    const mr = mergeRequestRef(repo, 1);
    nock(GITLAB_API)
      .get('/users')
      .query({ username: 'sec-lead' })
      .reply(200, [{ id: 12, username: 'sec-lead' }]);
    nock(GITLAB_API).get('/users').query({ username: 'nobody' }).reply(200, []);
    nock(GITLAB_API)
      .get('/projects/1/merge_requests/1')
      .reply(200, { iid: 1, reviewers: [{ id: 6, username: 'user1' }] });
    nock(GITLAB_API)
      .put('/projects/1/merge_requests/1', { reviewer_ids: [6, 12] })
      .reply(200, {});
    await forgeWith().requestReview(mr, ['@sec-lead', 'nobody']);
  });

  it('reads a file raw from the default branch; 404 is null', async () => {
    nock(GITLAB_API)
      .get('/projects/1/repository/files/.gitlab%2Fgatehouse.yml/raw')
      .query({ ref: 'master' })
      .reply(200, 'tiers: []\n', { 'content-type': 'text/plain' });
    nock(GITLAB_API)
      .get('/projects/1/repository/files/.gitlab%2Fabsent.yml/raw')
      .query({ ref: 'master' })
      .reply(404, { message: '404 File Not Found' });
    const forge = forgeWith();
    expect(await forge.readFile(repo, '.gitlab/gatehouse.yml')).toBe('tiers: []\n');
    expect(await forge.readFile(repo, '.gitlab/absent.yml')).toBeNull();
  });

  it('rejects an API answer without the fields it relies on', async () => {
    nock(GITLAB_API)
      .get(NOTES)
      .query(true)
      .reply(200, [{ id: 'x', body: 3 }]);
    await expect(forgeWith().ensureComment(issue, MARKER, 'b')).rejects.toThrow(/id|body/);
  });
});

describe('GitLabForge under failures', () => {
  it('waits at least Retry-After seconds after a 429, then retries', async () => {
    nock(GITLAB_API).put('/projects/1/issues/23').reply(429, { message: '429 Too Many Requests' }, { 'retry-after': '2' });
    let retriedAt = 0;
    nock(GITLAB_API)
      .put('/projects/1/issues/23')
      .reply(() => {
        retriedAt = Date.now();
        return [200, {}];
      });
    const started = Date.now();
    await forgeWith({ backoffMs: () => 1 }).ensureLabels(issue, ['intake'], []);
    expect(retriedAt - started).toBeGreaterThanOrEqual(2000);
  }, 10_000);

  it('retries a 429 on a note POST too (GitLab refused it before doing anything)', async () => {
    const waits: number[] = [];
    nock(GITLAB_API).get(NOTES).query(true).reply(200, []);
    nock(GITLAB_API).post(NOTES).reply(429, {}, { 'retry-after': '1' });
    nock(GITLAB_API).post(NOTES).reply(201, ours(7, 'b'));
    const forge = forgeWith({ backoffMs: () => 1, sleep: async (ms) => void waits.push(ms) });
    expect(await forge.ensureComment(issue, MARKER, `${MARKER}\nb`)).toBe('created');
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
  });

  it('does not sleep through a Retry-After longer than the limit: the job is retried later', async () => {
    nock(GITLAB_API).put('/projects/1/issues/23').reply(429, {}, { 'retry-after': '3600' });
    await expect(forgeWith({ maxRetryAfterMs: 60_000 }).ensureLabels(issue, ['intake'], [])).rejects.toMatchObject({
      cause: { response: { status: 429 } },
    });
  });

  it('retries a GET after a 5xx with backoff', async () => {
    nock(GITLAB_API).get(NOTES).query(true).reply(503, 'unavailable');
    nock(GITLAB_API).get(NOTES).query(true).reply(502, 'bad gateway');
    nock(GITLAB_API)
      .get(NOTES)
      .query(true)
      .reply(200, [ours(9, `${MARKER}\nsame`)]);
    expect(await forgeWith().ensureComment(issue, MARKER, `${MARKER}\nsame`)).toBe('unchanged');
  });

  it('a 502 on the note POST that GitLab did carry out gives one note: it is found, not posted again', async () => {
    const body = `${MARKER}\nTier 2`;
    let posts = 0;
    nock(GITLAB_API).get(NOTES).query(true).reply(200, []);
    nock(GITLAB_API)
      .post(NOTES)
      .reply(() => {
        posts += 1;
        return [502, 'Bad Gateway'];
      });
    nock(GITLAB_API)
      .get(NOTES)
      .query(true)
      .reply(200, [ours(11, body)]);
    expect(await forgeWith().ensureComment(issue, MARKER, body)).toBe('created');
    expect(posts).toBe(1);
  });

  it('a 502 on the note POST that GitLab did not carry out: posted once more, after looking', async () => {
    const body = `${MARKER}\nTier 2`;
    const calls: string[] = [];
    nock(GITLAB_API)
      .get(NOTES)
      .query(true)
      .times(2)
      .reply(() => (calls.push('list'), [200, []]));
    nock(GITLAB_API)
      .post(NOTES)
      .reply(() => (calls.push('post 502'), [502, 'Bad Gateway']));
    nock(GITLAB_API)
      .post(NOTES)
      .reply(() => (calls.push('post 201'), [201, ours(12, body)]));
    expect(await forgeWith().ensureComment(issue, MARKER, body)).toBe('created');
    expect(calls).toEqual(['list', 'post 502', 'list', 'post 201']);
  });

  it('gives up after the bounded attempts when every POST fails, never posting blind', async () => {
    nock(GITLAB_API).get(NOTES).query(true).times(4).reply(200, []);
    nock(GITLAB_API).post(NOTES).times(3).reply(500, 'boom');
    await expect(forgeWith().ensureComment(issue, MARKER, `${MARKER}\nx`)).rejects.toMatchObject({ cause: { response: { status: 500 } } });
  });

  it('does not retry a 4xx write', async () => {
    nock(GITLAB_API).get(NOTES).query(true).reply(200, []);
    nock(GITLAB_API).post(NOTES).reply(403, { message: '403 Forbidden' });
    await expect(forgeWith().ensureComment(issue, MARKER, `${MARKER}\nx`)).rejects.toThrow('403 Forbidden');
  });
});

describe('requester helpers', () => {
  it('formats queries the way gitbeaker does', () => {
    expect(formatQuery({ perPage: 100, orderBy: 'created_at', labels: ['a', 'b'], skip: undefined })).toBe(
      'per_page=100&order_by=created_at&labels%5B%5D=a&labels%5B%5D=b',
    );
  });

  it('reads Retry-After as seconds or a date, else RateLimit-Reset', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'ratelimit-reset': String(now / 1000 + 7) }), now)).toBe(7000);
    expect(retryAfterMs(new Headers(), now)).toBeNull();
  });
});
