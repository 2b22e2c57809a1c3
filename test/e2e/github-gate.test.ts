/** The release gate end to end on GitHub: real server, embedded database, GitHub's API on nock. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { termsDigest } from '../../src/core/gate/exception-terms.ts';
import { GATE_MARKER } from '../../src/core/gate/plan.ts';
import { issueKey } from '../../src/core/model.ts';
import {
  checkSuitePayload,
  githubDelivery,
  githubUser,
  issuesPayload,
  pullRequestPayload,
  pullRequestReviewPayload,
  testPrivateKey,
} from '../support/github.ts';
import { intakeBody } from '../builders/intake.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { fakeGateGitHub, labelBy, otherRun, ourRuns, type GateWorld } from '../support/github-gate.ts';

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

function pullRequest({
  action = 'opened',
  labels = ['release'],
  body = 'Spring release.',
  sha = HEAD,
  label,
}: { action?: string; labels?: string[]; body?: string; sha?: string; label?: string } = {}): Record<string, unknown> {
  return pullRequestPayload({ action, body, labels, headSha: sha, ...(label ? { label } : {}) });
}

/** The pull request as GET /commits/{sha}/pulls lists it. */
function listed({
  labels = ['release'],
  body = 'Spring release.',
  sha = HEAD,
}: { labels?: string[]; body?: string; sha?: string } = {}): Record<string, unknown> {
  const pr = pullRequest({ labels, body, sha })['pull_request'] as Record<string, unknown>;
  return pr;
}

/** A completed check suite; `updatedAt` tells a later completion (a re-run) apart, as GitHub's body does. */
/** Each completed check suite is its own (a re-run is a new suite): the same body twice would be a replay. */
let nextSuiteId = 9_000;
function checkSuite(sha: string, updatedAt?: string): Record<string, unknown> {
  return checkSuitePayload({ id: nextSuiteId++, headSha: sha, ...(updatedAt ? { updatedAt } : {}) });
}

function review(login: string, sha: string, body: string, labels: string[]): Record<string, unknown> {
  return pullRequestReviewPayload({ login, body, labels, headSha: sha, baseRef: 'master' });
}

