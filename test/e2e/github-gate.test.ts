/** The release gate end to end on GitHub: real server, embedded database, GitHub's API on nock. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { GATE_MARKER } from '../../src/core/gate/plan.ts';
import { githubDelivery, githubExample, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse } from '../support/harness.ts';
import { fakeGateGitHub, otherRun, ourRuns, type GateWorld } from '../support/github-gate.ts';

const FULL = 'Codertocat/Hello-World';
const KEY = 'github:Codertocat/Hello-World!2';
const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const HEAD2 = 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0';
let gatehouse: Gatehouse;
let w: GateWorld;
/** The exception request issue (#50), when a test files one. */
let request: GateWorld | null = null;
let clock = new Date('2026-11-20T10:00:00Z');

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

function pullRequest({ action = 'opened', labels = ['release'], body = 'Spring release.', sha = HEAD, label }: { action?: string; labels?: string[]; body?: string; sha?: string; label?: string } = {}): Record<string, unknown> {
  const payload = githubExample({ name: 'pull_request', action: action === 'synchronize' || action === 'labeled' ? 'opened' : action });
  payload['action'] = action;
  const pr = payload['pull_request'] as Record<string, unknown>;
  pr['body'] = body;
  pr['labels'] = labels.map((name) => ({ name }));
  (pr['head'] as Record<string, unknown>)['sha'] = sha;
  if (label) payload['label'] = { name: label };
  payload['installation'] = { id: 1 };
  return payload;
}

/** The pull request as GET /commits/{sha}/pulls lists it. */
function listed({ labels = ['release'], body = 'Spring release.', sha = HEAD }: { labels?: string[]; body?: string; sha?: string } = {}): Record<string, unknown> {
  const pr = pullRequest({ labels, body, sha })['pull_request'] as Record<string, unknown>;
  return pr;
}

/** A completed check suite; `updatedAt` tells a later completion (a re-run) apart, as GitHub's body does. */
function checkSuite(sha: string, updatedAt?: string): Record<string, unknown> {
  const payload = githubExample({ name: 'check_suite', action: 'completed' });
  const suite = payload['check_suite'] as Record<string, unknown>;
  suite['head_sha'] = sha;
  if (updatedAt) suite['updated_at'] = updatedAt;
  payload['installation'] = { id: 1 };
  return payload;
}

function review(login: string, sha: string, body: string, labels: string[]): Record<string, unknown> {
  const payload = githubExample({ name: 'pull_request_review', action: 'submitted' });
  const pr = payload['pull_request'] as Record<string, unknown>;
  pr['body'] = body;
  pr['labels'] = labels.map((name) => ({ name }));
  (pr['head'] as Record<string, unknown>)['sha'] = sha;
  (pr['base'] as Record<string, unknown>)['ref'] = 'master';
  payload['review'] = { ...(payload['review'] as object), state: 'approved', user: { login } };
  payload['sender'] = { login, type: 'User' };
  payload['installation'] = { id: 1 };
  return payload;
}

