import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import nock from 'nock';
import { defaultGitHubClientPolicy, githubOctokit } from '../../src/adapters/github/client-policy.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import {
  githubTurnLimits,
  gitlabTurnLimits,
  MAX_PASSED_WAIT_MS,
  MAX_PASSES,
  WriteTurns,
  type WriteKind,
} from '../../src/adapters/write-turns.ts';

/** A keeper on a clock that stands still unless moved. */
function keeper(limits = githubTurnLimits): { turns: WriteTurns; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { turns: new WriteTurns(limits, () => clock.now), clock };
}

describe('WriteTurns', () => {
  it("spaces one installation's writes 1 s apart, first come first served; another installation's writes do not wait", () => {
    const { turns, clock } = keeper();
    const t0 = clock.now;
    expect([0, 1, 2].map(() => turns.reserve('github:1', 'other') - t0)).toEqual([0, 1_000, 2_000]);
    expect(turns.reserve('github:2', 'content') - t0).toBe(0);
    expect(turns.reserve('github:1', 'content') - t0).toBe(3_000);
  });

  it('keeps content-creating writes within 80 a minute and 500 an hour (GitHub), and within 300 a minute (GitLab)', () => {
    const gh = keeper({ ...githubTurnLimits, spacingMs: 0, contentSpacingMs: 0 });
    const t0 = gh.clock.now;
    const at = Array.from({ length: 81 }, () => gh.turns.reserve('github:1', 'content') - t0);
    expect(at[79]).toBe(0);
    expect(at[80]).toBe(60_000);
    for (let i = 0; i < 500 - 81; i++) gh.turns.reserve('github:1', 'content');
    expect(gh.turns.reserve('github:1', 'content') - t0).toBe(3_600_000);

    const gl = keeper(gitlabTurnLimits);
    const g0 = gl.clock.now;
    const notes = Array.from({ length: 301 }, () => gl.turns.reserve('gitlab:x', 'content') - g0);
    expect(notes[299]).toBe(0);
    expect(notes[300]).toBe(60_000);
  });

  it('keeps a turn for a job handed back, and takes it when the job writes again', () => {
    const { turns, clock } = keeper();
    const t0 = clock.now;
    turns.reserve('github:1', 'other'); // t0
    const held = turns.reserve('github:1', 'content', 'job-a'); // t0 + 1 s
    turns.hold('github:1', 'job-a', held, true);
    expect(turns.reserve('github:1', 'other') - t0).toBe(2_000);
    clock.now = t0 + 1_200;
    expect(turns.reserve('github:1', 'content', 'job-a')).toBe(held);
    // Taken once only.
    expect(turns.reserve('github:1', 'other', 'job-a') - t0).toBe(3_000);
  });

  it('holds the key back after a rate limit', () => {
    const { turns, clock } = keeper();
    turns.block('github:1', clock.now + 30_000);
    expect(turns.reserve('github:1', 'other') - clock.now).toBe(30_000);
    expect(turns.reserve('github:2', 'other')).toBe(clock.now); // another installation's turns are not held back
  });

  describe("the requester's comment first", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('makes a comment queued after a label write before it, the label write one turn later, every write still 1 s apart', async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const turns = new WriteTurns(githubTurnLimits);
      const t0 = Date.now();
      const made: [string, number][] = [];
      const write = async (kind: WriteKind, what: string): Promise<void> => {
        const release = await turns.take('github:1', kind, what);
        made.push([what, Date.now() - t0]);
        release();
      };
      const writes = [write('other', 'description edit'), write('other', 'label'), write('comment', 'comment')];
      await vi.advanceTimersByTimeAsync(3_000);
      await Promise.all(writes);
      expect(made).toEqual([
        ['description edit', 0],
        ['comment', 1_000],
        ['label', 2_000],
      ]);
    });

    it('takes the turn of the earliest write of another kind still waiting, never an earlier content-creating write', () => {
      const clock = { now: 1_000_000 };
      const turns = new WriteTurns(githubTurnLimits, () => clock.now);
      const t0 = clock.now;
      expect(turns.reserve('github:1', 'other') - t0).toBe(0);
      expect(turns.reserve('github:1', 'content') - t0).toBe(1_000); // a new issue: not passed
      expect(turns.reserve('github:1', 'other') - t0).toBe(2_000); // a label write
      expect(turns.reserve('github:1', 'comment') - t0).toBe(2_000); // the label write's turn
      expect(turns.reserve('github:1', 'other') - t0).toBe(4_000); // the label write took 3 s
      // On another installation nothing waits: the comment has the next turn.
      expect(turns.reserve('github:2', 'comment') - t0).toBe(0);
      // After a rate limit, no turn reserved before it ends is taken.
      turns.reserve('github:3', 'other');
      expect(turns.reserve('github:3', 'other') - t0).toBe(1_000);
      turns.block('github:3', t0 + 5_000);
      expect(turns.reserve('github:3', 'comment') - t0).toBe(5_000);
    });

    it(`passes a waiting write with at most ${MAX_PASSES} comments, and with none once it has waited ${MAX_PASSED_WAIT_MS / 1000} s`, () => {
      const clock = { now: 1_000_000 };
      const turns = new WriteTurns({ ...githubTurnLimits, contentWindows: [] }, () => clock.now);
      const t0 = clock.now;
      turns.reserve('github:1', 'other');
      expect(turns.reserve('github:1', 'other') - t0).toBe(1_000); // a label write
      const comments = Array.from({ length: MAX_PASSES + 2 }, () => turns.reserve('github:1', 'comment') - t0);
      // The first MAX_PASSES comments go ahead of it; the label write then has its turn (at 11 s).
      expect(comments).toEqual([...Array.from({ length: MAX_PASSES }, (_, i) => (i + 1) * 1_000), 12_000, 13_000]);
      expect(turns.reserve('github:1', 'other') - t0).toBe(14_000);

      // Waited: a write is not passed once it has waited MAX_PASSED_WAIT_MS.
      turns.block('github:2', t0 + 20_000);
      const label = turns.reserve('github:2', 'other');
      clock.now = t0 + MAX_PASSED_WAIT_MS - 1;
      expect(turns.reserve('github:2', 'comment')).toBe(label);
      clock.now = t0 + MAX_PASSED_WAIT_MS;
      expect(turns.reserve('github:2', 'comment') - label).toBe(2_000);
    });
  });
});