async function deliver(name: string, payload: unknown): Promise<string> {
  const d = githubDelivery({ name, secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  const status = await processed(gatehouse, 'github', d.id);
  if (status !== 'done') return `${status}: ${(await gatehouse.store.getDelivery('github', d.id))?.lastError ?? ''}`;
  return status;
}

/** The same signed body again under a new delivery id: acknowledged, never stored, no effect. */
async function replay(name: string, payload: unknown): Promise<void> {
  const d = githubDelivery({ name, secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  await new Promise((r) => setTimeout(r, 300));
  expect(await gatehouse.store.getDelivery('github', d.id)).toBeNull();
}

/** The exception request issue #50 and its terms as the form writes them. */
const REQUEST = 'github:Codertocat/Hello-World#50';
const exceptionTerms: [string, string][] = [
  ['Finding or control', 'js/sql-injection'],
  ['Category', 'sast'],
  ['Repository', FULL],
  ['Paths', 'src/db/**'],
  ['Compensating controls', 'WAF rule blocks the payloads'],
  ['Business owner', '@owner'],
  ['Requested expiry', '2026-11-30'],
  ['Renews', '_No response_'],
];
const exceptionBody = (over: Record<string, string> = {}): string =>
  exceptionTerms.map(([k, v]) => `### ${k}\n\n${over[k] ?? v}`).join('\n\n');

/** Files the request on GitHub (the fake's issue #50 of `fullName`), written by `author`. */
function fileRequest({
  author = 'Codertocat',
  fullName = FULL,
  body = exceptionBody(),
}: { author?: string; fullName?: string; body?: string } = {}): GateWorld {
  const r = fakeGateGitHub(API, fullName, 50);
  r.labels = ['exception'];
  r.issue = { body, user: { login: author, type: 'User' }, state: 'open' };
  return r;
}

/** An `issues` delivery about the request as GitHub sends it: the payload carries what it carried then. */
function requestEvent(
  action: string,
  sender: string,
  label?: string,
  { author = 'Codertocat', body = request!.issue.body, repo }: { author?: string; body?: string; repo?: string } = {},
): Record<string, unknown> {
  const p = issuesPayload({
    action,
    body,
    labels: request!.labels,
    number: 50,
    sender: { login: sender, type: 'User' },
    ...(label ? { label } : {}),
  });
  obj(p['issue'])['created_at'] = '2026-11-20T09:00:00Z';
  obj(p['issue'])['user'] = { ...obj(obj(p['issue'])['user']), login: author };
  if (repo) {
    const r = obj(p['repository']);
    p['repository'] = { ...r, full_name: repo, name: repo.split('/')[1], owner: { ...obj(r['owner']), login: repo.split('/')[0] } };
  }
  return p;
}

const approve = (login: string, sha = HEAD, type = 'User'): void => {
  w.reviews.push({ user: { login, type }, state: 'APPROVED', commit_id: sha });
};
const CRITICAL_ALERT: GateWorld['alerts'][number] = {
  number: 42,
  rule: {
    id: 'js/sql-injection',
    severity: 'error',
    security_severity_level: 'critical',
    description: 'Database query built from user-controlled sources',
  },
  tool: { name: 'CodeQL' },
  most_recent_instance: { location: { path: 'src/db/query.ts' } },
};
const reasonsOf = async (): Promise<{ rule: string; severity: string; evidence: string[] }[]> =>
  (await gatehouse.gateStore.latestGateDecision(KEY))!.reasons as { rule: string; severity: string; evidence: string[] }[];
const gateComments = (): string[] => w.comments.filter((c) => c.body.includes(GATE_MARKER)).map((c) => c.body);
const gateLabels = (): string[] => w.labels.filter((l) => l.startsWith('gate::'));

loopbackOnly();
beforeEach(async () => {
  clock = new Date('2026-11-20T10:00:00Z');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(
    policyPath,
    'gate:\n  emergencyApprovers: { github: [cto] }\n  securityReviewers: { github: [sec-sam] }\n  classSetters: { github: [rel-mgr] }\n  exceptions: { approvers: { github: [ciso] } }\n',
  );
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false }, now: () => clock },
  );
  w = fakeGateGitHub(API, FULL, 2);
  w.labels = ['release'];
  w.files = ['src/cart.ts'];
  w.permissions = { alice: 'write', cto: 'admin', 'sec-sam': 'maintain' };
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

  it('one pass: a release PR that changes auth code gets its security tier and its verdict from one plan, their labels in one write', async () => {
    w.files = ['src/auth/session.ts'];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    const mark = w.log.length;
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(w.labels).toEqual(['release', 'tier::deep-review', 'gate::block']);
    const labelWrites = w.log.slice(mark).filter((r) => /^(POST|DELETE) .*\/labels/.test(r));
    expect(labelWrites).toEqual([`POST /repos/${FULL}/issues/2/labels`]);
    expect(gateComments()).toHaveLength(1);
    expect(ourRuns(w, HEAD)).toHaveLength(1);
  });

  it("fewest writes: a release PR that also gets a security tier speaks in one new comment (the gate's, with the change classification in it); a check re-evaluation keeps the classification and rewrites nothing", async () => {
    w.files = ['src/auth/session.ts'];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    let mark = w.log.length;
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    const created = w.log.slice(mark).filter((r) => r === `POST /repos/${FULL}/issues/2/comments`);
    console.info(`GitHub: new comments for a release PR with a security tier: ${created.length}`);
    expect(created).toHaveLength(1);
    expect(w.comments).toHaveLength(1);
    const [comment] = gateComments();
    // The gate's comment as the contract has it (verdict, evidence, reasons), found by its marker; the classification in it.
    expect(comment!.startsWith(GATE_MARKER)).toBe(true);
    expect(comment).toContain('### Evidence');
    expect(comment).toContain('change classification');
    expect(comment).toContain('**Tier 2 — deep review** (`tier::deep-review`)');
    expect(comment).not.toContain('<!-- gatehouse:change -->');

    // The secrets scan is re-run and passes again: the gate alone re-evaluates, to the same verdict.
    w.pulls = [listed()];
    mark = w.log.length;
    expect(await deliver('check_suite', checkSuite(HEAD))).toBe('done');
    const again = w.log.slice(mark);
    expect(again.some((r) => r.startsWith(`GET /repos/${FULL}/commits/${HEAD}/check-runs`))).toBe(true);
    expect(again.filter((r) => /^(POST|PATCH) .*\/comments/.test(r))).toEqual([]);
    expect(gateComments()).toEqual([comment]);

    // A new commit: one comment edited in place, the classification still in it.
    otherRun(w, HEAD2, 'secret-scanning', 'success');
    otherRun(w, HEAD2, 'slsa-provenance', 'success');
    w.pulls = [listed({ sha: HEAD2 })];
    approve('alice', HEAD2);
    mark = w.log.length;
    expect(await deliver('pull_request', pullRequest({ action: 'synchronize', sha: HEAD2 }))).toBe('done');
    expect(w.log.slice(mark).filter((r) => r === `POST /repos/${FULL}/issues/2/comments`)).toEqual([]);
    expect(w.comments).toHaveLength(1);
    expect(gateComments()[0]).toContain('**Tier 2 — deep review**');
    expect(gateComments()[0]).toContain(HEAD2.slice(0, 12));
  });

  it("the classification in the gate's comment is Gatehouse's own: a user's edit to it is overwritten from the decision record when the gate alone re-evaluates (checks, labels)", async () => {
    w.files = ['src/auth/session.ts'];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    const [original] = gateComments();
    const start = '<!-- gatehouse:change-classification:start -->';
    const end = '<!-- gatehouse:change-classification:end -->';
    expect(original).toContain(start);
    // Someone with write access rewrites the block: a lower tier, a waiver in Gatehouse's voice.
    const forged = `${start}\n## 🛡️ Gatehouse · change classification\n\n**Tier 0 — routine**: security waived the review.\n${end}`;
    const edit = (): void => {
      const mine = w.comments.find((c) => c.body.includes(GATE_MARKER))!;
      mine.body = mine.body.slice(0, mine.body.indexOf(start)) + forged + mine.body.slice(mine.body.indexOf(end) + end.length);
    };
    edit();
    expect(gateComments()[0]).toContain('security waived the review');

    // A check re-run: the gate alone re-evaluates and writes its comment back whole, from its record.
    w.pulls = [listed()];
    let mark = w.log.length;
    expect(await deliver('check_suite', checkSuite(HEAD))).toBe('done');
    expect(w.log.slice(mark).filter((r) => /^(POST|PATCH) .*\/comments/.test(r))).toHaveLength(1);
    expect(gateComments()).toEqual([original]);
    expect(original).not.toContain('security waived the review');

    // Unedited: a check re-run writes no comment.
    mark = w.log.length;
    expect(await deliver('check_suite', checkSuite(HEAD))).toBe('done');
    expect(w.log.slice(mark).filter((r) => /^(POST|PATCH) .*\/comments/.test(r))).toEqual([]);

    // Edited again, then a label is added: the change request's own event that does not classify it.
    edit();
    w.labels.push('docs');
    mark = w.log.length;
    expect(await deliver('pull_request', pullRequest({ action: 'labeled', label: 'docs', labels: ['release', 'docs'] }))).toBe('done');
    expect(w.log.slice(mark).filter((r) => /^(POST|PATCH) .*\/comments/.test(r))).toHaveLength(1);
    expect(gateComments()).toEqual([original]);
  });

  it("a release PR carrying an incomplete intake: the gate's classification shows its problems, and a check re-run rewrites nothing", async () => {
    const body = intakeBody({ owner: null });
    w.files = ['src/auth/session.ts'];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest({ body }))).toBe('done');
    const [comment] = gateComments();
    expect(comment).toContain('### Intake in the description: incomplete');
    w.pulls = [listed({ body })];
    const mark = w.log.length;
    expect(await deliver('check_suite', checkSuite(HEAD))).toBe('done');
    expect(w.log.slice(mark).filter((r) => /^(POST|PATCH) .*\/comments/.test(r))).toEqual([]);
    expect(gateComments()).toEqual([comment]);
  });

  it("a PR classified before it became a release candidate keeps its own change comment, kept up to date; the gate's comment has no classification", async () => {
    w.files = ['src/auth/session.ts'];
    w.labels = [];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest({ labels: [] }))).toBe('done');
    const changeComments = (): string[] => w.comments.filter((c) => c.body.startsWith('<!-- gatehouse:change -->')).map((c) => c.body);
    expect(changeComments()).toHaveLength(1);
    expect(gateComments()).toEqual([]);

    clock = new Date(clock.getTime() + 60_000);
    w.labels.push('release');
    expect(await deliver('pull_request', pullRequest({ action: 'labeled', label: 'release' }))).toBe('done');
    expect(gateComments()).toHaveLength(1);

    otherRun(w, HEAD2, 'secret-scanning', 'success');
    otherRun(w, HEAD2, 'slsa-provenance', 'success');
    approve('alice', HEAD2);
    clock = new Date(clock.getTime() + 60_000);
    const mark = w.log.length;
    expect(await deliver('pull_request', pullRequest({ action: 'synchronize', sha: HEAD2 }))).toBe('done');
    expect(w.log.slice(mark).filter((r) => r === `POST /repos/${FULL}/issues/2/comments`)).toEqual([]);
    expect(w.comments).toHaveLength(2);
    expect(changeComments()[0]).toContain('**Tier 2 — deep review**');
    expect(gateComments()[0]).not.toContain('change classification');
    expect(gateComments()[0]).toContain(HEAD2.slice(0, 12));
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
    // A new push withdraws approvals (at the head commit only): alice approves the new head too.
    approve('alice', HEAD2);
    expect(await deliver('pull_request', pullRequest({ action: 'synchronize', sha: HEAD2 }))).toBe('done');
    expect(gateLabels()).toEqual([]);
    expect(ourRuns(w, HEAD2)[0]).toMatchObject({ status: 'in_progress' });

    // It concludes with a leaked secret.
    Object.assign(
      w.checkRuns.find((r) => r.head_sha === HEAD2 && r.name === 'secret-scanning')!,
      { status: 'completed', conclusion: 'failure' },
    );
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
    w.alerts = [
      {
        number: 42,
        rule: {
          id: 'js/sql-injection',
          severity: 'error',
          security_severity_level: 'critical',
          description: 'Database query built from user-controlled sources',
        },
        tool: { name: 'CodeQL' },
        most_recent_instance: { location: { path: 'src/db/query.ts' } },
      },
    ];
    w.pulls = [listed()];
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateComments()[0]).toContain('js/sql-injection');

    // The exception register: a request, a refused approval, an approval by a named approver.
    request = fileRequest();
    expect(await deliver('issues', requestEvent('opened', 'Codertocat'))).toBe('done');
    expect(await gatehouse.gateStore.getException(REQUEST)).toMatchObject({ status: 'requested', findingRef: 'js/sql-injection' });
    labelBy(request, 'mallory', 'exception::approved');
    expect(await deliver('issues', requestEvent('labeled', 'mallory', 'exception::approved'))).toBe('done');
    expect(request.labels).toEqual(['exception']);
    expect(request.comments.at(-1)!.body).toContain('mallory is not an exception approver');
    expect((await gatehouse.gateStore.getException(REQUEST))!.status).toBe('requested');
    labelBy(request, 'ciso', 'exception::approved');
    expect(await deliver('issues', requestEvent('labeled', 'ciso', 'exception::approved'))).toBe('done');
    expect(await gatehouse.gateStore.getException(REQUEST)).toMatchObject({
      status: 'approved',
      approvedBy: 'ciso',
      approvedDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
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
    const kinds = (await gatehouse.outbox.openEscalations(100)).map((n) => n.key.split(':')[0]);
    expect(kinds).toContain('emergency-release');
  });

  it('attack: the author labels a blocked high-risk PR release-class::non-prod; it stays high-risk and blocked, the label is removed, the refusal audited with the actor and escalated; a class setter may lower it', async () => {
    w.files = ['src/auth/session.ts'];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);

    // The author adds the lowering label (GitHub's issue events name them, whatever the payload says).
    w.labels.push('release-class::non-prod');
    w.labelEvents.push({ event: 'labeled', label: 'release-class::non-prod', actor: 'Codertocat', at: '2026-11-20T10:05:00Z' });
    const labeled = pullRequest({
      action: 'labeled',
      labels: ['release', 'gate::block', 'release-class::non-prod'],
      label: 'release-class::non-prod',
    });
    expect(await deliver('pull_request', labeled)).toBe('done');
    expect(w.labels).not.toContain('release-class::non-prod');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ conclusion: 'failure' });
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', releaseClass: 'high-risk' });
    expect(gateComments()[0]).toContain('`release-class::non-prod` was removed: Codertocat added it');
    const refusals = (
      await gatehouse.store.auditFor(
        issueKey({ repo: { platform: 'github', fullName: FULL, id: null, defaultBranch: null }, number: 2, kind: 'change' }),
      )
    ).filter((e) => e.action === 'refuseClassLabel');
    expect(refusals.map((e) => (e.detail as { actor: string; label: string }).actor)).toEqual(['Codertocat']);
    const notices = (await gatehouse.outbox.openEscalations(100)).filter((n) => n.key.startsWith('ship-despite-block:'));
    expect(notices.map((n) => n.key)).toEqual([`ship-despite-block:${KEY}:${HEAD}:release-class::non-prod`]);
    expect(notices[0]!.text).toContain('Request to ship despite a blocked release gate');

    // A class setter of the global policy adds it: it lowers the class.
    w.labels.push('release-class::non-prod');
    w.labelEvents.push({
      event: 'unlabeled',
      label: 'release-class::non-prod',
      actor: 'gatehouse[bot]',
      type: 'Bot',
      at: '2026-11-20T10:05:01Z',
    });
    w.labelEvents.push({ event: 'labeled', label: 'release-class::non-prod', actor: 'rel-mgr', at: '2026-11-20T10:10:00Z' });
    expect(await deliver('pull_request', { ...labeled, sender: githubUser('rel-mgr') })).toBe('done');
    expect(w.labels).toContain('release-class::non-prod');
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'pass', releaseClass: 'non-prod' });
    expect(gateLabels()).toEqual(['gate::pass']);
  });

  it('attack: the emergency approver approves commit A, the author pushes commit B with a new critical finding: no longer emergency, the check fails, the record says why', async () => {
    const body = 'Hotfix.\n\n## Emergency reason\nSession fixation exploited in production (INC-77).\n';
    const labels = ['release', 'release-class::emergency'];
    w.labels = [...labels];
    otherRun(w, HEAD, 'secret-scanning', 'success');
    approve('cto', HEAD);
    expect(await deliver('pull_request', pullRequest({ labels, body }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::emergency']);

    otherRun(w, HEAD2, 'secret-scanning', 'success');
    w.alerts = [CRITICAL_ALERT];
    w.pulls = [listed({ sha: HEAD2, labels, body })];
    expect(await deliver('pull_request', pullRequest({ action: 'synchronize', sha: HEAD2, labels, body }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourRuns(w, HEAD2).at(-1)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', headSha: HEAD2 });
    const missing = (await reasonsOf()).find((r) => r.rule === 'emergency-approver-missing')!;
    expect(missing.evidence).toContain(
      'the emergency approval of cto does not count: cto approved commit ec26c3e57ca3, not the head b0b0b0b0b0b0',
    );
    const records = await gatehouse.gateStore.emergencyRecordsFor(KEY);
    expect(records.map((r) => [r.headSha, (r.evidence as { approvedSha: string }).approvedSha])).toEqual([[HEAD, HEAD]]);
  });

  it('attack: approvals by the author, a bot, an account without write access and the last pusher do not count; one by a writer does', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('Codertocat');
    approve('dependabot[bot]', HEAD, 'Bot');
    approve('randy');
    approve('pat');
    w.permissions = { Codertocat: 'admin', randy: 'triage', pat: 'write', alice: 'write' };
    w.commits[HEAD] = { author: 'Codertocat', committer: 'pat' };
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const reasons = await reasonsOf();
    expect(reasons.filter((r) => r.severity === 'block').map((r) => r.rule)).toEqual(['approvals-missing']);
    expect(reasons.find((r) => r.rule === 'approval-not-counted')!.evidence.sort()).toEqual([
      'Codertocat is the author of the change request',
      'dependabot[bot] is a bot',
      'pat pushed the head commit (the last pusher cannot approve)',
      'randy has no write access to the repository',
    ]);
    // Each approver that could count is looked up once; the bot is not.
    expect(w.log.filter((l) => l.endsWith('/permission')).sort()).toEqual(
      ['Codertocat', 'pat', 'randy'].map((u) => `GET /repos/${FULL}/collaborators/${u}/permission`),
    );
    expect(gateComments()[0]).toContain('randy has no write access to the repository');

    approve('alice');
    expect(await deliver('pull_request_review', review('alice', HEAD, 'Spring release.', ['release']))).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
  });
});

describe('exception approvals on GitHub: attacks', () => {
  /** A release PR blocked by an open critical code-scanning alert in src/db/. */
  async function blockedRelease(): Promise<void> {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    approve('alice');
    w.alerts = [
      {
        number: 42,
        rule: {
          id: 'js/sql-injection',
          severity: 'error',
          security_severity_level: 'critical',
          description: 'Database query built from user-controlled sources',
        },
        tool: { name: 'CodeQL' },
        most_recent_instance: { location: { path: 'src/db/query.ts' } },
      },
    ];
    w.pulls = [listed()];
    expect(await deliver('pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
  }
  /** The gate evaluated again (a check completed): its label. */
  async function gateAgain(): Promise<string[]> {
    expect(await deliver('check_suite', checkSuite(HEAD))).toBe('done');
    return gateLabels();
  }
  const refusals = async (id = REQUEST): Promise<{ actor: unknown; reason: unknown }[]> =>
    (await gatehouse.store.auditFor(id))
      .filter((a) => a.action === 'refuseExceptionApproval')
      .map((a) => a.detail as { actor: unknown; reason: unknown });

  it('a requester who is an exception approver cannot approve their own exception', async () => {
    await blockedRelease();
    request = fileRequest({ author: 'ciso' });
    expect(await deliver('issues', requestEvent('opened', 'ciso', undefined, { author: 'ciso' }))).toBe('done');
    labelBy(request, 'ciso', 'exception::approved');
    expect(await deliver('issues', requestEvent('labeled', 'ciso', 'exception::approved', { author: 'ciso' }))).toBe('done');
    expect(request.labels).toEqual(['exception']);
    expect(request.comments).toHaveLength(1);
    expect(request.comments[0]!.body).toContain('ciso requested this exception, and a requester cannot approve their own exception');
    expect(await gatehouse.gateStore.getException(REQUEST)).toMatchObject({ status: 'requested', approvedBy: null });
    expect(await refusals()).toEqual([
      expect.objectContaining({ actor: 'ciso', reason: expect.stringContaining('requester cannot approve') }),
    ]);
    expect(await gateAgain()).toEqual(['gate::block']);
  });

  it('changing the compensating controls after the approval withdraws it: label removed, one comment says so, the gate blocks again', async () => {
    await blockedRelease();
    request = fileRequest();
    expect(await deliver('issues', requestEvent('opened', 'Codertocat'))).toBe('done');
    labelBy(request, 'ciso', 'exception::approved');
    expect(await deliver('issues', requestEvent('labeled', 'ciso', 'exception::approved'))).toBe('done');
    expect(await gateAgain()).toEqual(['gate::pass']);

    // The requester weakens the controls once the approval is in.
    request.issue.body = exceptionBody({ 'Compensating controls': 'None: we will be careful' });
    expect(await deliver('issues', requestEvent('edited', 'Codertocat'))).toBe('done');
    expect(request.labels).toEqual(['exception']);
    expect(request.comments).toHaveLength(1);
    expect(request.comments[0]!.body).toContain('The terms changed after the approval (compensating controls;');
    expect(request.comments[0]!.body).toContain('the approval by ciso was withdrawn');
    expect(await gatehouse.gateStore.getException(REQUEST)).toMatchObject({ status: 'requested', approvedBy: null, approvedDigest: null });
    expect(await refusals()).toEqual([
      expect.objectContaining({ actor: 'Codertocat', reason: expect.stringContaining('compensating controls') }),
    ]);
    expect(await gateAgain()).toEqual(['gate::block']);
    // The Slack notice is the same message, updated with the new terms.
    const notices = (await gatehouse.outbox.openEscalations(100)).filter((n) => n.key.startsWith('exception-request:'));
    expect(notices.map((n) => n.key)).toEqual([`exception-request:${REQUEST}`]);
  });

  it('a replayed labeled delivery does not re-approve a revoked exception', async () => {
    await blockedRelease();
    request = fileRequest();
    expect(await deliver('issues', requestEvent('opened', 'Codertocat'))).toBe('done');
    labelBy(request, 'ciso', 'exception::approved');
    const approval = requestEvent('labeled', 'ciso', 'exception::approved');
    expect(await deliver('issues', approval)).toBe('done');
    labelBy(request, 'ciso', 'exception::approved', 'unlabeled');
    expect(await deliver('issues', requestEvent('unlabeled', 'ciso', 'exception::approved'))).toBe('done');
    expect((await gatehouse.gateStore.getException(REQUEST))!.status).toBe('revoked');
    // The old delivery again (a new delivery id, the same signed payload content): no effect.
    await replay('issues', approval);
    expect((await gatehouse.gateStore.getException(REQUEST))!.status).not.toBe('approved');
    expect(await gateAgain()).toEqual(['gate::block']);
  });

  it('an approval by an account since removed from gate.exceptions.approvers no longer waives anything', async () => {
    await blockedRelease();
    // Approved (for exactly these terms) while former-ciso was an approver; the global policy names only ciso now.
    const terms = {
      id: REQUEST,
      findingRef: 'js/sql-injection',
      category: 'sast',
      scope: { repo: `github:${FULL}`, paths: ['src/db/**'] },
      compensatingControls: 'WAF rule blocks the payloads',
      businessOwner: '@owner',
      requestedBy: 'Codertocat',
      requestedAt: new Date('2026-11-20T09:00:00Z'),
      expiresAt: new Date('2026-12-01T00:00:00Z'),
      renewalOf: null,
    };
    await gatehouse.gateStore.saveException({
      ...terms,
      status: 'approved',
      approvedBy: 'former-ciso',
      approvedAt: new Date('2026-11-20T09:30:00Z'),
      approvedDigest: termsDigest(terms),
    });
    expect(await gateAgain()).toEqual(['gate::block']);
    expect(gateComments()[0]).toContain('approval no longer valid: former-ciso is not an exception approver (ciso)');
  });

  it('an exception for this repository requested from another repository is not approved by an approver who is not a cross-repository approver', async () => {
    await blockedRelease();
    const other = 'Codertocat/requests';
    const id = `github:${other}#50`;
    request = fileRequest({ fullName: other });
    expect(await deliver('issues', requestEvent('opened', 'Codertocat', undefined, { repo: other }))).toBe('done');
    expect(await gatehouse.gateStore.getException(id)).toMatchObject({ status: 'requested', scope: { repo: `github:${FULL}` } });
    labelBy(request, 'ciso', 'exception::approved');
    expect(await deliver('issues', requestEvent('labeled', 'ciso', 'exception::approved', { repo: other }))).toBe('done');
    expect(request.labels).toEqual(['exception']);
    expect(request.comments[0]!.body).toContain('is not a cross-repository approver (gate.exceptions.crossRepoApprovers: none)');
    expect(await gatehouse.gateStore.getException(id)).toMatchObject({ status: 'requested', approvedBy: null });
    expect(await refusals(id)).toEqual([expect.objectContaining({ actor: 'ciso' })]);
    expect(await gateAgain()).toEqual(['gate::block']);
  });
});
