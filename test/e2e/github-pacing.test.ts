/**
 * Write pacing end to end (the real server on loopback, a stateful GitHub stand-in through nock,
 * the embedded database): a delivery whose next write turn is further away than the queue parks
 * jobs is handed back to the queue, runs again once at its turn, is not counted as a failed
 * attempt, and its second run writes nothing the first one wrote.
 */
import { afterEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { intakeBody } from '../builders/intake.ts';
import { fakeGitHubIssues, type FakeGitHubIssues } from '../support/fake-github-issues.ts';
import { githubAnswer, githubLabel } from '../support/github-openapi.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const REPO = '/repos/Codertocat/Hello-World';

let gatehouse: Gatehouse | null = null;
let fake: FakeGitHubIssues | null = null;

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${gatehouse!.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ').pop());
};

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  const unmatched = (fake?.unmatched ?? []).filter((u) => !u.includes('127.0.0.1'));
  fake?.stop();
  fake = null;
  expect(unmatched, 'every GitHub call was answered').toEqual([]);
});

describe('GitHub write pacing end to end', () => {
  it('(e) a delivery whose write turn is far away is handed back, runs again once at its turn (not a failed attempt) and writes nothing twice', async () => {
    const spacingMs = 2_000;
    gatehouse = await startTestGatehouse(
      { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } },
      {
        github: { botLogin: 'gatehouse[bot]', retries: 0, pacing: { spacingMs, contentSpacingMs: spacingMs, contentWindows: [] } },
        queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false, parkUpToMs: 500 },
      },
    );
    fake = fakeGitHubIssues();
    const state = fake;
    // The labels as they are now (read by a run that comes after an earlier one).
    nock(API)
      .persist()
      .get(new RegExp(`^${REPO}/issues/\\d+/labels(\\?.*)?$`))
      .reply((uri) => [
        200,
        githubAnswer(
          'GET /repos/{owner}/{repo}/issues/{issue_number}/labels',
          200,
          (state.labels.get(Number(/issues\/(\d+)/.exec(uri)![1])) ?? []).map(githubLabel),
        ),
      ]);
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}) }) });
    const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    expect(res.status).toBe(200);
    expect(await processed(gatehouse, 'github', d.id, 20_000)).toBe('done');

    const writes = state.requests.filter((r) => !r.startsWith('GET ') && !r.includes('/access_tokens'));
    console.info(`[pacing e] writes: ${writes.join(', ')}; requests: ${state.requests.length}`);
    expect(writes.filter((w) => w.startsWith(`POST ${REPO}/issues/1/labels`))).toHaveLength(1);
    expect(writes.filter((w) => w.startsWith(`POST ${REPO}/issues/1/comments`))).toHaveLength(1);
    expect(state.comments.get(1)).toHaveLength(1);
    expect(state.labels.get(1)).toEqual(expect.arrayContaining(['intake']));
    // Handed back once (the comment's turn was 2 s away, past the 0.5 s the queue parks a job).
    expect(await metric('gatehouse_jobs_handed_back_total')).toBe(1);
    const stored = await gatehouse.store.getDelivery('github', d.id);
    expect(stored?.attempts).toBe(0);
    expect(stored?.lastError ?? null).toBeNull();
    expect((await gatehouse.store.decisionHistory('github:Codertocat/Hello-World#1')).length).toBe(1);
  });
});
