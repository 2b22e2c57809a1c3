/**
 * A repository's override (.github/gatehouse.yml on the default branch) may only tighten the global
 * policy. Each test is an attack by someone who can push to a repository's default branch but holds
 * no authority in the global policy, end to end: signed deliveries into the real server on loopback,
 * stateful fakes of GitHub's and GitLab's REST APIs (nock), the embedded database. Every ignored key
 * is audited once (`overrideIgnored`, keyed by the repository) with who last changed the override, as
 * the platform's commits API names them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { GATE_MARKER } from '../../src/core/gate/plan.ts';
import { intakeBody } from '../builders/intake.ts';
import { fakeGitHubIssues, type FakeGitHubIssues } from '../support/fake-github-issues.ts';
import { fakeGateGitHub, otherRun, type GateWorld } from '../support/github-gate.ts';
import {
  githubDelivery,
  issueCommentPayload,
  issuesPayload,
  pullRequestPayload,
  pullRequestReviewPayload,
  testPrivateKey,
} from '../support/github.ts';
import { fakeGitLabGate, type GitLabGateWorld } from '../support/gitlab-gate.ts';
import {
  addNote,
  fakeGitLabApi,
  type FakeGitLabApi,
  GITLAB_BOT,
  GITLAB_SECRET,
  GITLAB_URL,
  gitlabDelivery,
  gitlabFixture,
  issueHook,
  issueNoteHook,
} from '../support/gitlab.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const OVERRIDE = '.github/gatehouse.yml';
const HANDOVER =
  '### Tool name\n\nscanner\n\n### Current owner\n\nplatform\n\n### Reason for the handover\n\nreorganisation\n\n### Current criticality\n\ncritical\n\n### Users and dependants\n\nevery team';
const TOOLING_POLICY = [
  'tooling:',
  '  deciders: { github: [lead], gitlab: [lead] }',
  '  inventory:',
  '    - { name: scanner, criticality: critical, pathForward: maintain }',
  '',
].join('\n');
const KEY = (n: number) => `github:Codertocat/Hello-World#${n}`;
let gatehouse: Gatehouse | null = null;

/** The repository's `overrideIgnored` audit entries: the refused keys and who last changed the override. */
async function overrideAudit(g: Gatehouse, repoKey: string): Promise<{ ignored: string[]; actor: unknown; actorNote: string | null }[]> {
  return (await g.store.auditFor(repoKey))
    .filter((e) => e.action === 'overrideIgnored')
    .map((e) => {
      const d = e.detail as { ignored: { path: string }[]; actor: unknown; actorNote: string | null };
      return { ignored: d.ignored.map((k) => k.path), actor: d.actor, actorNote: d.actorNote };
    });
}

function globalPolicy(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-overrides-')), 'policy.yml');
  writeFileSync(path, text);
  return path;
}

async function start(policyPath: string): Promise<Gatehouse> {
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
  );
  return gatehouse;
}

