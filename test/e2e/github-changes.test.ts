/** Pull requests classified by the paths they change, end to end on GitHub. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { githubDelivery, pullRequestPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const REPO = '/repos/Codertocat/Hello-World';
let gatehouse: Gatehouse;

function pullRequest({
  action = 'opened',
  body = 'Moves the session check into middleware.',
}: {
  action?: string;
  body?: string;
}): Record<string, unknown> {
  return pullRequestPayload({ action, body });
}

async function deliver(payload: unknown): Promise<string> {
  const d = githubDelivery({ name: 'pull_request', secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return processed(gatehouse, 'github', d.id);
}

loopbackOnly();
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(policyPath, 'changes:\n  reviewers:\n    github: [Codertocat/prodsec, alice]\n');
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
  );
  nock(API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
  nock(API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
});
afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('pull request change classification', () => {
  it('gives a change to authentication code tier::deep-review, names the path, and requests a security review', async () => {
    let labels: unknown;
    let comment = '';
    let review: unknown;
    nock(API)
      .get(`${REPO}/pulls/2/files`)
      .query(true)
      .reply(200, [{ filename: 'src/auth/session.ts' }, { filename: 'README.md' }]);
    nock(API).get(`${REPO}/issues/2/comments`).query(true).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/2/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(API)
      .post(`${REPO}/issues/2/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 5 });
    nock(API)
      .post(`${REPO}/pulls/2/requested_reviewers`, (b: unknown) => ((review = b), true))
      .reply(201, {});
    expect(await deliver(pullRequest({}))).toBe('done');
    expect(labels).toEqual(['tier::deep-review']);
    expect(comment).toContain('<!-- gatehouse:change -->');
    expect(comment).toContain('path src/auth/session.ts');
    expect(comment).toContain('authentication-authorization-code');
    expect(review).toEqual({ reviewers: ['alice'], team_reviewers: ['prodsec'] });
    const history = await gatehouse.store.decisionHistory('github:Codertocat/Hello-World!2');
    expect(history.map((h) => h.tier)).toEqual([2]);
  });

  it('gives a docs-only change no security tier: no label, no comment, no review request', async () => {
    nock(API)
      .get(`${REPO}/pulls/2/files`)
      .query(true)
      .reply(200, [{ filename: 'docs/authentication.md' }, { filename: 'README.md' }]);
    expect(await deliver(pullRequest({}))).toBe('done');
    expect(await gatehouse.store.decisionHistory('github:Codertocat/Hello-World!2')).toEqual([]);
  });
});
