/**
 * Issue 20: "no input stops the bot". As an attacker would: anyone who can open an issue or a pull
 * request writes a body shaped to make a backtracking pattern run for minutes (`### a`, 60,000
 * spaces, `x`; 20,000 `<!--`), and a release PR whose description is longer than GitHub stores.
 * Through the real server on loopback with GitHub's API faked (nock): each delivery is handled in
 * seconds, the next requester is served, and a cut description never passes the gate.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { GATE_MARKER } from '../../src/core/gate/plan.ts';
import { INTAKE_MARKER } from '../../src/core/plan.ts';
import { intakeBody } from '../builders/intake.ts';
import { fakeGateGitHub, otherRun, type GateWorld } from '../support/github-gate.ts';
import { githubDelivery, issuesPayload, pullRequestPayload, testPrivateKey } from '../support/github.ts';
import {
  GITHUB_API as API,
  GITHUB_SECRET as SECRET,
  loopbackOnly,
  onGitHubIssues,
  processed,
  startTestGatehouse,
} from '../support/harness.ts';

const FULL = 'Codertocat/Hello-World';
const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
/** Generous for a shared CI machine; before the fix the first shape took far longer than this. */
const HANDLED_WITHIN_MS = 10_000;

const HEADING_SPACES = `### a${' '.repeat(60_000)}x`;
const COMMENT_FLOOD = '<!--'.repeat(20_000);

let gatehouse: Gatehouse;

/** Delivers, and answers how long the delivery took to be handled (its status must be `done`). */
async function deliver(name: string, payload: unknown): Promise<number> {
  const started = Date.now();
  const d = githubDelivery({ name, secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, 'github', d.id, HANDLED_WITHIN_MS + 5_000)).toBe('done');
  return Date.now() - started;
}

loopbackOnly();

describe('hostile issue bodies on GitHub', () => {
  const { fake, start, stop } = onGitHubIssues();
  beforeEach(async () => {
    gatehouse = await start();
  });
  afterEach(async () => {
    await gatehouse.close();
    expect(stop()).toEqual([]);
  });

  it.each([
    ['`### a`, 60,000 spaces and `x`', `${intakeBody({ service: null })}\n\n${HEADING_SPACES}`],
    ['20,000 `<!--`', `${intakeBody({ service: null })}\n\n${COMMENT_FLOOD}`],
  ])('an intake holding %s is answered in seconds, and the next requester is served', async (_, body) => {
    fake.bodies.set(1, body);
    expect(await deliver('issues', issuesPayload({ body, number: 1, labels: ['intake'] }))).toBeLessThan(HANDLED_WITHIN_MS);
    const [hostile] = (fake.comments.get(1) ?? []).map((c) => c.body);
    expect(hostile).toContain(INTAKE_MARKER);
    expect(hostile).toContain('| Service or system name | is missing |');

    const next = intakeBody();
    fake.bodies.set(2, next);
    expect(await deliver('issues', issuesPayload({ body: next, number: 2, labels: ['intake'] }))).toBeLessThan(HANDLED_WITHIN_MS);
    expect(fake.labels.get(2)).toContain('intake::complete');
  });

  it('an unlabelled issue of that shape (read to see whether it is an intake) is left alone in seconds', async () => {
    fake.bodies.set(3, HEADING_SPACES);
    expect(await deliver('issues', issuesPayload({ body: HEADING_SPACES, number: 3 }))).toBeLessThan(HANDLED_WITHIN_MS);
    expect(fake.comments.get(3) ?? []).toEqual([]);
  });
});

describe('hostile release PR descriptions on GitHub', () => {
  let w: GateWorld;
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
    const policyPath = join(dir, 'policy.yml');
    writeFileSync(policyPath, 'gate:\n  securityReviewers: { github: [sec-sam] }\n');
    gatehouse = await startTestGatehouse(
      { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API }, policyPath },
      { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
    );
    w = fakeGateGitHub(API, FULL, 2);
    w.labels = ['release'];
    for (const name of ['secret-scanning', 'slsa-provenance', 'CodeQL', 'dependency-review']) otherRun(w, HEAD, name, 'success');
    w.reviews.push(
      { user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD },
      { user: { login: 'sec-sam' }, state: 'APPROVED', commit_id: HEAD },
    );
    w.permissions = { alice: 'write', 'sec-sam': 'maintain' };
  });
  afterEach(async () => {
    await gatehouse.close();
    const own = new Set(w.routes());
    const pending = nock.pendingMocks().filter((m) => !own.has(m));
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  const pullRequest = (body: string): Record<string, unknown> => {
    return pullRequestPayload({ body, labels: w.labels, headSha: HEAD });
  };
  const gateComment = (): string => w.comments.filter((c) => c.body.includes(GATE_MARKER)).map((c) => c.body)[0] ?? '';

  it('a high-risk release whose description holds the hostile shapes gets its verdict in seconds', async () => {
    w.files = ['src/auth/session.ts'];
    // Both shapes, within GitHub's 65,536 characters.
    const body = `## Rollback\nRevert the deploy.\n\n### a${' '.repeat(30_000)}x\n${'<!--'.repeat(8_000)}`;
    expect(await deliver('pull_request', pullRequest(body))).toBeLessThan(HANDLED_WITHIN_MS);
    expect(w.labels).toContain('gate::pass');
  });

  it('a high-risk release whose description is longer than GitHub stores is blocked, saying the description was cut', async () => {
    w.files = ['src/auth/session.ts'];
    const body = `## Rollback\nRevert the deploy.\n\n## Notes\n${'x'.repeat(70_000)}`;
    await deliver('pull_request', pullRequest(body));
    expect(w.labels).toContain('gate::block');
    expect(gateComment()).toContain('`rollback-missing`');
    expect(gateComment()).toContain(
      'the description is longer than the 65,536 characters GitHub stores: it was cut and none of its sections is read',
    );
  });
});
