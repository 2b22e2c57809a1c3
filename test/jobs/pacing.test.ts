/**
 * Work scheduled by what limits it: jobs whose writes wait for their installation's write turn (or
 * for a Retry-After) give their worker slot back, so the queue runs other installations' jobs
 * meanwhile. The queue on the embedded database; the write turns of src/adapters/write-turns.ts;
 * GitHub's client (nock) where a real answer matters.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { defaultGitHubClientPolicy, githubOctokit } from '../../src/adapters/github/client-policy.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { gitlabTurnLimits, WriteTurns, type TurnLimits } from '../../src/adapters/write-turns.ts';
import type { QueueOptions } from '../../src/storage/queue.ts';
import type { DeliveryJob } from '../../src/ports/queue.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { backends, storeDeliveries, waitFor, type TestDatabase } from '../storage/backends.ts';

const pglite = backends.find((b) => b.name === 'pglite')!;
const spaced = (ms: number): TurnLimits => ({ spacingMs: ms, contentSpacingMs: ms, contentWindows: [] });

let tdb: TestDatabase | null = null;
let opened: OpenedStore | null = null;

async function openQueue(queue: QueueOptions): Promise<OpenedStore> {
  tdb = await pglite.create();
  opened = await tdb.open({ queue });
  return opened;
}

afterEach(async () => {
  await opened?.close();
  await tdb?.cleanup();
  opened = null;
  tdb = null;
});

interface Write {
  job: string;
  installation: string;
  at: number;
}

/**
 * Jobs named `<installation>-<n>` each make `writes` writes on their installation, each once:
 * a write already made (by an earlier run of the job) is found made and skipped, as the forge's
 * "ensure" writes do.
 */
function writingJobs(turns: WriteTurns, writes: number) {
  const made: Write[] = [];
  const done = new Set<string>();
  const runs = new Map<string, number>();
  const ended = new Map<string, number>();
  const handler = async (job: DeliveryJob): Promise<void> => {
    const installation = job.deliveryId.split('-')[0]!;
    runs.set(job.deliveryId, (runs.get(job.deliveryId) ?? 0) + 1);
    for (let n = 0; n < writes; n++) {
      const name = `${job.deliveryId}#${n}`;
      if (done.has(name)) continue;
      const release = await turns.take(`github:${installation}`, 'other', name);
      try {
        done.add(name);
        made.push({ job: job.deliveryId, installation, at: Date.now() });
      } finally {
        release();
      }
    }
    ended.set(job.deliveryId, Date.now());
  };
  return { handler, made, runs, ended };
}

const noDeadLetters = async (): Promise<void> => {
  throw new Error('no dead letters expected');
};

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('write turns and worker slots', () => {
  it('(a) with two slots, jobs of installation A waiting for their turn do not stop a job of installation B from writing at once', async () => {
    const { queue } = await openQueue({ concurrency: 2 });
    const turns = new WriteTurns(spaced(1_000));
    const { handler, made } = writingJobs(turns, 1);
    await storeDeliveries(
      opened!,
      [1, 2, 3, 4, 5].map((n) => ({ platform: 'github', deliveryId: `A-${n}` })),
    );
    await storeDeliveries(opened!, [{ platform: 'github', deliveryId: 'B-1' }]);
    const t0 = Date.now();
    await queue.work(handler, noDeadLetters);
    await waitFor(() => made.length === 6, 15_000);
    const b = made.find((w) => w.job === 'B-1')!.at - t0;
    const a = made.filter((w) => w.installation === 'A').map((w) => w.at);
    console.info(`[pacing a] B's write ${b} ms after start; A's writes at ${a.map((t) => t - t0).join(', ')} ms`);
    // Sleeping in their slots, A-2 and A-3 would hold both slots: B would write after ~2 s.
    expect(b).toBeLessThan(800);
    for (const gap of gaps(a)) expect(gap).toBeGreaterThanOrEqual(999);
  });

  it('(b) a flood of 30 jobs for installation A (handed back past the parking horizon) does not delay installation B', async () => {
    const { queue } = await openQueue({ concurrency: 4, parkUpToMs: 1_000 });
    const turns = new WriteTurns(spaced(200));
    const { handler, made, runs, ended } = writingJobs(turns, 2);
    await queue.work(handler, noDeadLetters);
    await storeDeliveries(
      opened!,
      Array.from({ length: 30 }, (_, i) => ({ platform: 'github', deliveryId: `A-${i + 1}` })),
    );
    const t0 = Date.now();
    await storeDeliveries(opened!, [{ platform: 'github', deliveryId: 'B-1' }]);
    await waitFor(() => ended.size === 31, 60_000);
    const b = made.find((w) => w.job === 'B-1')!.at - t0;
    const a = made.filter((w) => w.installation === 'A').map((w) => w.at);
    console.info(
      `[pacing b] B's first write ${b} ms after its enqueue; A's 60 writes over ${a.at(-1)! - a[0]!} ms; runs of A's jobs: ${[...runs.values()].reduce((x, y) => x + y, 0) - 1}; handed back: ${queue.pacing.handedBack}`,
    );
    expect(b).toBeLessThan(2_000);
    expect(a).toHaveLength(60); // each write once, however often its job ran
    for (const gap of gaps(a)) expect(gap).toBeGreaterThanOrEqual(199);
    expect(queue.pacing.handedBack).toBeGreaterThan(0);
    expect(queue.pacing.parked).toBe(0);
  });

  it('(c) throughput with 10 installations is close to ten times that of one', async () => {
    // Fewer slots than installations, two writes a job: sleeping in their slots, jobs of at most
    // four installations would wait for their turns at a time (4.6× measured that way).
    const perInstallation = 8;
    const spacing = 200;
    const run = async (installations: number): Promise<number> => {
      const { queue } = await openQueue({ concurrency: 4 });
      const turns = new WriteTurns(spaced(spacing));
      const { handler, ended } = writingJobs(turns, 2);
      await storeDeliveries(
        opened!,
        Array.from({ length: installations }, (_, i) =>
          Array.from({ length: perInstallation }, (__, n) => ({ platform: 'github' as const, deliveryId: `I${i}-${n}` })),
        ).flat(),
      );
      const t0 = Date.now();
      await queue.work(handler, noDeadLetters);
      await waitFor(() => ended.size === installations * perInstallation, 120_000);
      const ms = Math.max(...ended.values()) - t0;
      await opened!.close();
      await tdb!.cleanup();
      opened = null;
      tdb = null;
      return ms;
    };
    const one = await run(1);
    const ten = await run(10);
    const ratio = (10 * perInstallation) / ten / (perInstallation / one);
    console.info(
      `[pacing c] ${perInstallation} jobs of 1 installation: ${one} ms; ${10 * perInstallation} jobs of 10: ${ten} ms; ${ratio.toFixed(1)}× the throughput`,
    );
    expect(ratio).toBeGreaterThan(6);
  });
});