async function deliver(g: Gatehouse, name: string, payload: unknown): Promise<string> {
  const d = githubDelivery({ name, secret: SECRET, payload });
  const res = await fetch(`${g.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  const status = await processed(g, 'github', d.id);
  if (status !== 'done') return `${status}: ${(await g.store.getDelivery('github', d.id))?.lastError ?? ''}`;
  return status;
}

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
});

describe('issues: an override cannot switch off routing or grant tooling decisions', () => {
  let fake: FakeGitHubIssues;
  afterEach(() => {
    const unmatched = fake.unmatched.filter((r) => r.includes('api.github.com'));
    fake.stop();
    expect(unmatched).toEqual([]);
  });

  const open = async (g: Gatehouse, n: number, body: string, labels: string[] = []): Promise<void> => {
    fake.bodies.set(n, body);
    fake.labels.set(n, [...labels]);
    const p = issuesPayload({ body, number: n, labels });
    (p['issue'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
    expect(await deliver(g, 'issues', p)).toBe('done');
  };

  it('an override that empties routing.rules still sends suspected active exploitation to incident response, and says why', async () => {
    fake = fakeGitHubIssues({ files: { [OVERRIDE]: 'routing:\n  rules: []\n' } });
    fake.fileAuthors.set(OVERRIDE, 'mallory');
    const g = await start(globalPolicy('chat:\n  incidentChannel: "#prodsec-incidents"\n'));
    await open(g, 1, intakeBody({ active_exploitation: 'yes' }));
    expect(fake.labels.get(1)).toEqual(expect.arrayContaining(['tier::leadership', 'route::incident']));
    const notices = await g.outbox.openEscalations(100);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channel: '#prodsec-incidents' });
    const comment = (fake.comments.get(1) ?? []).map((c) => c.body).find((b) => b.includes('active-exploitation'));
    expect(comment).toContain(
      'The repository policy .github/gatehouse.yml cannot set routing.rules (ignored): an empty list removes nothing',
    );
    await open(g, 2, intakeBody({ active_exploitation: 'no' }));
    // One entry for this override's content, naming who pushed it (from GitHub's commits API), not one per event.
    expect(await overrideAudit(g, 'github:Codertocat/Hello-World')).toEqual([
      { ignored: ['routing.rules'], actor: expect.objectContaining({ login: 'mallory', verified: true }), actorNote: null },
    ]);
  }, 60_000);

  it('tooling deciders named by an override are refused, audited with the actor, and the inventory keeps its critical clocks', async () => {
    fake = fakeGitHubIssues({ files: { [OVERRIDE]: 'tooling:\n  deciders: { github: [mallory] }\n' } });
    const g = await start(globalPolicy(TOOLING_POLICY));
    const handover = HANDOVER;
    await open(g, 10, handover, ['tooling::handover']);
    // Mallory pushed the override to the default branch, then decides the tool is best effort (no clocks).
    const i = issuesPayload({ body: handover, number: 10, labels: ['tooling::handover'] });
    const p = issueCommentPayload({ issue: i, id: 8101, body: '/gatehouse decide best-effort', login: 'mallory' });
    expect(await deliver(g, 'issue_comment', p)).toBe('done');

    expect(fake.labels.get(10)).toEqual(['tooling::handover']);
    const comments = (fake.comments.get(10) ?? []).map((c) => c.body);
    expect(comments.find((c) => c.startsWith('<!-- gatehouse:command-refused -->'))).toMatch(/tooling deciders[\s\S]*Nothing was changed/);
    expect(comments.find((c) => c.startsWith('<!-- gatehouse:tool-decision -->'))).toBeUndefined();
    const audit = await g.store.auditFor(KEY(10));
    expect(audit.filter((e) => e.action === 'refuseCommand').map((e) => (e.detail as { actor: string }).actor)).toEqual(['mallory']);
    expect(audit.some((e) => e.action === 'recordToolDecision')).toBe(false);
    expect(await overrideAudit(g, 'github:Codertocat/Hello-World')).toEqual([
      { ignored: ['tooling.deciders'], actor: expect.objectContaining({ login: 'octocat' }), actorNote: null },
    ]);

    await open(g, 11, 'The tool is down', ['tool::outage', 'tool::scanner']);
    expect((await g.store.getClocks(KEY(11)))?.clocks.map((c) => c.criticality)).toEqual(['critical', 'critical']);
  }, 60_000);
});

describe('GitLab: an override cannot grant tooling decisions', () => {
  it('a decide command by a decider the override names is refused and audited; the tool keeps its critical clocks', async () => {
    const api = fakeGitLabApi();
    api.files.set('.gitlab/gatehouse.yml', 'tooling:\n  deciders: { gitlab: [mallory] }\n');
    api.fileAuthors.set('.gitlab/gatehouse.yml', { name: 'Mallory', email: 'mallory@example.com' });
    try {
      const g = (gatehouse = await startTestGatehouse(
        { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: GITLAB_SECRET }, policyPath: globalPolicy(TOOLING_POLICY) },
        { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } } },
      ));
      const send = async (event: string, payload: Record<string, unknown>): Promise<void> => {
        const d = gitlabDelivery({ event, payload });
        expect((await fetch(`${g.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
        expect(await processed(g, 'gitlab', d.id)).toBe('done');
      };
      const open = async (n: number, body: string, labels: string[]): Promise<void> => {
        api.descriptions.set(`issues/${n}`, body);
        api.labels.set(`issues/${n}`, [...labels]);
        const p = issueHook({ action: 'open', description: body, iid: n, labels });
        (p['object_attributes'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
        await send('Issue Hook', p);
      };
      await open(10, HANDOVER, ['tooling::handover']);
      const note = issueNoteHook({
        id: 8201,
        author: 'mallory',
        text: '/gatehouse decide best-effort',
        iid: 10,
        description: HANDOVER,
        labels: ['tooling::handover'],
      });
      // The note is in GitLab first (Gatehouse reads its author and text back from there).
      addNote(api, 'issues/10', { id: 8201, author: 'mallory', body: '/gatehouse decide best-effort' });
      await send('Note Hook', note);

      expect(api.labels.get('issues/10')).toEqual(['tooling::handover']);
      const notes = (api.notes.get('issues/10') ?? []).map((c) => c.body);
      expect(notes.find((c) => c.startsWith('<!-- gatehouse:command-refused -->'))).toMatch(/tooling deciders[\s\S]*Nothing was changed/);
      const audit = await g.store.auditFor('gitlab:gitlabhq/gitlab-test#10');
      expect(audit.filter((e) => e.action === 'refuseCommand').map((e) => (e.detail as { actor: string }).actor)).toEqual(['mallory']);
      await open(11, 'The tool is down', ['tool::outage', 'tool::scanner']);
      expect((await g.store.getClocks('gitlab:gitlabhq/gitlab-test#11'))?.clocks.map((c) => c.criticality)).toEqual([
        'critical',
        'critical',
      ]);
      // GitLab's commits API names the git author only: the name and email, marked unverified.
      expect(await overrideAudit(g, 'gitlab:gitlabhq/gitlab-test')).toEqual([
        {
          ignored: ['tooling.deciders'],
          actor: expect.objectContaining({ login: null, name: 'Mallory', email: 'mallory@example.com', verified: false }),
          actorNote: expect.stringContaining('GitLab’s commits API names no account'),
        },
      ]);
      expect(api.unmatched.filter((r) => r.includes('gitlab.example.com'))).toEqual([]);
    } finally {
      api.stop();
    }
  }, 60_000);
});

