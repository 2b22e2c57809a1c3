/**
 * Gatehouse blocks in an issue description through the real forges: the exact GitHub and GitLab
 * calls (nock, one interceptor per expected call; no other network; every interceptor used).
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../../src/adapters/github/forge.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabForge } from '../../src/adapters/gitlab/forge.ts';
import type { IssueRef } from '../../src/core/model.ts';
import { GITLAB_API, GITLAB_BOT, GITLAB_URL } from '../support/gitlab.ts';

const GH = 'https://api.github.com';
const ghIssue: IssueRef = { repo: { platform: 'github', fullName: 'acme/security-requests', id: 1, defaultBranch: 'main' }, number: 7 };
const glIssue: IssueRef = { repo: { platform: 'gitlab', fullName: 'gitlabhq/gitlab-test', id: 1, defaultBranch: 'master' }, number: 23 };
const github = (): GitHubForge =>
  new GitHubForge(
    new ProbotOctokit({ auth: { token: 'ghs_test' }, retry: { enabled: false }, throttle: { enabled: false } }),
    'gatehouse[bot]',
  );
const gitlab = (): GitLabForge =>
  new GitLabForge(createGitLabApi({ url: GITLAB_URL, token: 'glpat-test', retry: { backoffMs: () => 1 } }), GITLAB_BOT, {
    sleep: () => Promise.resolve(),
    recheckDelayMs: 1,
  });

const block = (text: string, name = 'planning'): string => `<!-- gatehouse:${name}:start -->\n${text}\n<!-- gatehouse:${name}:end -->`;
const one = [{ name: 'planning', text: '- [ ] one' }];
/** Two blocks that two workflows keep in one description (incident worksheet and planning checklist). */
const two = [
  { name: 'incident-worksheet', text: '- [ ] contain' },
  { name: 'planning', text: '- [ ] one' },
];

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every expected call was made').toEqual([]);
});

describe('GitHub: ensureBodySection', () => {
  it('appends the block once, keeping what the requester wrote', async () => {
    let sent = '';
    nock(GH).get('/repos/acme/security-requests/issues/7').reply(200, { number: 7, body: '### Service or system name\n\npayments-api' });
    nock(GH)
      .patch('/repos/acme/security-requests/issues/7', (b: { body: string }) => ((sent = b.body), true))
      .reply(200, {});
    expect(await github().ensureBodySection(ghIssue, one)).toBe('created');
    expect(sent).toBe(`### Service or system name\n\npayments-api\n\n${block('- [ ] one')}`);
  });

  it('replaces the block in place, and writes nothing when it is already so', async () => {
    let sent = '';
    nock(GH)
      .get('/repos/acme/security-requests/issues/7')
      .reply(200, { body: `before\r\n\r\n${block('- [x] one')}\r\nafter` });
    nock(GH)
      .patch('/repos/acme/security-requests/issues/7', (b: { body: string }) => ((sent = b.body), true))
      .reply(200, {});
    expect(await github().ensureBodySection(ghIssue, one)).toBe('updated');
    expect(sent).toBe(`before\r\n\r\n${block('- [ ] one')}\r\nafter`);

    nock(GH)
      .get('/repos/acme/security-requests/issues/7')
      .reply(200, { body: block('- [ ] one') });
    expect(await github().ensureBodySection(ghIssue, one)).toBe('unchanged');
  });

  it('several blocks at once: one read, one edit with every block; nothing written when all are already so', async () => {
    let sent = '';
    nock(GH).get('/repos/acme/security-requests/issues/7').reply(200, { body: 'the request' });
    nock(GH)
      .patch('/repos/acme/security-requests/issues/7', (b: { body: string }) => ((sent = b.body), true))
      .reply(200, {});
    expect(await github().ensureBodySection(ghIssue, two)).toBe('created');
    expect(sent).toBe(`the request\n\n${block('- [ ] contain', 'incident-worksheet')}\n\n${block('- [ ] one')}`);

    // One block already so, the other changed: still one edit.
    nock(GH)
      .get('/repos/acme/security-requests/issues/7')
      .reply(200, { body: `x\n\n${block('- [ ] contain', 'incident-worksheet')}\n\n${block('- [x] one')}` });
    nock(GH)
      .patch('/repos/acme/security-requests/issues/7', (b: { body: string }) => ((sent = b.body), true))
      .reply(200, {});
    expect(await github().ensureBodySection(ghIssue, two)).toBe('updated');
    expect(sent).toBe(`x\n\n${block('- [ ] contain', 'incident-worksheet')}\n\n${block('- [ ] one')}`);

    nock(GH)
      .get('/repos/acme/security-requests/issues/7')
      .reply(200, { body: `x\n\n${block('- [ ] contain', 'incident-worksheet')}\n\n${block('- [ ] one')}` });
    expect(await github().ensureBodySection(ghIssue, two)).toBe('unchanged');
  });

  it('an API failure is an error, never a silent pass', async () => {
    nock(GH).get('/repos/acme/security-requests/issues/7').reply(200, { body: null });
    nock(GH).patch('/repos/acme/security-requests/issues/7').reply(502, { message: 'Bad Gateway' });
    await expect(github().ensureBodySection(ghIssue, one)).rejects.toThrow();
  });
});

describe('GitLab: ensureBodySection', () => {
  it('reads the description and edits it with the block appended', async () => {
    let sent: unknown;
    nock(GITLAB_API).get('/projects/1/issues/23').reply(200, { iid: 23, description: 'the request' });
    nock(GITLAB_API)
      .put('/projects/1/issues/23', (b) => ((sent = b), true))
      .reply(200, { iid: 23 });
    expect(await gitlab().ensureBodySection(glIssue, one)).toBe('created');
    expect(sent).toEqual({ description: `the request\n\n${block('- [ ] one')}` });
  });

  it('writes nothing when the block is already so', async () => {
    nock(GITLAB_API)
      .get('/projects/1/issues/23')
      .reply(200, { iid: 23, description: `x\n\n${block('- [ ] one')}` });
    expect(await gitlab().ensureBodySection(glIssue, one)).toBe('unchanged');
  });

  it('several blocks at once: one read, one edit with every block; nothing written when all are already so', async () => {
    let sent: unknown;
    nock(GITLAB_API).get('/projects/1/issues/23').reply(200, { iid: 23, description: 'the request' });
    nock(GITLAB_API)
      .put('/projects/1/issues/23', (b) => ((sent = b), true))
      .reply(200, { iid: 23 });
    expect(await gitlab().ensureBodySection(glIssue, two)).toBe('created');
    expect(sent).toEqual({ description: `the request\n\n${block('- [ ] contain', 'incident-worksheet')}\n\n${block('- [ ] one')}` });

    nock(GITLAB_API)
      .get('/projects/1/issues/23')
      .reply(200, { iid: 23, description: `the request\n\n${block('- [ ] contain', 'incident-worksheet')}\n\n${block('- [ ] one')}` });
    expect(await gitlab().ensureBodySection(glIssue, two)).toBe('unchanged');
  });

  it('a malformed answer is an error', async () => {
    nock(GITLAB_API).get('/projects/1/issues/23').reply(200, { iid: 23, description: 42 });
    await expect(gitlab().readBody(glIssue)).rejects.toThrow();
  });
});