describe('a Retry-After under a worker slot', () => {
  const API = 'https://api.github.com';
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  it('(d) a job waiting out Retry-After: 2 gives its only slot back: the next job runs meanwhile', async () => {
    const { queue } = await openQueue({ concurrency: 1 });
    const turns = new WriteTurns(spaced(1_000));
    const Octokit = githubOctokit({ ...defaultGitHubClientPolicy, retries: 0 }, { turns });
    const octokit = new Octokit({ auth: { token: 'ghs_test', installationId: 1 } });
    const at: Record<string, number> = {};
    nock(API)
      .post('/repos/o/r/issues/1/comments')
      .reply(() => ((at['refused'] = Date.now()), [429, { message: 'Too Many Requests' }, { 'retry-after': '2' }]));
    nock(API)
      .post('/repos/o/r/issues/1/comments')
      .reply(() => ((at['written'] = Date.now()), [201, { id: 1 }]));
    // The other job is queued while the limited one holds the only slot.
    await storeDeliveries(opened!, [{ platform: 'github', deliveryId: 'limited' }]);
    await queue.work(async (job) => {
      if (job.deliveryId === 'limited') await storeDeliveries(opened!, [{ platform: 'github', deliveryId: 'other' }]);
      if (job.deliveryId === 'limited')
        await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
          owner: 'o',
          repo: 'r',
          issue_number: 1,
          body: 'x',
        });
      at[job.deliveryId] = Date.now();
    }, noDeadLetters);
    await waitFor(() => at['limited'] !== undefined && at['other'] !== undefined, 15_000);
    console.info(
      `[pacing d] other job ran ${at['other']! - at['refused']!} ms after the 429; the write retried after ${at['written']! - at['refused']!} ms`,
    );
    expect(at['written']! - at['refused']!).toBeGreaterThanOrEqual(2_000);
    // The other job ran during the wait, not after it (sleeping in the only slot: after ~2 s).
    expect(at['other']!).toBeLessThan(at['written']!);
    expect(at['other']! - at['refused']!).toBeLessThan(1_500);
    expect(await opened!.store.getDelivery('github', 'limited')).toMatchObject({ attempts: 0 });
  });

  it('(d) on GitLab too: a job waiting out a 429 Retry-After: 2 gives its only slot back', async () => {
    const { queue } = await openQueue({ concurrency: 1 });
    const GITLAB = 'https://gitlab.example.test';
    const api = createGitLabApi({ url: GITLAB, token: 'glpat-test', turns: new WriteTurns(gitlabTurnLimits) });
    const at: Record<string, number> = {};
    nock(GITLAB)
      .post('/api/v4/projects/1/issues/2/notes')
      .reply(() => ((at['refused'] = Date.now()), [429, { message: '429 Too Many Requests' }, { 'retry-after': '2' }]));
    nock(GITLAB)
      .post('/api/v4/projects/1/issues/2/notes')
      .reply(() => ((at['written'] = Date.now()), [201, { id: 5, body: 'x' }]));
    // The other job is queued while the limited one holds the only slot.
    await storeDeliveries(opened!, [{ platform: 'gitlab', deliveryId: 'limited' }]);
    await queue.work(async (job) => {
      if (job.deliveryId === 'limited') {
        await storeDeliveries(opened!, [{ platform: 'gitlab', deliveryId: 'other' }]);
        await api.issueNotes.create(1, 2, 'x');
      }
      at[job.deliveryId] = Date.now();
    }, noDeadLetters);
    await waitFor(() => at['limited'] !== undefined && at['other'] !== undefined, 15_000);
    console.info(
      `[pacing d gitlab] other job ran ${at['other']! - at['refused']!} ms after the 429; the note retried after ${at['written']! - at['refused']!} ms`,
    );
    expect(at['written']! - at['refused']!).toBeGreaterThanOrEqual(2_000);
    expect(at['other']!).toBeLessThan(at['written']!);
  });
});
