/** Repository policy overrides (.github/gatehouse.yml on the default branch), end to end. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { intakeBody } from '../builders/intake.ts';
import { githubDelivery, issuesPayload, pushPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const REPO = '/repos/Codertocat/Hello-World';
const OVERRIDE = `${REPO}/contents/.github%2Fgatehouse.yml`;

let gatehouse: Gatehouse;

const file = (text: string) => ({
  type: 'file',
  encoding: 'base64',
  content: Buffer.from(text).toString('base64'),
  path: '.github/gatehouse.yml',
});

async function deliver(name: string, payload: unknown): Promise<string> {
  const d = githubDelivery({ name, secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return processed(gatehouse, 'github', d.id);
}

/** Captures the comment body and labels of one evaluation of issue `n`. */
function expectEvaluation(n: number): { comment: () => string; labels: () => unknown } {
  let comment = '';
  let labels: unknown;
  nock(API).get(`${REPO}/issues/${n}/comments`).query(true).reply(200, []);
  nock(API)
    .post(`${REPO}/issues/${n}/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
    .reply(200, []);
  nock(API)
    .post(`${REPO}/issues/${n}/comments`, (b: { body: string }) => ((comment = b.body), true))
    .reply(201, { id: n });
  return { comment: () => comment, labels: () => labels };
}

loopbackOnly();
// The planning checklist from tier 3 (it has tests of its own): these tests are about the override.
const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-policy-')), 'policy.yml');
writeFileSync(policyPath, 'planning:\n  fromTier: 3\n');

beforeEach(async () => {
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
  );
  nock(API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
});
afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('repository policy override', () => {
  it('tightens the global policy with the override, reads it once, and re-reads it after a push that changes it', async () => {
    nock(API)
      .get(OVERRIDE)
      // A raised default tier tightens (kept); reviews asked from a higher tier would weaken (ignored, and said why).
      .reply(
        200,
        file('routing:\n  defaultTier: 2\n  defaultReason: This team asks for a deep review by default\nchanges:\n  reviewFromTier: 3\n'),
      );
    const first = expectEvaluation(1);
    expect(await deliver('issues', issuesPayload({ number: 1, body: intakeBody({}) }))).toBe('done');
    expect(first.labels()).toEqual(['intake', 'intake::complete', 'tier::deep-review']);
    expect(first.comment()).toContain('This team asks for a deep review by default');
    expect(first.comment()).toContain(`${policyPath} + .github/gatehouse.yml`);
    expect(first.comment()).toContain(
      'The repository policy .github/gatehouse.yml cannot set changes.reviewFromTier (ignored): reviews may only be asked from a lower tier: 3 is above the global 2',
    );

    // Cached: a second issue in the same repository does not read the file again.
    const second = expectEvaluation(2);
    expect(await deliver('issues', issuesPayload({ number: 2, body: intakeBody({}) }))).toBe('done');
    expect(second.labels()).toEqual(['intake', 'intake::complete', 'tier::deep-review']);

    // A push to the default branch that changes the file drops the cache.
    const push = pushPayload({ ref: 'refs/heads/main', defaultBranch: 'main', modified: ['.github/gatehouse.yml'] });
    expect(await deliver('push', push)).toBe('done');

    nock(API).get(OVERRIDE).reply(404, { message: 'Not Found' });
    const third = expectEvaluation(3);
    expect(await deliver('issues', issuesPayload({ number: 3, body: intakeBody({}) }))).toBe('done');
    expect(third.labels()).toEqual(['intake', 'intake::complete', 'tier::advisory']);
  });

  it('ignores a broken override, applies the global policy and says why in the comment', async () => {
    nock(API).get(OVERRIDE).reply(200, file('routing:\n  defaultTier: 9\nunknownKey: true\n'));
    const evaluation = expectEvaluation(1);
    expect(await deliver('issues', issuesPayload({ number: 1, body: intakeBody({}) }))).toBe('done');
    expect(evaluation.labels()).toEqual(['intake', 'intake::complete', 'tier::advisory']);
    expect(evaluation.comment()).toContain('.github/gatehouse.yml is invalid and was ignored');
    expect(evaluation.comment()).toContain('routing.defaultTier (line 2)');
    expect(evaluation.comment()).toContain('unknownKey (line 3)');
  });

  it('retries when the GitHub API fails, and the delivery completes once it answers', async () => {
    nock(API).get(OVERRIDE).reply(500, { message: 'boom' });
    nock(API).get(OVERRIDE).reply(404, { message: 'Not Found' });
    const evaluation = expectEvaluation(1);
    expect(await deliver('issues', issuesPayload({ number: 1, body: intakeBody({}) }))).toBe('done');
    expect(evaluation.labels()).toEqual(['intake', 'intake::complete', 'tier::advisory']);
    const delivery = (await gatehouse.store.auditFor('github:Codertocat/Hello-World#1')).filter((e) => e.action === 'ensureComment');
    expect(delivery).toHaveLength(1);
  });
});