describe('GitLab: an override cannot switch off routing or name security reviewers', () => {
  const GL_OVERRIDE = '.gitlab/gatehouse.yml';
  const HEAD = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
  let api: FakeGitLabApi;
  let gw: GitLabGateWorld | null = null;
  let hookSeq = 0;
  afterEach(() => {
    const fakeRoutes = new Set(gw?.routes() ?? []);
    const unmatched = api.unmatched.filter((u) => u.includes('gitlab.example.com'));
    api.stop();
    const pending = nock.pendingMocks().filter((m) => !fakeRoutes.has(m));
    nock.cleanAll();
    gw = null;
    expect(unmatched, 'every GitLab request was answered').toEqual([]);
    expect(pending).toEqual([]);
  });

  const startGitLab = async (policy: string): Promise<Gatehouse> =>
    (gatehouse = await startTestGatehouse(
      { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: GITLAB_SECRET }, policyPath: globalPolicy(policy) },
      { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } } },
    ));
  const send = async (g: Gatehouse, event: string, payload: unknown): Promise<void> => {
    const d = gitlabDelivery({ event, payload });
    expect((await fetch(`${g.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    expect(await processed(g, 'gitlab', d.id)).toBe('done');
  };

  it('an override that empties routing.rules still sends suspected active exploitation to incident response; the refusal is audited with who pushed it', async () => {
    api = fakeGitLabApi();
    api.files.set(GL_OVERRIDE, 'routing:\n  rules: []\n');
    api.fileAuthors.set(GL_OVERRIDE, { name: 'Mallory', email: 'mallory@example.com' });
    const g = await startGitLab('chat:\n  incidentChannel: "#prodsec-incidents"\n');
    const body = intakeBody({ active_exploitation: 'yes' });
    api.descriptions.set('issues/1', body);
    api.labels.set('issues/1', []);
    const p = issueHook({ action: 'open', description: body, iid: 1, labels: [] });
    (p['object_attributes'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
    await send(g, 'Issue Hook', p);

    expect(api.labels.get('issues/1')).toEqual(expect.arrayContaining(['tier::leadership', 'route::incident']));
    const notices = await g.outbox.openEscalations(100);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channel: '#prodsec-incidents' });
    const note = (api.notes.get('issues/1') ?? []).map((n) => n.body).find((b) => b.includes('active-exploitation'));
    expect(note).toContain('The repository policy .gitlab/gatehouse.yml cannot set routing.rules (ignored): an empty list removes nothing');
    expect(await overrideAudit(g, 'gitlab:gitlabhq/gitlab-test')).toEqual([
      {
        ignored: ['routing.rules'],
        actor: expect.objectContaining({ login: null, name: 'Mallory', email: 'mallory@example.com', verified: false }),
        actorNote: expect.stringContaining('names no account'),
      },
    ]);
  }, 60_000);

  it('the friend the override names as reviewer (and as security reviewer) does not give a high-risk MR its security approval; the global reviewer does', async () => {
    const BODY = 'Payments release.\n\n## Rollback\nRevert the deploy.\n';
    const g = await startGitLab('changes:\n  reviewers: { gitlab: [sec-sam] }\n');
    api = fakeGitLabApi();
    const w = (gw = fakeGitLabGate(api, GITLAB_BOT));
    api.files.set(GL_OVERRIDE, 'changes:\n  reviewers: { gitlab: [friend] }\ngate:\n  securityReviewers: { gitlab: [friend] }\n');
    api.fileAuthors.set(GL_OVERRIDE, { name: 'Mallory', email: 'mallory@example.com' });
    api.labels.set('merge_requests/1', ['release']);
    w.diffs = ['app/payments/pay.rb'];
    w.mr.description = BODY;
    Object.assign(w.users, { friend: { id: 31, access_level: 30 }, 'sec-sam': { id: 32, access_level: 40 } });
    w.sha = HEAD;
    w.pipeline = { id: 77, sha: HEAD, status: 'success' };
    w.jobs = ['secret_detection', 'semgrep-sast', 'dependency_scanning', 'slsa-provenance'].map((name, i) => ({
      id: 7700 + i,
      name,
      status: 'success',
      web_url: `http://example.com/jobs/${7700 + i}`,
    }));
    w.versions.push({ head_commit_sha: HEAD, created_at: '2026-11-20T08:10:00Z' });
    const mergeRequest = (action: string): Record<string, unknown> => {
      const p = gitlabFixture('merge-request-hook');
      const a = p['object_attributes'] as Record<string, unknown>;
      Object.assign(a, {
        action,
        description: BODY,
        last_commit: { ...(a['last_commit'] as object), id: HEAD },
        labels: [{ title: 'release' }],
      });
      delete a['oldrev'];
      p['labels'] = [{ title: 'release' }];
      p['changes'] = {};
      // Every hook GitLab sends for a new event has its own time (the same body twice is a replay).
      a['updated_at'] = new Date(Date.parse('2026-11-20T09:00:00Z') + hookSeq++ * 1000).toISOString().replace('.000Z', 'Z');
      return p;
    };
    const gateLabels = (): string[] => (api.labels.get('merge_requests/1') ?? []).filter((l) => l.startsWith('gate::'));
    const gateNote = (): string => (api.notes.get('merge_requests/1') ?? []).find((n) => n.body.includes(GATE_MARKER))?.body ?? '';

    w.approvals.push(
      { username: 'alice', approved_at: '2026-11-20T09:00:00Z' },
      { username: 'friend', approved_at: '2026-11-20T09:00:00Z' },
    );
    await send(g, 'Merge Request Hook', mergeRequest('approved'));
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateNote()).toContain('`security-approval-missing`');
    expect(gateNote()).toContain('security reviewers: sec-sam');
    const reasons = (await g.gateStore.latestGateDecision('gitlab:gitlabhq/gitlab-test!1'))!.reasons as {
      rule: string;
      severity: string;
    }[];
    expect(reasons.filter((r) => r.severity === 'block').map((r) => r.rule)).toEqual(['security-approval-missing']);
    expect(await overrideAudit(g, 'gitlab:gitlabhq/gitlab-test')).toEqual([
      {
        ignored: ['gate.securityReviewers'],
        actor: expect.objectContaining({ name: 'Mallory', email: 'mallory@example.com', verified: false }),
        actorNote: expect.stringContaining('names no account'),
      },
    ]);

    w.approvals.push({ username: 'sec-sam', approved_at: '2026-11-20T09:05:00Z' });
    await send(g, 'Merge Request Hook', mergeRequest('approved'));
    expect(gateLabels()).toEqual(['gate::pass']);
  }, 60_000);
});