describe("the requester's comment first, as the clients class their writes", () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  it("GitHub: a new issue comment goes ahead of the installation's label write queued before it", async () => {
    const API = 'https://api.github.com';
    const turns = new WriteTurns(githubTurnLimits);
    const take = vi.spyOn(turns, 'take');
    const Octokit = githubOctokit({ ...defaultGitHubClientPolicy, retries: 0 }, { turns });
    const octokit = new Octokit({ auth: { token: 'ghs_test', installationId: 1 } });
    const made: string[] = [];
    nock(API)
      .patch('/repos/o/r/issues/1')
      .reply(() => (made.push('description edit'), [200, { number: 1 }]));
    nock(API)
      .post('/repos/o/r/issues/1/labels')
      .reply(() => (made.push('label'), [200, [{ name: 'intake' }]]));
    nock(API)
      .post('/repos/o/r/issues/2/comments')
      .reply(() => (made.push('comment'), [201, { id: 7 }]));
    const issue = { owner: 'o', repo: 'r' };
    const edit = octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', { ...issue, issue_number: 1, body: 'b' });
    await vi.waitFor(() => expect(take).toHaveBeenCalledTimes(1));
    const label = octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
      ...issue,
      issue_number: 1,
      labels: ['intake'],
    });
    await vi.waitFor(() => expect(take).toHaveBeenCalledTimes(2));
    const comment = octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { ...issue, issue_number: 2, body: 'x' });
    await Promise.all([edit, label, comment]);
    expect(take.mock.calls.map((c) => c[1])).toEqual(['other', 'other', 'comment']);
    expect(made).toEqual(['description edit', 'comment', 'label']);
  });

  it("GitLab: a new note goes ahead of the instance's merge request edit queued before it", async () => {
    const GITLAB = 'https://gitlab.example.test';
    // GitLab asks for no spacing: spaced here as GitHub's, to see the order.
    const turns = new WriteTurns({ ...gitlabTurnLimits, spacingMs: 1_000, oneAtATime: true });
    const take = vi.spyOn(turns, 'take');
    const api = createGitLabApi({ url: GITLAB, token: 'glpat-test', turns });
    const made: string[] = [];
    nock(GITLAB)
      .put('/api/v4/projects/1/merge_requests/3')
      .reply(() => (made.push('first edit'), [200, { iid: 3 }]));
    nock(GITLAB)
      .put('/api/v4/projects/1/merge_requests/4')
      .reply(() => (made.push('labels'), [200, { iid: 4 }]));
    nock(GITLAB)
      .post('/api/v4/projects/1/issues/2/notes')
      .reply(() => (made.push('note'), [201, { id: 5, body: 'x' }]));
    const edit = api.mergeRequests.edit(1, 3, { description: 'd' });
    await vi.waitFor(() => expect(take).toHaveBeenCalledTimes(1));
    const labels = api.mergeRequests.edit(1, 4, { labels: 'intake' });
    await vi.waitFor(() => expect(take).toHaveBeenCalledTimes(2));
    const note = api.issueNotes.create(1, 2, 'x');
    await Promise.all([edit, labels, note]);
    expect(take.mock.calls.map((c) => c[1])).toEqual(['other', 'other', 'comment']);
    expect(made).toEqual(['first edit', 'note', 'labels']);
  });
});
