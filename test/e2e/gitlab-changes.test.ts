/** Merge requests classified by the paths they change, end to end on GitLab (documented Merge Request Hook). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { GITLAB_API as API, GITLAB_BOT, GITLAB_SECRET as SECRET, GITLAB_URL, gitlabDelivery, gitlabFixture } from '../support/gitlab.ts';
import { processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { answers, gitlabBody } from '../builders/intake.ts';

const PROJECT = '/projects/1';
const MR = `${PROJECT}/merge_requests/1`;
let gatehouse: Gatehouse;

async function deliver(description?: string): Promise<string> {
  const payload = gitlabFixture('merge-request-hook');
  if (description !== undefined) (payload['object_attributes'] as Record<string, unknown>)['description'] = description;
  const d = gitlabDelivery({ event: 'Merge Request Hook', payload });
  const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return processed(gatehouse, 'gitlab', d.id);
}

loopbackOnly();
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(policyPath, 'changes:\n  reviewers:\n    gitlab: [prodsec-reviewer]\n');
  gatehouse = await startTestGatehouse(
    { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: SECRET }, policyPath },
    { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } } },
  );
  nock(API)
    .get(`${PROJECT}/repository/files/.gitlab%2Fgatehouse.yml/raw`)
    .query({ ref: 'master' })
    .reply(404, { message: '404 File Not Found' });
});
afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted GitLab call was made').toEqual([]);
});

describe('merge request change classification on GitLab', () => {
  it('gives a change to authentication code tier::deep-review, names the path, and requests a review from the security reviewers', async () => {
    let labels: unknown;
    let reviewers: unknown;
    let note = '';
    nock(API)
      .get(`${MR}/diffs`)
      .query(true)
      .reply(200, [
        { old_path: 'app/auth/session.rb', new_path: 'app/auth/session.rb' },
        { old_path: 'README.md', new_path: 'README.md' },
      ]);
    nock(API).get(`${MR}/notes`).query(true).reply(200, []);
    nock(API)
      .put(MR, (b: Record<string, unknown>) => 'add_labels' in b && ((labels = b), true))
      .reply(200, { iid: 1 });
    nock(API)
      .post(`${MR}/notes`, (b: { body: string }) => ((note = b.body), true))
      .reply(201, { id: 601, body: 'x', system: false, author: { id: 99, username: GITLAB_BOT } });
    nock(API)
      .get('/users')
      .query((q) => q['username'] === 'prodsec-reviewer')
      .reply(200, [{ id: 7, username: 'prodsec-reviewer' }]);
    nock(API)
      .get(MR)
      .reply(200, { iid: 1, reviewers: [{ id: 3, username: 'existing' }] });
    nock(API)
      .put(MR, (b: Record<string, unknown>) => 'reviewer_ids' in b && ((reviewers = b), true))
      .reply(200, { iid: 1 });

    expect(await deliver()).toBe('done');
    expect(labels).toEqual({ add_labels: 'tier::deep-review' });
    expect(note).toContain('<!-- gatehouse:change -->');
    expect(note).toContain('path app/auth/session.rb');
    expect(reviewers).toEqual({ reviewer_ids: [3, 7] });
    expect((await gatehouse.store.decisionHistory('gitlab:gitlabhq/gitlab-test!1')).map((h) => h.tier)).toEqual([2]);
  });

  it("keeps a merge request's intake as its own record: issue #1's intake in the same project is left as it was", async () => {
    const issue = 'gitlab:gitlabhq/gitlab-test#1';
    const issueIntake = {
      issueKey: issue,
      platform: 'gitlab' as const,
      repo: 'gitlabhq/gitlab-test',
      number: 1,
      answers: { summary: 'The issue of the same number' },
      problems: [],
      complete: false,
      updatedAt: new Date('2026-12-01T10:00:00Z'),
    };
    await gatehouse.store.saveIntake(issueIntake);
    nock(API)
      .get(`${MR}/diffs`)
      .query(true)
      .reply(200, [{ old_path: 'app/auth/session.rb', new_path: 'app/auth/session.rb' }]);
    nock(API).get(`${MR}/notes`).query(true).reply(200, []);
    nock(API)
      .put(MR, (b: Record<string, unknown>) => 'add_labels' in b)
      .reply(200, { iid: 1 });
    nock(API)
      .post(`${MR}/notes`)
      .reply(201, { id: 602, body: 'x', system: false, author: { id: 99, username: GITLAB_BOT } });
    nock(API)
      .get('/users')
      .query((q) => q['username'] === 'prodsec-reviewer')
      .reply(200, [{ id: 7, username: 'prodsec-reviewer' }]);
    nock(API).get(MR).reply(200, { iid: 1, reviewers: [] });
    nock(API)
      .put(MR, (b: Record<string, unknown>) => 'reviewer_ids' in b)
      .reply(200, { iid: 1 });

    expect(await deliver(gitlabBody({ answers: answers({ reason: 'Session rework for the merge request.' }) }))).toBe('done');
    expect((await gatehouse.store.getIntake(issue))?.answers).toEqual(issueIntake.answers);
    const own = await gatehouse.store.getIntake('gitlab:gitlabhq/gitlab-test!1');
    expect(own?.answers['reason']).toBe('Session rework for the merge request.');
  });

  it('gives a docs-only change no security tier: no label, no note, no review request', async () => {
    nock(API)
      .get(`${MR}/diffs`)
      .query(true)
      .reply(200, [{ old_path: 'docs/auth.md', new_path: 'docs/auth.md' }]);
    expect(await deliver()).toBe('done');
    expect(await gatehouse.store.decisionHistory('gitlab:gitlabhq/gitlab-test!1')).toEqual([]);
  });
});
