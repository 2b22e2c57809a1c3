/**
 * Check completions debounced per head commit, end to end on GitHub (real server, embedded
 * database, GitHub's API on nock): a burst of check_run completions on one head costs one
 * evidence read, and a completion after the burst still gets a verdict of its own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { checkRunPayload, githubDelivery, githubExample, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { fakeGateGitHub, otherRun, type GateWorld } from '../support/github-gate.ts';

const FULL = 'Codertocat/Hello-World';
const KEY = 'github:Codertocat/Hello-World!2';
const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
/**
 * The window of the test, the production default: the whole burst is handled within it even on a
 * loaded machine (49 deliveries took up to 3.7 s with other test files running).
 */
const WINDOW_MS = 5000;
let gatehouse: Gatehouse;
let w: GateWorld;

function pullRequestListed(): Record<string, unknown> {
  const pr = githubExample({ name: 'pull_request', action: 'opened' })['pull_request'] as Record<string, unknown>;
  pr['body'] = 'Spring release.';
  pr['labels'] = [{ name: 'release' }];
  (pr['head'] as Record<string, unknown>)['sha'] = HEAD;
  return pr;
}

/** A completed check run (each its own id: the same body twice would be a replay). */
let nextRunId = 70_000;
function checkRunCompleted(name: string, conclusion: string): Record<string, unknown> {
  return checkRunPayload({ id: nextRunId++, name, headSha: HEAD, conclusion });
}

async function post(payload: unknown): Promise<string> {
  const d = githubDelivery({ name: 'check_run', secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return d.id;
}

/**
 * Reads of the head's combined status: one per evidence collection (the check-runs listing is also
 * read to find our own check before writing it, so it is not counted here).
 */
const evidenceReads = (): number => w.log.filter((l) => l === `GET /repos/${FULL}/commits/${HEAD}/status`).length;
const gateLabels = (): string[] => w.labels.filter((l) => l.startsWith('gate::'));

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
  writeFileSync(policyPath, 'gate:\n  securityReviewers: { github: [sec-sam] }\n');
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    {
      github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
      now: () => new Date('2026-11-20T10:00:00Z'),
      gateDebounceMs: WINDOW_MS,
      queue: { pollIntervalMs: 100, retryDelaySeconds: 1, retryBackoff: false },
    },
  );
  w = fakeGateGitHub(API, FULL, 2);
  w.labels = ['release'];
  w.files = ['src/cart.ts'];
  w.permissions = { alice: 'write' };
  w.reviews.push({ user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD });
  w.pulls = [pullRequestListed()];
});
afterEach(async () => {
  await gatehouse.close();
  const fake = new Set(w.routes());
  const pending = nock.pendingMocks().filter((m) => !fake.has(m));
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('release gate re-evaluation debounced per head commit (GitHub)', () => {
  it('50 check_run completions on one head: at most 3 evidence reads, and the verdict reflects the last completion', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    const matrix = Array.from({ length: 49 }, (_, i) => `test (shard ${i + 1}/49)`);
    for (const name of matrix) otherRun(w, HEAD, name, 'success');

    // A matrix of 49 jobs completes at once: 49 deliveries, all handled, one evaluation.
    const started = Date.now();
    const ids = await Promise.all(matrix.map((name) => post(checkRunCompleted(name, 'success'))));
    for (const id of ids) expect(await processed(gatehouse, 'github', id)).toBe('done');
    const handledMs = Date.now() - started;
    await until('a verdict after the burst', () => gateLabels().length > 0);
    expect(gateLabels()).toEqual(['gate::pass']);
    const burstReads = evidenceReads();

    // The 50th completion, after the burst's evaluation ran: the secrets scan is re-run and fails.
    // It joins nothing that already read the evidence: it gets an evaluation of its own.
    Object.assign(
      w.checkRuns.find((r) => r.name === 'secret-scanning')!,
      { conclusion: 'failure' },
    );
    expect(await processed(gatehouse, 'github', await post(checkRunCompleted('secret-scanning', 'failure')))).toBe('done');
    // the new verdict's label is added before the old one is removed: wait for the whole change
    await until('the verdict of the last completion', () => gateLabels().includes('gate::block') && !gateLabels().includes('gate::pass'));
    expect(gateLabels()).toEqual(['gate::block']);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 500)); // nothing else was pending
    expect(await gatehouse.gateStore.latestGateDecision(KEY)).toMatchObject({ verdict: 'block', headSha: HEAD });

    const reads = evidenceReads();
    console.info(
      `[gate debounce] 49 deliveries handled in ${handledMs} ms; evidence reads: ${burstReads} for the burst, ${reads} in all (50 completions)`,
    );
    // one evaluation per window the burst spanned (one when handled within a window; a loaded machine
    // may take longer), and the 50th completion's own; without the debounce, one per completion
    expect(reads, `49 deliveries handled in ${handledMs} ms (window ${WINDOW_MS} ms)`).toBeLessThanOrEqual(
      2 + Math.ceil(handledMs / WINDOW_MS),
    );
    // The other evidence endpoints were read as rarely (check runs: once more per verdict written, to find our own check).
    expect(w.log.filter((l) => l === `GET /repos/${FULL}/pulls/2/reviews`).length).toBeLessThanOrEqual(reads);
    expect(w.log.filter((l) => l === `GET /repos/${FULL}/pulls/2/files`).length).toBeLessThanOrEqual(reads);
    expect(w.log.filter((l) => l === `GET /repos/${FULL}/commits/${HEAD}/check-runs`).length).toBeLessThanOrEqual(2 * reads);
  }, 90_000);

  it('the last completion of a burst is reflected: the burst ends with a failure and the verdict blocks', async () => {
    otherRun(w, HEAD, 'secret-scanning', 'success');
    otherRun(w, HEAD, 'slsa-provenance', 'success');
    const matrix = Array.from({ length: 20 }, (_, i) => `build (${i + 1})`);
    for (const name of matrix) otherRun(w, HEAD, name, 'success');
    const started = Date.now();
    const first = await Promise.all(matrix.map((name) => post(checkRunCompleted(name, 'success'))));
    // Inside the window, the secrets scan concludes with a failure: the evaluation waiting reads it.
    Object.assign(
      w.checkRuns.find((r) => r.name === 'secret-scanning')!,
      { conclusion: 'failure' },
    );
    const last = await post(checkRunCompleted('secret-scanning', 'failure'));
    for (const id of [...first, last]) expect(await processed(gatehouse, 'github', id)).toBe('done');
    const handledMs = Date.now() - started;
    await until('a verdict', () => gateLabels().length > 0);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 500));
    expect(gateLabels()).toEqual(['gate::block']);
    expect(evidenceReads()).toBeLessThanOrEqual(1 + Math.ceil(handledMs / WINDOW_MS));
  }, 90_000);
});
