/** The release gate end to end on GitLab: real server, embedded database, GitLab's API on nock. */
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
  fakeGitLabApi,
  issueHook,
  GITLAB_BOT,
  GITLAB_SECRET as SECRET,
  GITLAB_URL,
  gitlabDelivery,
  gitlabFixture,
  type FakeGitLabApi,
} from '../support/gitlab.ts';
import { processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { fakeGitLabGate, sastReport, type GitLabGateWorld } from '../support/gitlab-gate.ts';

const KEY = 'gitlab:gitlabhq/gitlab-test!1';
const HEAD = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
const HEAD2 = 'c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff';
let gatehouse: Gatehouse;
let api: FakeGitLabApi;
let w: GitLabGateWorld;
let clock = new Date('2026-11-20T10:00:00Z');

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

function mergeRequest({
  action = 'open',
  labels = ['release'],
  description = 'Spring release.',
  sha = HEAD,
  oldrev,
  changes,
}: {
  action?: string;
  labels?: string[];
  description?: string;
  sha?: string;
  oldrev?: string;
  changes?: Record<string, unknown>;
} = {}): Record<string, unknown> {
  const p = gitlabFixture('merge-request-hook');
  const a = obj(p['object_attributes']);
  a['action'] = action;
  a['description'] = description;
  a['last_commit'] = { ...obj(a['last_commit']), id: sha };
  a['labels'] = labels.map((title) => ({ title }));
  if (oldrev) a['oldrev'] = oldrev;
  else delete a['oldrev'];
  p['labels'] = labels.map((title) => ({ title }));
  p['changes'] = changes ?? {};
  // Every hook GitLab sends for a new event has its own time (the same body twice is a replay).
  a['updated_at'] = new Date(Date.parse('2026-11-20T09:00:00Z') + hookSeq++ * 1000).toISOString().replace('.000Z', 'Z');
  return p;
}
let hookSeq = 0;

/** A concluded pipeline for `sha`; `id` tells another pipeline (a re-run) apart, as GitLab's body does. */
function pipelineHook(sha: string, id?: number): Record<string, unknown> {
  const p = gitlabFixture('pipeline-hook');
  p['project'] = gitlabFixture('merge-request-hook')['project'];
  obj(p['object_attributes'])['sha'] = sha;
  if (id !== undefined) obj(p['object_attributes'])['id'] = id;
  return p;
}

async function deliver(event: string, payload: unknown): Promise<string> {
  const d = gitlabDelivery({ event, payload });
  const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return processed(gatehouse, 'gitlab', d.id);
}

/** A pipeline at `sha` with these jobs (name → status). */
function pipeline(sha: string, jobs: Record<string, string>, id = 77): void {
  w.sha = sha;
  w.pipeline = { id, sha, status: Object.values(jobs).every((s) => s === 'success') ? 'success' : 'failed' };
  w.jobs = Object.entries(jobs).map(([name, status], i) => ({
    id: id * 100 + i,
    name,
    status,
    web_url: `http://example.com/jobs/${id * 100 + i}`,
  }));
  w.versions.push({ head_commit_sha: sha, created_at: `2026-11-20T08:${String(10 + w.versions.length).padStart(2, '0')}:00Z` });
}
const approve = (username: string, at = '2026-11-20T09:00:00Z'): void => void w.approvals.push({ username, approved_at: at });
const reasonsOf = async (): Promise<{ rule: string; severity: string; evidence: string[] }[]> =>
  (await gatehouse.gateStore.latestGateDecision(KEY))!.reasons as { rule: string; severity: string; evidence: string[] }[];
const labels = (): string[] => api.labels.get('merge_requests/1') ?? [];
const gateLabels = (): string[] => labels().filter((l) => l.startsWith('gate::'));
const gateNotes = (): string[] => (api.notes.get('merge_requests/1') ?? []).filter((n) => n.body.includes(GATE_MARKER)).map((n) => n.body);
const ourStatus = (sha: string): GitLabGateWorld['statuses'][number] | undefined =>
  w.statuses.filter((s) => s.sha === sha && s.name === 'gatehouse/release-gate').at(-1);

loopbackOnly();
beforeEach(async () => {
  clock = new Date('2026-11-20T10:00:00Z');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(
    policyPath,
    'gate:\n  emergencyApprovers: { gitlab: [cto] }\n  securityReviewers: { gitlab: [alice] }\n  classSetters: { gitlab: [rel-mgr] }\n  exceptions: { approvers: { gitlab: [ciso] } }\n',
  );
  gatehouse = await startTestGatehouse(
    { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: SECRET }, policyPath },
    { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } }, now: () => clock },
  );
  api = fakeGitLabApi();
  w = fakeGitLabGate(api, GITLAB_BOT);
  api.labels.set('merge_requests/1', ['release']);
  w.diffs = ['app/models/cart.rb'];
});
afterEach(async () => {
  await gatehouse.close();
  const fake = new Set(w.routes());
  const unmatched = api.unmatched.filter((u) => u.includes('gitlab.example.com'));
  api.stop();
  const pending = nock.pendingMocks().filter((m) => !fake.has(m));
  nock.cleanAll();
  expect(unmatched, 'every GitLab request was answered').toEqual([]);
  expect(pending).toEqual([]);
});

