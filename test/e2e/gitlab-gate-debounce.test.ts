/**
 * Pipeline conclusions debounced per head commit, end to end on GitLab (real server, embedded
 * database, GitLab's API on nock): a burst of pipeline hooks on one head costs one evidence read,
 * and a conclusion after the burst still gets a verdict of its own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
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
/**
 * The window of the test, the production default: the whole burst is handled within it even on a
 * loaded machine (49 deliveries took up to 3.7 s with other test files running).
 */
const WINDOW_MS = 5000;
let gatehouse: Gatehouse;
let api: FakeGitLabApi;
let w: GitLabGateWorld;

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

/** A concluded pipeline on HEAD; each its own id (the same body twice would be a replay). */
let nextPipelineId = 500;
function pipelineHook(): Record<string, unknown> {
  const p = gitlabFixture('pipeline-hook');
  p['project'] = gitlabFixture('merge-request-hook')['project'];
  obj(p['object_attributes'])['sha'] = HEAD;
  obj(p['object_attributes'])['id'] = nextPipelineId++;
  return p;
}

async function post(): Promise<string> {
  const d = gitlabDelivery({ event: 'Pipeline Hook', payload: pipelineHook() });
  const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return d.id;
}

/** Reads of the merge request's approvals: one per evidence collection. */
const evidenceReads = (): number => api.requests.filter((r) => /^GET .*\/merge_requests\/1\/approvals/.test(r)).length;
const gateLabels = (): string[] => (api.labels.get('merge_requests/1') ?? []).filter((l) => l.startsWith('gate::'));

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

loopbackOnly();
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(policyPath, 'gate:\n  securityReviewers: { gitlab: [alice] }\n');
  gatehouse = await startTestGatehouse(
    { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: SECRET }, policyPath },
    {
      gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } },
      now: () => new Date('2026-11-20T10:00:00Z'),
      gateDebounceMs: WINDOW_MS,
      queue: { pollIntervalMs: 100, retryDelaySeconds: 1, retryBackoff: false },
    },
  );
  api = fakeGitLabApi();
  w = fakeGitLabGate(api, GITLAB_BOT);
  api.labels.set('merge_requests/1', ['release']);
  w.diffs = ['app/models/cart.rb'];
  w.sha = HEAD;
  w.pipeline = { id: 77, sha: HEAD, status: 'success' };
  w.jobs = [
    { id: 7700, name: 'secret_detection', status: 'success', web_url: 'http://example.com/jobs/7700' },
    { id: 7701, name: 'slsa-provenance', status: 'success', web_url: 'http://example.com/jobs/7701' },
  ];
  w.versions.push({ head_commit_sha: HEAD, created_at: '2026-11-20T08:10:00Z' });
  w.approvals.push({ username: 'alice', approved_at: '2026-11-20T09:00:00Z' });
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

describe('release gate re-evaluation debounced per head commit (GitLab)', () => {
  it('30 pipeline hooks on one head: one evidence read; a later failure still blocks (at most 3 reads in all)', async () => {
    const started = Date.now();
    const ids = await Promise.all(Array.from({ length: 30 }, () => post()));
    for (const id of ids) expect(await processed(gatehouse, 'gitlab', id)).toBe('done');
    const handledMs = Date.now() - started;
    await until('a verdict after the burst', () => gateLabels().length > 0);
    expect(gateLabels()).toEqual(['gate::pass']);
    const burst = evidenceReads();

    w.jobs[0]!.status = 'failed';
    expect(await processed(gatehouse, 'gitlab', await post())).toBe('done');
    await until('the verdict of the last pipeline', () => gateLabels().includes('gate::block'));
    await new Promise((r) => setTimeout(r, WINDOW_MS + 500));
    expect(gateLabels()).toEqual(['gate::block']);
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', headSha: HEAD });
    console.info(`[gate debounce gitlab] evidence reads: ${burst} for 30 pipeline hooks, ${evidenceReads()} in all`);
    // one evaluation per window the burst spanned (one on an idle machine), and the failure's own
    expect(evidenceReads()).toBeLessThanOrEqual(2 + Math.ceil(handledMs / WINDOW_MS));
  }, 90_000);
});
