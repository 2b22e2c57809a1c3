/**
 * GitHub attacks through the real server on loopback: a signed body sent again under a new
 * X-GitHub-Delivery (a replay of an old decide command), and deliveries that arrive before the
 * App knows its own login. GitHub's REST API is a stateful fake on nock (no other network).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gatehouse, StartOptions } from '../../src/main.ts';
import { fakeGitHubIssues, type FakeGitHubIssues } from '../support/fake-github-issues.ts';
import { githubDelivery, issueCommentPayload, issuesPayload, testPrivateKey, type Delivery } from '../support/github.ts';
import { GITHUB_API, GITHUB_SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-github-replay-')), 'policy.yml');
writeFileSync(
  policyPath,
  [
    'tooling:',
    '  deciders: { github: [lead] }',
    '  inventory:',
    '    - { name: tool-1, criticality: medium, pathForward: maintain }',
    '',
  ].join('\n'),
);
const requestBody = `### Tool name\n\ntool-1\n\n### Problem to solve\n\nLeaked keys\n\n### Who will use it\n\nPlatform team\n\n### Requested criticality\n\nhigh\n\n### Repositories\n\n_No response_\n\n### Proposed owners\n\nalice\n\n### Alternatives considered\n\n_No response_`;
const KEY = 'github:Codertocat/Hello-World#7';

let gatehouse: Gatehouse;
let fake: FakeGitHubIssues;

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  const unmatched = fake.unmatched.filter((r) => r.includes('api.github.com'));
  fake.stop();
  nock.cleanAll();
  expect(unmatched).toEqual([]);
});

function start(github: StartOptions['github'] = { botLogin: 'gatehouse[bot]', retries: 0, throttle: false }): Promise<Gatehouse> {
  fake = fakeGitHubIssues();
  return startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: GITHUB_SECRET, apiBaseUrl: GITHUB_API }, policyPath },
    { github },
  );
}

const post = (d: Delivery, headers: Record<string, string> = d.headers): Promise<Response> =>
  fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers, body: d.body });

/** A tooling request issue (#7), opened and handled. */
async function openRequest(): Promise<void> {
  fake.bodies.set(7, requestBody);
  fake.labels.set(7, ['tooling::request']);
  const p = issuesPayload({ action: 'opened', body: requestBody, number: 7, labels: ['tooling::request'] });
  (p['issue'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
  const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload: p });
  expect((await post(d)).status).toBe(200);
  expect(await processed(gatehouse, 'github', d.id)).toBe('done');
}

/** `login`'s `/gatehouse …` comment on issue #7, as GitHub signs and sends it. */
function command(login: string, text: string, id: number): Delivery {
  const i = issuesPayload({ action: 'opened', body: requestBody, number: 7, labels: ['tooling::request'] });
  (i['issue'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
  const p = issueCommentPayload({ issue: i, id, body: text, login });
  return githubDelivery({ name: 'issue_comment', secret: GITHUB_SECRET, payload: p });
}

describe('GitHub replays', () => {
  it('an old decide command replayed under a new X-GitHub-Delivery decides nothing again', async () => {
    gatehouse = await start();
    await openRequest();
    const old = command('lead', '/gatehouse decide build-internal critical', 8101);
    expect((await post(old)).status).toBe(200);
    expect(await processed(gatehouse, 'github', old.id)).toBe('done');
    const later = command('lead', '/gatehouse decide wait', 8102);
    expect((await post(later)).status).toBe(200);
    expect(await processed(gatehouse, 'github', later.id)).toBe('done');
    const labels = [...(fake.labels.get(7) ?? [])];
    expect(labels).toContain('tooling::waiting');

    // The attacker kept the old signed body and sends it again with a fresh delivery id.
    const replayId = randomUUID();
    const res = await post(old, { ...old.headers, 'x-github-delivery': replayId });
    expect(res.status).toBe(200); // acknowledged, so GitHub (or whoever) stops retrying
    await new Promise((r) => setTimeout(r, 500));
    expect(await gatehouse.store.getDelivery('github', replayId)).toBeNull();
    expect(fake.labels.get(7)).toEqual(labels);
    const audit = await gatehouse.store.auditFor(KEY);
    expect(audit.filter((e) => e.action === 'recordToolDecision')).toHaveLength(2);
    expect(await (await fetch(`${gatehouse.url}/metrics`)).text()).toMatch(
      /gatehouse_deliveries_total\{platform="github",event="issue_comment",outcome="duplicate"\} 1/,
    );
  });

  it("GitHub's own redelivery (same id, same body) of a delivery never stored is taken", async () => {
    gatehouse = await start();
    await openRequest();
    const d = command('lead', '/gatehouse decide build-internal critical', 8103);
    // The first attempt never reached us (refused before it was stored).
    expect((await post(d, { ...d.headers, 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) })).status).toBe(401);
    expect(await gatehouse.store.getDelivery('github', d.id)).toBeNull();
    expect((await post(d)).status).toBe(200);
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    expect((await gatehouse.store.auditFor(KEY)).filter((e) => e.action === 'recordToolDecision')).toHaveLength(1);
  });
});

describe('the App knows its own login before it acts', () => {
  it('GET /app failing three times: nothing is written until it answers, then its own comment is ignored', async () => {
    let failures = 0;
    nock(GITHUB_API)
      .get('/app')
      .times(3)
      .reply(() => {
        failures++;
        return [500, { message: 'Server Error' }];
      });
    nock(GITHUB_API)
      .get('/app')
      .reply(200, { id: 1, slug: 'gatehouse', name: 'Gatehouse', owner: { login: 'Codertocat' } });
    // the outage circuit opens after two failures; a short cool-down lets the third through soon
    gatehouse = await start({ retries: 0, throttle: false, identityBackoffMs: () => 300, circuit: { cooldownMs: 200 } });
    const own = command('gatehouse[bot]', '/gatehouse decide build-internal critical', 8104);
    expect((await post(own)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    expect((await gatehouse.store.getDelivery('github', own.id))?.status).toBe('pending');
    expect(fake.comments.get(7) ?? []).toEqual([]);
    expect(await processed(gatehouse, 'github', own.id)).toBe('ignored');
    expect((await gatehouse.store.getDelivery('github', own.id))?.lastError).toBe('caused by Gatehouse itself');
    expect(failures).toBe(3);
    expect(fake.comments.get(7) ?? []).toEqual([]);
    expect(fake.labels.get(7) ?? []).toEqual([]);
  });
});
