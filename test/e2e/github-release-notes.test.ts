/**
 * A published GitHub release gets the verdict of its tagged commit in its notes, end to end: the
 * release names a branch as its target, so the tag is resolved to its commit first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { githubDelivery, githubExample, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const REPO = '/repos/Codertocat/Hello-World';
const SHA = 'c0ffee0000000000000000000000000000000000';
let gatehouse: Gatehouse;

loopbackOnly();
beforeEach(async () => {
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
  );
});
afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted GitHub call was made').toEqual([]);
});

describe('release notes', () => {
  it('adds the tagged commit’s verdict to a published release, in its own section', async () => {
    await gatehouse.gateStore.recordGateDecision({
      key: 'github:Codertocat/Hello-World!7',
      headSha: SHA,
      releaseClass: 'prod',
      verdict: 'pass',
      reasons: [],
      inputs: {},
      policyHash: 'a'.repeat(64),
      decidedAt: new Date(),
      deliveryId: null,
    });
    // A later pending evaluation of the same commit, and another repository's record for it, do not count.
    await gatehouse.gateStore.recordGateDecision({
      key: 'github:Codertocat/Hello-World!7',
      headSha: SHA,
      releaseClass: 'prod',
      verdict: 'pending',
      reasons: [],
      inputs: {},
      policyHash: 'a'.repeat(64),
      decidedAt: new Date(),
      deliveryId: null,
    });
    await gatehouse.gateStore.recordGateDecision({
      key: 'github:Codertocat/Other!1',
      headSha: SHA,
      releaseClass: 'prod',
      verdict: 'block',
      reasons: [],
      inputs: {},
      policyHash: 'a'.repeat(64),
      decidedAt: new Date(),
      deliveryId: null,
    });
    nock(API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
    nock(API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    nock(API).get(`${REPO}/commits/tags%2F0.0.1`).reply(200, { sha: SHA });
    nock(API).get(`${REPO}/releases/tags/0.0.1`).reply(200, { id: 31, tag_name: '0.0.1', body: 'Highlights' });
    let body = '';
    nock(API)
      .patch(`${REPO}/releases/31`, (b: { body: string }) => ((body = b.body), true))
      .reply(200, { id: 31 });

    const payload = githubExample({ name: 'release', action: 'published' });
    payload['installation'] = { id: 1, node_id: 'x' };
    const d = githubDelivery({ name: 'release', secret: SECRET, payload });
    expect((await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    expect(body.startsWith('Highlights')).toBe(true);
    expect(body).toContain('pass');
    expect(body).not.toContain('block');
    expect(body).toContain(SHA.slice(0, 7));
  });
});
