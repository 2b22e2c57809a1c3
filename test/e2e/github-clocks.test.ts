/**
 * SLO/RTO clocks end to end on GitHub, with an injected clock (no sleeping): the real server on
 * loopback, the GitHub API a fake on loopback that keeps labels and comments.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_SECRET as SECRET, processed, startTestGatehouse } from '../support/harness.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { startGatehouse } from '../../src/main.ts';
import { testConfig } from '../support/harness.ts';
import { listClocks } from '../../src/cli/clocks.ts';

let gatehouse: Gatehouse;
let fake: FakeGitHub;
let now = new Date('2026-11-20T15:00:00Z'); // a Friday

const at = (iso: string): void => {
  now = new Date(iso);
};

function outage({
  action = 'opened',
  number = 1,
  labels = ['tool::outage', 'criticality::critical'],
  assignees = [] as string[],
  state = 'open',
}) {
  const payload = issuesPayload({ action, number, body: 'The scanner fails every job.', labels, assignees });
  const issue = payload['issue'] as Record<string, unknown>;
  issue['created_at'] = '2026-11-20T15:00:00Z';
  issue['state'] = state;
  return payload;
}

async function deliver(payload: unknown): Promise<void> {
  const d = githubDelivery({ name: 'issues', secret: SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, 'github', d.id)).toBe('done');
}

const commentsOf = (n: number): string[] => (fake.comments.get(n) ?? []).map((c) => c.body);
const labelsOf = (n: number): string[] => [...(fake.labels.get(n) ?? [])].sort();

async function start(dataDir?: string): Promise<Gatehouse> {
  const github = { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: `http://${fake.host}/api/v3` };
  const extra = { now: () => now, clockTickMs: 0, github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } };
  if (!dataDir) return startTestGatehouse({ github }, extra);
  return startGatehouse({
    config: testConfig({ github, dataDir }),
    queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false },
    ...extra,
  });
}

beforeEach(async () => {
  at('2026-11-20T15:00:00Z');
  fake = await startFakeGitHub();
});
afterEach(async () => {
  await gatehouse.close();
  await fake.close();
});

describe('SLO/RTO clocks on a GitHub tooling outage', () => {
  it('critical, opened Friday 15:00 UTC: slo::at-risk Monday 10:00 and slo::breached Monday 11:00, one comment each, and one escalation', async () => {
    gatehouse = await start();
    await deliver(outage({}));
    const clocks = (await gatehouse.store.getClocks('github:Codertocat/Hello-World#1'))!.clocks;
    expect(clocks.map((c) => [c.kind, c.warnAt?.toISOString(), c.dueAt?.toISOString()])).toEqual([
      ['slo', '2026-11-23T10:00:00.000Z', '2026-11-23T11:00:00.000Z'],
      ['rto', '2026-11-23T16:00:00.000Z', '2026-11-24T11:00:00.000Z'],
    ]);

    at('2026-11-23T09:59:00Z');
    expect(await gatehouse.clocks.tick()).toBe(0);
    expect(commentsOf(1)).toEqual([]);

    at('2026-11-23T10:00:00Z');
    expect(await gatehouse.clocks.tick()).toBe(1);
    expect(labelsOf(1)).toEqual(['slo::at-risk']);
    expect(commentsOf(1)).toHaveLength(1);
    expect(commentsOf(1)[0]).toContain('SLO (response) at risk');
    expect(commentsOf(1)[0]).toContain('Mon 23 Nov 2026 11:00 UTC');
    await gatehouse.clocks.tick();
    expect(commentsOf(1)).toHaveLength(1);

    at('2026-11-23T11:00:00Z');
    await gatehouse.clocks.tick();
    await gatehouse.clocks.tick();
    expect(labelsOf(1)).toEqual(['slo::breached']);
    expect(commentsOf(1)).toHaveLength(2);
    expect(commentsOf(1)[1]).toContain('SLO (response) breached');
    const notices = await gatehouse.outbox.openEscalations(100);
    expect(notices.map((n) => [n.key, n.channel])).toEqual([['slo-breached:github:Codertocat/Hello-World#1', '#prodsec-escalations']]);
  });

  it('stops the SLO at the first assignment: no warning, no breach', async () => {
    gatehouse = await start();
    await deliver(outage({}));
    at('2026-11-23T09:30:00Z');
    await deliver(outage({ action: 'assigned', assignees: ['maintainer'] }));
    at('2026-11-23T12:00:00Z');
    await gatehouse.clocks.tick();
    expect(commentsOf(1)).toEqual([]);
    const slo = (await gatehouse.store.getClocks('github:Codertocat/Hello-World#1'))!.clocks.find((c) => c.kind === 'slo')!;
    expect(slo).toMatchObject({ stopped: true, breachedAt: null, consumedMinutes: 150 });
  });

  it('pauses the RTO while the issue is closed and resumes it when reopened', async () => {
    gatehouse = await start();
    await deliver(outage({ assignees: ['maintainer'] }));
    at('2026-11-23T12:00:00Z');
    await deliver(outage({ action: 'closed', assignees: ['maintainer'], state: 'closed' }));
    at('2026-11-24T18:00:00Z');
    await gatehouse.clocks.tick();
    expect(commentsOf(1)).toEqual([]); // closed: the RTO (due Tue 11:00 had it run) did not breach

    at('2026-11-25T09:00:00Z'); // reopened Wednesday: 5 business hours were used, 7 are left
    await deliver(outage({ action: 'reopened', assignees: ['maintainer'] }));
    const rto = (await gatehouse.store.getClocks('github:Codertocat/Hello-World#1'))!.clocks.find((c) => c.kind === 'rto')!;
    expect([rto.warnAt?.toISOString(), rto.dueAt?.toISOString()]).toEqual(['2026-11-25T13:00:00.000Z', '2026-11-25T16:00:00.000Z']);
    at('2026-11-25T16:00:00Z');
    await gatehouse.clocks.tick();
    expect(labelsOf(1)).toEqual(['rto::breached']);
    expect(commentsOf(1)).toHaveLength(1); // the missed warning is not sent late
  });

  it('handles a deadline that passed while the bot was down exactly once after it starts again', async () => {
    const dataDir = await freshDataDir();
    gatehouse = await start(dataDir);
    await deliver(outage({}));
    await gatehouse.close(); // down before any deadline

    // `gatehouse clocks` lists them from the database meanwhile.
    const out: string[] = [];
    expect(await listClocks({ dataDir, databaseUrl: undefined }, { json: true }, { out: (s) => out.push(s) })).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual([
      {
        issue: 'github:Codertocat/Hello-World#1',
        clock: 'slo',
        criticality: 'critical',
        state: 'running',
        warnAt: '2026-11-23T10:00:00.000Z',
        dueAt: '2026-11-23T11:00:00.000Z',
      },
      {
        issue: 'github:Codertocat/Hello-World#1',
        clock: 'rto',
        criticality: 'critical',
        state: 'running',
        warnAt: '2026-11-23T16:00:00.000Z',
        dueAt: '2026-11-24T11:00:00.000Z',
      },
    ]);

    at('2026-11-23T13:00:00Z'); // both the SLO warning and breach passed meanwhile
    gatehouse = await start(dataDir);
    await gatehouse.clocks.tick();
    await gatehouse.clocks.tick();
    expect(labelsOf(1)).toEqual(['slo::breached']);
    expect(commentsOf(1)).toHaveLength(1);
    expect(commentsOf(1)[0]).toContain('SLO (response) breached');
  });

  it('on the embedded database, a clock the previous run claimed and died on fires at the first tick after the restart, not five minutes later', async () => {
    const dataDir = await freshDataDir();
    gatehouse = await start(dataDir);
    await deliver(outage({}));
    at('2026-11-23T13:00:00Z');
    // The run claims the due clock (a five-minute lease) and stops before firing it.
    expect(await gatehouse.store.claimDueClocks(now, 10, 300_000)).toHaveLength(1);
    await gatehouse.close();

    gatehouse = await start(dataDir);
    expect(await gatehouse.clocks.tick()).toBe(1);
    expect(labelsOf(1)).toEqual(['slo::breached']);
    expect(commentsOf(1)).toHaveLength(1);
  });
});
