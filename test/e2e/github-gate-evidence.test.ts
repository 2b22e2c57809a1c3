/**
 * Release evidence pinned to its source, end to end on GitHub (real server, embedded database,
 * GitHub's API on nock): what a requester can fake — a CI job of any name in a workflow the pull
 * request adds or edits, a check run of another App, a commit status — does not satisfy a scan the
 * policy pins; a missing code-scanning analysis blocks a class that requires SAST; a pull request
 * padded past GitHub's 3,000-file listing blocks as incomplete evidence.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { GATE_MARKER } from '../../src/core/gate/plan.ts';
import { githubDelivery, pullRequestPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { fakeGateGitHub, ourRuns, workflowRun, type GateWorld } from '../support/github-gate.ts';

const FULL = 'Codertocat/Hello-World';
const KEY = 'github:Codertocat/Hello-World!2';
const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const BODY = 'Rotates the session keys.\n\n## Rollback\nRevert the deploy.\n';
const SECURITY = '.github/workflows/security.yml';
const POLICY = `gate:
  securityReviewers: { github: [sec-sam] }
  sources:
    secrets: { github: { workflows: [${SECURITY}] } }
    dependencies: { github: { workflows: [${SECURITY}] } }
    sast: { github: { apps: [github-advanced-security] } }
    provenance: { github: { statusCreators: [signing-bot] } }
`;
let gatehouse: Gatehouse;
let w: GateWorld;

function pullRequest(): Record<string, unknown> {
  return pullRequestPayload({ body: BODY, labels: ['release'], headSha: HEAD });
}

async function deliver(): Promise<string> {
  const d = githubDelivery({ name: 'pull_request', secret: SECRET, payload: pullRequest() });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  return processed(gatehouse, 'github', d.id);
}

const gateComment = (): string => w.comments.filter((c) => c.body.includes(GATE_MARKER)).at(-1)?.body ?? '';
const gateLabels = (): string[] => w.labels.filter((l) => l.startsWith('gate::'));
const CODEQL = { name: 'CodeQL', app: { id: 57789, slug: 'github-advanced-security' } };

/** The evidence as the named sources produce it. */
function genuine({ secrets = true, dependencies = true, sast = true, provenance = true } = {}): void {
  if (secrets) workflowRun(w, HEAD, SECURITY, 'secret-scan');
  if (dependencies) workflowRun(w, HEAD, SECURITY, 'dependency-review');
  if (sast) w.checkRuns.push({ id: 4000 + w.checkRuns.length, ...CODEQL, head_sha: HEAD, status: 'completed', conclusion: 'success' });
  if (provenance)
    w.statuses.push({ sha: HEAD, context: 'slsa-provenance', state: 'success', creator: { login: 'signing-bot', type: 'Bot' } });
}

loopbackOnly();
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(policyPath, POLICY);
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false }, now: () => new Date('2026-11-20T10:00:00Z') },
  );
  w = fakeGateGitHub(API, FULL, 2);
  w.labels = ['release'];
  w.files = ['src/auth/session.ts'];
  w.reviews.push(
    { user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD },
    { user: { login: 'sec-sam' }, state: 'APPROVED', commit_id: HEAD },
  );
  w.permissions = { alice: 'write', 'sec-sam': 'maintain' };
});
afterEach(async () => {
  await gatehouse.close();
  const fake = new Set(w.routes());
  const pending = nock.pendingMocks().filter((m) => !fake.has(m));
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('release evidence pinned to its source (GitHub)', () => {
  it('passes a high-risk release whose scans come from the named workflow, App and status creator', async () => {
    genuine();
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::pass']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ conclusion: 'success' });
    // One listing of the head's workflow runs; statuses read with their creators.
    expect(w.log.filter((l) => l.endsWith('/actions/runs'))).toHaveLength(1);
    expect(w.log.some((l) => l.endsWith(`/commits/${HEAD}/statuses`))).toBe(true);
  });

  it('a job named secret-sast-dependency-provenance in a workflow the pull request adds satisfies none of the four scans', async () => {
    w.files = ['src/auth/session.ts', '.github/workflows/pr.yml'];
    workflowRun(w, HEAD, '.github/workflows/pr.yml', 'secret-sast-dependency-provenance');
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    expect(ourRuns(w, HEAD).at(-1)).toMatchObject({ conclusion: 'failure' });
    const comment = gateComment();
    for (const item of ['Secrets scan', 'SAST', 'Dependency scan', 'Provenance / signing'])
      expect(comment).toMatch(new RegExp(`\\| ${item.replace(/[/]/g, '\\/')} \\| yes \\| ❔ missing \\|`));
    expect(comment).toContain(
      'secret-sast-dependency-provenance (check-run, success) ignored: from workflow .github/workflows/pr.yml, not a workflow named for it',
    );
    const record = await gatehouse.gateStore.latestGateDecision(KEY);
    expect(record).toMatchObject({ verdict: 'block', releaseClass: 'high-risk' });
    expect(JSON.stringify(record!.reasons)).toContain('from workflow .github/workflows/pr.yml, not a workflow named for it');
  });

  it.each([
    [
      'the named workflow file, edited by the pull request to run `true`',
      () => {
        w.files = ['src/auth/session.ts', SECURITY];
        genuine({ sast: true, provenance: true });
      },
      ['Secrets scan', 'Dependency scan'],
      `secret-scan (check-run, success) ignored: from workflow ${SECURITY}, changed by this pull request`,
    ],
    [
      'a check run of another App',
      () => {
        genuine({ sast: false });
        w.checkRuns.push({
          id: 4900,
          name: 'semgrep-sast',
          app: { id: 777001, slug: 'mallorys-app' },
          head_sha: HEAD,
          status: 'completed',
          conclusion: 'success',
        });
      },
      ['SAST'],
      'semgrep-sast (check-run, success) ignored: check run of App mallorys-app, not an App named for it',
    ],
    [
      'a commit status posted by a developer',
      () => {
        genuine({ provenance: false });
        w.statuses.push({ sha: HEAD, context: 'slsa-provenance', state: 'success', creator: { login: 'mallory', type: 'User' } });
      },
      ['Provenance / signing'],
      'slsa-provenance (status, success) ignored: commit status posted by mallory, not a status creator named for it',
    ],
  ])('%s does not count: the scan is missing and the comment says why', async (_what, arrange, missing, why) => {
    arrange();
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const comment = gateComment();
    for (const item of missing) expect(comment).toContain(`| ${item} | yes | ❔ missing |`);
    expect(comment).toContain(why);
  });

  it('blocks a release that requires SAST when code scanning has no analysis for the head, and says why', async () => {
    genuine();
    w.alertsStatus = 404;
    w.alertsMessage = 'no analysis found';
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const comment = gateComment();
    expect(comment).toContain('`sast-analysis-missing`');
    expect(comment).toContain('SAST is required for high-risk');
    expect(comment).toContain('no analysis found for refs/pull/2/head');
  });

  it('blocks a pull request padded past the 3,000-file listing to hide its high-risk path (evidence-incomplete, naming the cap)', async () => {
    genuine();
    w.files = [...Array.from({ length: 3400 }, (_, i) => `assets/pad/${i}.txt`), 'src/auth/session.ts'];
    w.reviews = [{ user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD }];
    expect(await deliver()).toBe('done');
    expect(gateLabels()).toEqual(['gate::block']);
    const comment = gateComment();
    expect(comment).toContain('`evidence-incomplete`');
    expect(comment).toContain('changes 3401 file(s) and 3000 were listed; GitHub lists at most 3000 files of a pull request');
  });
});