describe('release gate on GitLab', () => {
  it('blocks a release MR whose secret detection failed: gate::block and a failed gatehouse/release-gate status', async () => {
    pipeline(HEAD, { secret_detection: 'failed', 'slsa-provenance': 'success' });
    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest())).toBe('done');
    expect(labels()).toEqual(['release', 'gate::block']);
    expect(ourStatus(HEAD)).toMatchObject({ state: 'failed', pipeline_id: 77 });
    expect(gateNotes()).toHaveLength(1);
    expect(gateNotes()[0]).toContain('`scan-failed`');
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', headSha: HEAD });
  });

  it('passes with all evidence present and approved; a new commit and its pipeline re-evaluate: one note edited, the old label removed', async () => {
    pipeline(HEAD, { secret_detection: 'success', 'slsa-provenance': 'success' });
    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(ourStatus(HEAD)).toMatchObject({ state: 'success' });

    pipeline(HEAD2, { secret_detection: 'running', 'slsa-provenance': 'success' }, 78);
    expect(await deliver('Merge Request Hook', mergeRequest({ action: 'update', sha: HEAD2, oldrev: HEAD }))).toBe('done');
    expect(gateLabels()).toEqual([]);
    expect(ourStatus(HEAD2)).toMatchObject({ state: 'pending' });

    w.jobs[0]!.status = 'failed';
    expect(await deliver('Pipeline Hook', pipelineHook(HEAD2))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourStatus(HEAD2)).toMatchObject({ state: 'failed', pipeline_id: 78 });
    expect(gateNotes()).toHaveLength(1);
    expect(gateNotes()[0]).toContain('`c0ffeec0ffee`');
    expect(api.requests.filter((r) => /^PUT .*\/merge_requests\/1\/notes\/\d+/.test(r))).toHaveLength(2);
  });

  it("fewest writes: a release MR that also gets a security tier speaks in one new note (the gate's, with the change classification in it); a pipeline re-evaluation keeps the classification and rewrites nothing", async () => {
    w.diffs = ['app/auth/session.rb'];
    pipeline(HEAD, { secret_detection: 'success', 'slsa-provenance': 'success' });
    approve('alice');
    let mark = api.requests.length;
    expect(await deliver('Merge Request Hook', mergeRequest())).toBe('done');
    const created = api.requests.slice(mark).filter((r) => /^POST \S*\/merge_requests\/1\/notes$/.test(r));
    console.info(`GitLab: new notes for a release MR with a security tier: ${created.length}`);
    expect(created).toHaveLength(1);
    expect(labels()).toEqual(expect.arrayContaining(['tier::deep-review']));
    const notes = (api.notes.get('merge_requests/1') ?? []).filter((n) => n.author === GITLAB_BOT);
    expect(notes).toHaveLength(1);
    const note = notes[0]!.body;
    expect(note.startsWith(GATE_MARKER)).toBe(true);
    expect(note).toContain('### Evidence');
    expect(note).toContain('change classification');
    expect(note).toContain('**Tier 2 — deep review** (`tier::deep-review`)');
    expect(note).not.toContain('<!-- gatehouse:change -->');

    // The pipeline concludes again: the gate alone re-evaluates, to the same verdict; nothing rewritten.
    mark = api.requests.length;
    expect(await deliver('Pipeline Hook', pipelineHook(HEAD, 79))).toBe('done');
    expect(api.requests.slice(mark).filter((r) => /^(POST|PUT) \S*\/notes/.test(r))).toEqual([]);
    expect(gateNotes()).toEqual([note]);
  });

  it("the classification in the gate's note is Gatehouse's own: a user's edit to it is overwritten from the decision record when the pipeline concludes again", async () => {
    w.diffs = ['app/auth/session.rb'];
    pipeline(HEAD, { secret_detection: 'success', 'slsa-provenance': 'success' });
    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest())).toBe('done');
    const [original] = gateNotes();
    const start = '<!-- gatehouse:change-classification:start -->';
    const end = '<!-- gatehouse:change-classification:end -->';
    expect(original).toContain(start);
    // Someone with write access rewrites the block of the bot's note.
    const mine = (api.notes.get('merge_requests/1') ?? []).find((n) => n.author === GITLAB_BOT && n.body.includes(GATE_MARKER))!;
    mine.body = `${mine.body.slice(0, mine.body.indexOf(start))}${start}\n**Tier 0 — routine**: security waived the review.\n${end}`;

    let mark = api.requests.length;
    expect(await deliver('Pipeline Hook', pipelineHook(HEAD, 79))).toBe('done');
    expect(api.requests.slice(mark).filter((r) => /^(POST|PUT) \S*\/notes/.test(r))).toHaveLength(1);
    expect(gateNotes()).toEqual([original]);
    expect(original).not.toContain('security waived the review');

    // Unedited: the next conclusion writes no note.
    mark = api.requests.length;
    expect(await deliver('Pipeline Hook', pipelineHook(HEAD, 80))).toBe('done');
    expect(api.requests.slice(mark).filter((r) => /^(POST|PUT) \S*\/notes/.test(r))).toEqual([]);
  });

  it('a critical SAST finding blocks; an approved exception turns it to pass until it expires, then back to block', async () => {
    pipeline(HEAD, { secret_detection: 'success', 'slsa-provenance': 'success', semgrep_sast: 'success' });
    w.jobs[2]!.artifacts = [{ file_type: 'sast', filename: 'gl-sast-report.json' }];
    w.reports.set(w.jobs[2]!.id, sastReport());
    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateNotes()[0]).toContain('js/sql-injection');

    const approved = {
      id: 'gitlab:gitlabhq/gitlab-test#50',
      findingRef: 'js/sql-injection',
      category: 'sast',
      scope: { repo: 'gitlab:gitlabhq/gitlab-test', paths: [] },
      compensatingControls: 'WAF rule',
      businessOwner: '@owner',
      requestedBy: 'dev',
      requestedAt: new Date('2026-11-19T00:00:00Z'),
      expiresAt: new Date('2026-12-01T00:00:00Z'),
      status: 'approved' as const,
      approvedBy: 'ciso',
      approvedAt: new Date('2026-11-19T12:00:00Z'),
      renewalOf: null,
    };
    await gatehouse.gateStore.saveException({ ...approved, approvedDigest: termsDigest(approved) });
    expect(await deliver('Pipeline Hook', pipelineHook(HEAD))).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(ourStatus(HEAD)).toMatchObject({ state: 'success' });

    clock = new Date('2026-12-01T00:00:01Z');
    // A pipeline re-run after the expiry: a new event (the very same body again would be a replay).
    expect(await deliver('Pipeline Hook', pipelineHook(HEAD, 9001))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourStatus(HEAD)).toMatchObject({ state: 'failed' });
    expect(gateNotes()).toHaveLength(1);
  });

  it('an emergency release without the named approver stays blocked; with it: gate::emergency, an emergency record and a retrospective issue with a due date', async () => {
    const description = '## Emergency reason\nPayment outage (INC-9).\n';
    const mrLabels = ['release', 'release-class::emergency'];
    api.labels.set('merge_requests/1', [...mrLabels]);
    w.mr.description = description;
    pipeline(HEAD, { secret_detection: 'success' });
    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest({ labels: mrLabels, description }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(w.issues).toEqual([]);

    approve('cto');
    expect(await deliver('Merge Request Hook', mergeRequest({ action: 'approved', labels: mrLabels, description }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::emergency']);
    expect(ourStatus(HEAD)).toMatchObject({ state: 'success' });
    const [record] = await gatehouse.gateStore.emergencyRecordsFor(KEY);
    expect(record).toMatchObject({ approver: 'cto', reason: 'Payment outage (INC-9).' });
    expect(w.issues).toHaveLength(1);
    expect(w.issues[0]).toMatchObject({
      title: 'Retrospective: emergency release gitlabhq/gitlab-test!1',
      due_date: '2026-11-25',
      labels: 'retrospective',
    });
    expect(record!.followUp.issueUrl).toBe(w.issues[0]!.web_url);
  });

  it('attack: the author labels a blocked high-risk MR release-class::non-prod; it stays high-risk and blocked, the label is removed, the refusal audited with the actor and escalated; a class setter may lower it', async () => {
    w.diffs = ['app/auth/session.rb'];
    pipeline(HEAD, { secret_detection: 'success', 'slsa-provenance': 'success' });
    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);

    const withLabel = ['release', 'gate::block', 'release-class::non-prod'];
    const labeled = (): Record<string, unknown> =>
      mergeRequest({
        action: 'update',
        labels: withLabel,
        changes: { labels: { previous: [{ title: 'release' }, { title: 'gate::block' }], current: withLabel.map((title) => ({ title })) } },
      });
    api.labels.set('merge_requests/1', [...withLabel]);
    w.labelEvents.push({ action: 'add', label: 'release-class::non-prod', username: 'dev', at: '2026-11-20T10:05:00Z' });
    expect(await deliver('Merge Request Hook', labeled())).toBe('done');
    expect(labels()).not.toContain('release-class::non-prod');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourStatus(HEAD)).toMatchObject({ state: 'failed' });
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', releaseClass: 'high-risk' });
    expect(gateNotes()[0]).toContain('`release-class::non-prod` was removed: dev added it');
    const refusals = (
      await gatehouse.store.auditFor(
        issueKey({ repo: { platform: 'gitlab', fullName: 'gitlabhq/gitlab-test', id: 1, defaultBranch: null }, number: 1, kind: 'change' }),
      )
    ).filter((e) => e.action === 'refuseClassLabel');
    expect(refusals.map((e) => (e.detail as { actor: string }).actor)).toEqual(['dev']);
    expect((await gatehouse.outbox.openEscalations(100)).map((n) => n.key).filter((k) => k.startsWith('ship-despite-block:'))).toEqual([
      `ship-despite-block:${KEY}:${HEAD}:release-class::non-prod`,
    ]);

    // A class setter of the global policy adds it: it lowers the class.
    api.labels.set('merge_requests/1', [...withLabel]);
    w.labelEvents.push({ action: 'remove', label: 'release-class::non-prod', username: GITLAB_BOT, at: '2026-11-20T10:05:01Z' });
    w.labelEvents.push({ action: 'add', label: 'release-class::non-prod', username: 'rel-mgr', at: '2026-11-20T10:10:00Z' });
    expect(await deliver('Merge Request Hook', labeled())).toBe('done');
    expect(labels()).toContain('release-class::non-prod');
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'pass', releaseClass: 'non-prod' });
  });

  it('attack: the emergency approver approves commit A, the author pushes commit B with a critical finding: no longer emergency, the status fails, the record says why', async () => {
    const description = '## Emergency reason\nPayment outage (INC-9).\n';
    const mrLabels = ['release', 'release-class::emergency'];
    api.labels.set('merge_requests/1', [...mrLabels]);
    w.mr.description = description;
    pipeline(HEAD, { secret_detection: 'success' });
    approve('cto');
    expect(await deliver('Merge Request Hook', mergeRequest({ action: 'approved', labels: mrLabels, description }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::emergency']);

    // Commit B, pushed after the approval, with a critical SAST finding.
    pipeline(HEAD2, { secret_detection: 'success', semgrep_sast: 'success' }, 78);
    w.versions.at(-1)!.created_at = '2026-11-20T09:30:00Z';
    w.jobs[1]!.artifacts = [{ file_type: 'sast', filename: 'gl-sast-report.json' }];
    w.reports.set(w.jobs[1]!.id, sastReport());
    expect(
      await deliver('Merge Request Hook', mergeRequest({ action: 'update', sha: HEAD2, oldrev: HEAD, labels: mrLabels, description })),
    ).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourStatus(HEAD2)).toMatchObject({ state: 'failed' });
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', headSha: HEAD2 });
    expect((await reasonsOf()).find((r) => r.rule === 'emergency-approver-missing')!.evidence).toContain(
      'the emergency approval of cto does not count: cto approved commit da1560886d4f, not the head c0ffeec0ffee',
    );
    expect((await gatehouse.gateStore.emergencyRecordsFor(KEY)).map((r) => r.headSha)).toEqual([HEAD]);
  });

  it("attack: the MR author's own approval (while someone else acts on the MR), a bot's, a Reporter's and a non-member's do not count; a Developer's does", async () => {
    pipeline(HEAD, { secret_detection: 'success', 'slsa-provenance': 'success' });
    Object.assign(w.users, {
      rita: { id: 21, access_level: 20 },
      project_1_bot_3f2a: { id: 22, access_level: 40, bot: true },
      olga: { id: 23 },
    });
    for (const u of ['dev', 'rita', 'project_1_bot_3f2a', 'olga']) approve(u);
    // The hook names root as the one acting (author_id 51): the author is read from the API, where it is dev.
    expect(await deliver('Merge Request Hook', mergeRequest({ action: 'approved' }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const reasons = await reasonsOf();
    expect(reasons.filter((r) => r.severity === 'block').map((r) => r.rule)).toEqual(['approvals-missing']);
    expect(reasons.find((r) => r.rule === 'approval-not-counted')!.evidence.sort()).toEqual([
      'dev is the author of the change request',
      'olga has no write access to the repository',
      'project_1_bot_3f2a is a bot',
      'rita has no write access to the repository',
    ]);
    expect(gateNotes()[0]).toContain('rita has no write access to the repository');

    approve('alice');
    expect(await deliver('Merge Request Hook', mergeRequest({ action: 'approved' }))).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
  });
});

describe('exception approvals on GitLab', () => {
  it('the requester, read from the API (not the hook), cannot approve their own exception', async () => {
    const body = [
      ['Finding or control', 'js/sql-injection'],
      ['Category', 'sast'],
      ['Repository', 'gitlabhq/gitlab-test'],
      ['Paths', '_No response_'],
      ['Compensating controls', 'WAF rule'],
      ['Business owner', '@owner'],
      ['Requested expiry', '2026-11-30'],
      ['Renews', '_No response_'],
    ]
      .map(([k, v]) => `### ${k}\n\n${v}`)
      .join('\n\n');
    const id = 'gitlab:gitlabhq/gitlab-test#50';
    const hook = (action: 'open' | 'update', username: string): Record<string, unknown> => {
      const p = issueHook({ action, description: body, labels: api.labels.get('issues/50'), iid: 50, username });
      (p['object_attributes'] as Record<string, unknown>)['created_at'] = '2026-11-20T09:00:00Z';
      return p;
    };
    // ciso files the request (GitLab says so); the hooks are about other users' actions.
    api.descriptions.set('issues/50', body);
    api.labels.set('issues/50', ['exception']);
    api.authors.set('issues/50', 'ciso');
    expect(await deliver('Issue Hook', hook('open', 'bob'))).toBe('done');
    expect(await gatehouse.gateStore.getException(id)).toMatchObject({ status: 'requested', requestedBy: 'ciso' });

    // ciso adds the approval label; the hook that arrives next was caused by bob (its author fields say bob).
    api.labels.set('issues/50', ['exception', 'exception::approved']);
    api.labelEvents.set('issues/50', [{ action: 'add', label: 'exception::approved', user: 'ciso', created_at: '2026-11-20T09:30:00Z' }]);
    expect(await deliver('Issue Hook', hook('update', 'bob'))).toBe('done');
    expect(api.labels.get('issues/50')).toEqual(['exception']);
    const note = (api.notes.get('issues/50') ?? []).map((n) => n.body).join('\n');
    expect(note).toContain('ciso requested this exception, and a requester cannot approve their own exception');
    expect(await gatehouse.gateStore.getException(id)).toMatchObject({ status: 'requested', approvedBy: null });
    const refusals = (await gatehouse.store.auditFor(id)).filter((a) => a.action === 'refuseExceptionApproval');
    expect(refusals).toEqual([expect.objectContaining({ detail: expect.objectContaining({ actor: 'ciso' }) })]);
  });
});