describe('release gate: a reviewer named by an override is no security reviewer', () => {
  const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
  const BODY = 'Payments release.\n\n## Rollback\nRevert the deploy.\n';
  let w: GateWorld;
  afterEach(() => {
    const fakeRoutes = new Set(w.routes());
    const pending = nock.pendingMocks().filter((m) => !fakeRoutes.has(m));
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  const pullRequest = (): Record<string, unknown> => {
    return pullRequestPayload({ body: BODY, labels: ['release'], headSha: HEAD });
  };
  const review = (login: string): Record<string, unknown> => {
    return pullRequestReviewPayload({ login, body: BODY, labels: ['release'], headSha: HEAD, baseRef: 'master' });
  };
  const approve = (login: string): void => void w.reviews.push({ user: { login }, state: 'APPROVED', commit_id: HEAD });
  const gateComment = (): string => w.comments.find((c) => c.body.includes(GATE_MARKER))?.body ?? '';
  const gateLabels = (): string[] => w.labels.filter((l) => l.startsWith('gate::'));

  it('the friend’s approval of a high-risk release does not count as the security approval; the global reviewer’s does', async () => {
    // The global policy names no gate.securityReviewers: its change reviewers count for the gate.
    const g = await start(globalPolicy('changes:\n  reviewers: { github: [sec-sam] }\n'));
    w = fakeGateGitHub(API, 'Codertocat/Hello-World', 2);
    w.permissions = { alice: 'write', friend: 'write', 'sec-sam': 'maintain' };
    w.repoFiles = { [OVERRIDE]: 'changes:\n  reviewers: { github: [friend] }\n' };
    w.labels = ['release'];
    w.files = ['src/payments/pay.ts'];
    for (const name of ['secret-scanning', 'slsa-provenance', 'codeql', 'dependency-review']) otherRun(w, HEAD, name, 'success');
    approve('alice');
    approve('friend');
    expect(await deliver(g, 'pull_request', pullRequest())).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateComment()).toContain('`security-approval-missing`');
    expect(gateComment()).toContain('security reviewers: sec-sam');

    approve('sec-sam');
    expect(await deliver(g, 'pull_request_review', review('sec-sam'))).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
  }, 60_000);
});
