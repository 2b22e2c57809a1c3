/**
 * Release evidence pinned to its source, end to end on GitLab (real server, embedded database,
 * GitLab's API on nock): a job a merge request defines in its own pipeline configuration — under
 * any name, or under the very names the policy pins — and a commit status a developer posts do not
 * satisfy a pinned scan; a merge request past GitLab's diff limits blocks as incomplete evidence.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { GATE_MARKER } from '../../src/core/gate/plan.ts';
import {
  fakeGitLabApi,
  GITLAB_BOT,
  GITLAB_SECRET as SECRET,
  GITLAB_URL,
  gitlabDelivery,
  gitlabFixture,
  type FakeGitLabApi,
} from '../support/gitlab.ts';
import { processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { fakeGitLabGate, type GitLabGateWorld } from '../support/gitlab-gate.ts';

const KEY = 'gitlab:gitlabhq/gitlab-test!1';
const HEAD = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
const DESCRIPTION = 'Rotates the session keys.\n\n## Rollback\nRevert the deploy.\n';
const NAMED = {
  secret_detection: 'success',
  'semgrep-sast': 'success',
  'gemnasium-dependency_scanning': 'success',
  'slsa-provenance': 'success',
};
const POLICY = `gate:
  securityReviewers: { gitlab: [sec-sam] }
  sources:
    secrets: { gitlab: { jobs: [secret_detection] } }
    sast: { gitlab: { jobs: [semgrep-sast] } }
    dependencies: { gitlab: { jobs: [gemnasium-dependency_scanning] } }
    provenance: { gitlab: { jobs: [slsa-provenance], statusCreators: [signing-bot] } }
`;
let gatehouse: Gatehouse;
let api: FakeGitLabApi;
let w: GitLabGateWorld;

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

function mergeRequest(): Record<string, unknown> {
  const p = gitlabFixture('merge-request-hook');
  const a = obj(p['object_attributes']);
  a['action'] = 'open';
  a['description'] = DESCRIPTION;
  a['last_commit'] = { ...obj(a['last_commit']), id: HEAD };
  a['labels'] = [{ title: 'release' }];
  delete a['oldrev'];
  p['labels'] = [{ title: 'release' }];
  p['changes'] = {};
  return p;
}

async function deliver(): Promise<string> {
  const d = gitlabDelivery({ event: 'Merge Request Hook', payload: mergeRequest() });
  const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return processed(gatehouse, 'gitlab', d.id);
}

/** The head pipeline (77) with these jobs (name → status). */
function pipeline(jobs: Record<string, string>): void {
  w.sha = HEAD;
  w.pipeline = { id: 77, sha: HEAD, status: 'success' };
  w.jobs = Object.entries(jobs).map(([name, status], i) => ({
    id: 7700 + i,
    name,
    status,
    web_url: `http://example.com/jobs/${7700 + i}`,
  }));
}
const gateLabels = (): string[] => (api.labels.get('merge_requests/1') ?? []).filter((l) => l.startsWith('gate::'));
const gateNote = (): string => (api.notes.get('merge_requests/1') ?? []).filter((n) => n.body.includes(GATE_MARKER)).at(-1)?.body ?? '';

loopbackOnly();
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(policyPath, POLICY);
  gatehouse = await startTestGatehouse(
    { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: SECRET }, policyPath },
    { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } }, now: () => new Date('2026-11-20T10:00:00Z') },
  );
  api = fakeGitLabApi();
  w = fakeGitLabGate(api, GITLAB_BOT);
  api.labels.set('merge_requests/1', ['release']);
  w.mr.description = DESCRIPTION;
  w.diffs = ['app/auth/session.rb'];
  w.versions.push({ head_commit_sha: HEAD, created_at: '2026-11-20T08:00:00Z' });
  w.approvals.push(
    { username: 'alice', approved_at: '2026-11-20T09:00:00Z' },
    { username: 'sec-sam', approved_at: '2026-11-20T09:00:00Z' },
  );
  w.users['sec-sam'] = { id: 14, access_level: 40 };
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

describe('release evidence pinned to its source (GitLab)', () => {
  it("passes a high-risk release whose scans are the named jobs of a pipeline configuration the merge request leaves alone, and the named signer's status", async () => {
    pipeline({ secret_detection: 'success', 'semgrep-sast': 'success', 'gemnasium-dependency_scanning': 'success' });
    w.external = [{ sha: HEAD, name: 'slsa-provenance', status: 'success', author: { username: 'signing-bot' } }];
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(api.requests.filter((r) => /^GET .*\/projects\/1(\?|$)/.test(r))).toHaveLength(1);
  });

  it("a job named secret-sast-dependency-provenance in the merge request's own .gitlab-ci.yml satisfies none of the four scans", async () => {
    w.diffs = ['app/auth/session.rb', '.gitlab-ci.yml'];
    pipeline({ 'secret-sast-dependency-provenance': 'success' });
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const note = gateNote();
    for (const item of ['Secrets scan', 'SAST', 'Dependency scan', 'Provenance / signing'])
      expect(note).toContain(`| ${item} | yes | ❔ missing |`);
    expect(note).toContain(
      'secret-sast-dependency-provenance (job, success) ignored: job secret-sast-dependency-provenance, not a job named for it',
    );
    const record = await gatehouse.gateStore.latestGateDecision(KEY);
    expect(record).toMatchObject({ verdict: 'block', releaseClass: 'high-risk' });
  });

  it.each([
    ['.gitlab-ci.yml', null],
    ['ci/pipeline.yml', 'ci/pipeline.yml'],
  ])('the named jobs do not count when the merge request changes the pipeline configuration (%s)', async (changed, ciConfigPath) => {
    w.ciConfigPath = ciConfigPath;
    w.diffs = ['app/auth/session.rb', changed];
    pipeline(NAMED);
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const note = gateNote();
    expect(note).toContain(
      `secret_detection (job, success) ignored: job secret_detection: the pipeline configuration (${changed}) is changed by this merge request`,
    );
    expect(note).toContain('| SAST | yes | ❔ missing |');
  });

  it('a provenance status a developer posts does not count', async () => {
    pipeline({ secret_detection: 'success', 'semgrep-sast': 'success', 'gemnasium-dependency_scanning': 'success' });
    w.external = [{ sha: HEAD, name: 'slsa-provenance', status: 'success', author: { username: 'mallory' } }];
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(gateNote()).toContain(
      'slsa-provenance (status, success) ignored: commit status posted by mallory, not a status creator named for it',
    );
  });

  it('blocks a merge request past GitLab\'s diff limits (changes_count "1000+"), whose high-risk path is not listed', async () => {
    pipeline(NAMED);
    w.diffs = [...Array.from({ length: 1200 }, (_, i) => `vendor/pad/${i}.txt`), 'app/auth/session.rb'];
    w.approvals = [{ username: 'alice', approved_at: '2026-11-20T09:00:00Z' }];
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const note = gateNote();
    expect(note).toContain('`evidence-incomplete`');
    expect(note).toContain('changes 1000+ file(s) and 1000 were listed; GitLab lists at most 1000 files of a merge request');
  });
});
