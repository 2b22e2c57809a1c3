/**
 * The quarterly inventory review through the real server: a tool with an outage in the quarter is
 * reviewed with its clocks, a tool with no issues, no activity and no owners is called out as a
 * zombie, and the digest reaches Slack's chat.postMessage (nock; no other network).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API, GITHUB_SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { SLACK_API, slackConfig } from '../support/slack.ts';

const REPO = '/repos/Codertocat/Hello-World';
let clock = new Date('2026-11-10T10:00:00Z');
let gatehouse: Gatehouse;

loopbackOnly();
beforeEach(async () => {
  clock = new Date('2026-11-10T10:00:00Z');
  const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-quarterly-')), 'policy.yml');
  writeFileSync(
    policyPath,
    [
      'tooling:',
      '  inventory:',
      '    - { name: scanner, repos: [Codertocat/Hello-World], criticality: high, pathForward: maintain, owners: ["@scan-team"] }',
      '    - { name: legacy-dash, criticality: low, pathForward: sunset }',
      'chat:',
      '  sendIntervalMs: 0',
      '',
    ].join('\n'),
  );
  gatehouse = await startTestGatehouse(
    {
      github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: GITHUB_SECRET, apiBaseUrl: GITHUB_API },
      slack: slackConfig,
      policyPath,
    },
    { now: () => clock, clockTickMs: 0, github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false }, slack: { pollMs: 100 } },
  );
});
afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted call was made').toEqual([]);
});

describe('the quarterly inventory review', () => {
  it('lists every tool with its clocks and calls out the zombie, in Slack', async () => {
    // An outage of the scanner in Q4: its clocks start.
    nock(GITHUB_API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
    nock(GITHUB_API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    const payload = issuesPayload({ body: 'The scanner fails every job.', number: 5, labels: ['tool::outage', 'criticality::high'] });
    Object.assign(payload['issue'] as Record<string, unknown>, { created_at: clock.toISOString(), assignees: [], assignee: null });
    const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload });
    expect((await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');

    const posted: string[] = [];
    nock(SLACK_API)
      .post('/api/chat.postMessage', (b: Record<string, string>) => (posted.push(b['blocks'] ?? ''), true))
      .times(2)
      .reply(200, { ok: true, channel: 'C0DIGEST', ts: '1.1' });
    // New Year's Day, 09:00 in the policy's zone: the monthly and the quarterly digests are due.
    clock = new Date('2027-01-01T09:00:30Z');
    const queued = await gatehouse.digests.tick();
    expect(queued).toEqual(expect.arrayContaining(['digest:quarterly:2027-Q1']));
    const end = Date.now() + 10_000;
    while (posted.length < queued.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const quarterly = posted.find((b) => b.includes('Quarterly digest'));
    expect(quarterly).toBeDefined();
    expect(quarterly).toContain('Zombie tools to re-assess');
    expect(quarterly).toContain('legacy-dash: low, path::sunset');
    expect(quarterly).toContain('never — zombie');
    expect(quarterly).toMatch(/scanner: high, path::maintain; SLO [^;]+; RTO [^;]+; last activity 2026-11-10/);
    // Sent once: a second tick (another replica, or the next minute) queues nothing more.
    expect(await gatehouse.digests.tick()).toEqual([]);
  });
});