async function deliver(name: string, payload: unknown): Promise<string> {
  const d = githubDelivery({ name, secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  const status = await processed(gatehouse, 'github', d.id);
  if (status !== 'done') return `${status}: ${(await gatehouse.store.getDelivery('github', d.id))?.lastError ?? ''}`;
  return status;
}

const approve = (login: string, sha = HEAD): void => {
  w.reviews.push({ user: { login }, state: 'APPROVED', commit_id: sha });
};
const gateComments = (): string[] => w.comments.filter((c) => c.body.includes(GATE_MARKER)).map((c) => c.body);
const gateLabels = (): string[] => w.labels.filter((l) => l.startsWith('gate::'));

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
});
afterAll(() => nock.enableNetConnect());
beforeEach(async () => {
  clock = new Date('2026-11-20T10:00:00Z');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(policyPath, 'gate:\n  emergencyApprovers: { github: [cto] }\n  securityReviewers: { github: [sec-sam] }\n  exceptions: { approvers: { github: [ciso] } }\n');
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false }, now: () => clock },
  );
  w = fakeGateGitHub(API, FULL, 2);
  w.labels = ['release'];
  w.files = ['src/cart.ts'];
});
afterEach(async () => {
  await gatehouse.close();
  const fake = new Set([...w.routes(), ...(request?.routes() ?? [])]);
  request = null;
  const pending = nock.pendingMocks().filter((m) => !fake.has(m));
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('release gate on GitHub', () => {
  it('blocks a release PR whose secrets scan failed: gate::block, a failing gatehouse/release-gate, a decision record', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'failure');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(w.labels).toEqual(['release', 'gate::block']);
    const runs = ourRuns(w, HEAD);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: 'gatehouse/release-gate', status: 'completed', conclusion: 'failure' });
    const [comment] = gateComments();
    expect(comment).toContain('⛔ **Blocked**');
    expect(comment).toContain('`scan-failed`');
    const record = await gatehouse.gateStore.latestGateDecision(KEY);
    expect(record).toMatchObject({ verdict: 'block', headSha: HEAD, releaseClass: 'prod' });
  });

  it('passes with all evidence present and approved; new commits and completed checks re-evaluate, one comment edited, the old label removed', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(ourRuns(w, HEAD)[0]).toMatchObject({ status: 'completed', conclusion: 'success' });

    // A new commit: its secrets scan is still running.
    otherRun(w, HEAD2, 'secret-scanning', null, 'in_progress');
    otherRun(w, HEAD2, 'slsa-provenance', 'success');
    w.pulls = [listed({ sha: HEAD2 })];
    expect(await deliver('pull_request', pullRequest({ action: 'synchronize', sha: HEAD2 }))).toBe('done');
    expect(gateLabels()).toEqual([]);
    expect(ourRuns(w, HEAD2)[0]).toMatchObject({ status: 'in_progress' });

    // It concludes with a leaked secret.
    Object.assign(w.checkRuns.find((r) => r.head_sha === HEAD2 && r.name === 'secret-scanning')!, { status: 'completed', conclusion: 'failure' });
    expect(await deliver('check_suite', checkSuite(HEAD2))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourRuns(w, HEAD2)).toHaveLength(1);
    expect(ourRuns(w, HEAD2)[0]).toMatchObject({ status: 'completed', conclusion: 'failure' });

    const comments = gateComments();
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain('`b0b0b0b0b0b0`');
    expect(w.log.filter((l) => l.startsWith('PATCH') && l.includes('/issues/comments/')).length).toBe(2);
    const history = await gatehouse.gateStore.gateDecisions({ key: KEY });
    expect(history.map((r) => [r.verdict, r.headSha])).toEqual([
      ['pass', HEAD],
      ['pending', HEAD2],
      ['block', HEAD2],
    ]);
  });

  it('an open critical code-scanning alert blocks; an approved exception turns it to pass until it expires, then back to block', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    w.alerts = [{ number: 42, rule: { id: 'js/sql-injection', severity: 'error', security_severity_level: 'critical', description: 'Database query built from user-controlled sources' }, tool: { name: 'CodeQL' }, most_recent_instance: { location: { path: 'src/db/query.ts' } } }];
    w.pulls = [listed()];
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateComments()[0]).toContain('js/sql-injection');

    // The exception register: a request, a refused approval, an approval by a named approver.
    request = fakeGateGitHub(API, FULL, 50);
    const exceptionBody = [
      ['Finding or control', 'js/sql-injection'],
      ['Category', 'sast'],
      ['Repository', FULL],
      ['Paths', 'src/db/**'],
      ['Compensating controls', 'WAF rule blocks the payloads'],
      ['Business owner', '@owner'],
      ['Requested expiry', '2026-11-30'],
      ['Renews', '_No response_'],
    ]
      .map(([k, v]) => `### ${k}\n\n${v}`)
      .join('\n\n');
    const issue = (action: string, labels: string[], sender: string, label?: string): Record<string, unknown> => {
      const p = issuesPayload({ action: 'opened', body: exceptionBody, labels, number: 50, sender: { login: sender, type: 'User' } });
      p['action'] = action;
      obj(p['issue'])['created_at'] = '2026-11-20T09:00:00Z';
      if (label) p['label'] = { name: label };
      return p;
    };
    expect(await deliver('issues', issue('opened', ['exception'], 'Codertocat'))).toBe('done');
    expect(await gatehouse.gateStore.getException('github:Codertocat/Hello-World#50')).toMatchObject({ status: 'requested', findingRef: 'js/sql-injection' });
    request.labels = ['exception', 'exception::approved'];
    expect(await deliver('issues', issue('labeled', ['exception', 'exception::approved'], 'mallory', 'exception::approved'))).toBe('done');
    expect(request.labels).toEqual(['exception']);
    expect(request.comments.at(-1)!.body).toContain('mallory is not an exception approver');
    expect((await gatehouse.gateStore.getException('github:Codertocat/Hello-World#50'))!.status).toBe('requested');
    request.labels = ['exception', 'exception::approved'];
    expect(await deliver('issues', issue('labeled', ['exception', 'exception::approved'], 'ciso', 'exception::approved'))).toBe('done');
    expect(await gatehouse.gateStore.getException('github:Codertocat/Hello-World#50')).toMatchObject({ status: 'approved', approvedBy: 'ciso' });
    expect(request.comments).toHaveLength(1);

    expect(await deliver('check_suite', checkSuite(HEAD))).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ conclusion: 'success' });
    expect(gateComments()[0]).toContain('### Waived by exceptions');

    clock = new Date('2026-12-01T00:00:01Z');
    // The suite re-run after the expiry: a new event (the very same signed body again would be a replay).
    expect(await deliver('check_suite', checkSuite(HEAD, '2026-12-01T00:00:01Z'))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ conclusion: 'failure' });
    expect(gateComments()[0]).toContain('expired at 2026-12-01T00:00:00.000Z');
    expect(gateComments()).toHaveLength(1);
  });

  it('never passes on an API failure: the check stays in progress and the delivery is retried until the evidence is read', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    w.alertsStatus = 502;
    const d = githubDelivery({ name: 'pull_request', secret: SECRET, payload: pullRequest() });
    const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    expect(res.status).toBe(200);
    const until = Date.now() + 10_000;
    while (Date.now() < until && gateComments().length === 0) await new Promise((r) => setTimeout(r, 25));
    expect(ourRuns(w, HEAD)[0]).toMatchObject({ status: 'in_progress' });
    expect(gateLabels()).toEqual([]);
    expect(gateComments()[0]).toContain('never a pass');
    w.alertsStatus = null;
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    expect((await gatehouse.store.getDelivery('github', d.id))!.attempts).toBeGreaterThanOrEqual(1);
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ status: 'completed', conclusion: 'success' });
  });

  it('an emergency release without the named approver stays blocked; with it: gate::emergency, an emergency record and a retrospective issue', async () => {
    const body = 'Hotfix.\n\n## Emergency reason\nSession fixation exploited in production (INC-77).\n';
    const labels = ['release', 'release-class::emergency'];
    w.labels = [...labels];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest({ labels, body }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateComments()[0]).toContain('`emergency-approver-missing`');
    expect(await gatehouse.gateStore.emergencyRecordsFor(KEY)).toEqual([]);
    expect(w.issues).toEqual([]);

    approve('cto');
    expect(await deliver('pull_request_review', review('cto', HEAD, body, labels))).toBe('done');
    expect(gateLabels()).toEqual(['gate::emergency']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ conclusion: 'success' });
    const [record] = await gatehouse.gateStore.emergencyRecordsFor(KEY);
    expect(record).toMatchObject({ approver: 'cto', reason: 'Session fixation exploited in production (INC-77).', headSha: HEAD });
    expect(record!.controlsBypassed).toEqual([expect.stringContaining('scan-missing')]);
    expect(w.issues).toHaveLength(1);
    expect(w.issues[0]!.title).toBe('Retrospective: emergency release Codertocat/Hello-World#2');
    expect(w.issues[0]!.body).toContain('Due: 2026-11-25');
    expect(record!.followUp.issueUrl).toBe(w.issues[0]!.html_url);
    const kinds = (await gatehouse.store.listNotifications()).map((n) => n.key.split(':')[0]);
    expect(kinds).toContain('emergency-release');
  });
});
