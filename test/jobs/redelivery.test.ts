/**
 * Missed deliveries, through a real Gatehouse on loopback (the embedded database on disk) with
 * GitHub's and GitLab's APIs on nock: failed GitHub deliveries are asked again once each (paged
 * listing, the three-day cut-off, guids Gatehouse stored skipped, once across sweeps and
 * replicas, one refusal not stopping the others); GitLab hooks that GitLab paused or disabled are
 * reported to the escalation channel once per hook and state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { startGatehouse } from '../../src/main.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITLAB_API, GITLAB_BOT, GITLAB_SECRET, GITLAB_URL, gitlabDelivery, issueHook } from '../support/gitlab.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, startTestGatehouse, testConfig, loopbackOnly } from '../support/harness.ts';

const NOW = new Date('2025-06-10T12:00:00Z');
const ago = (hours: number): string => new Date(NOW.getTime() - hours * 3600_000).toISOString();

let gatehouse: Gatehouse | null = null;

const delivery = (id: number, guid: string, hoursAgo: number, status: string, code: number) => ({
  id,
  guid,
  delivered_at: ago(hoursAgo),
  redelivery: false,
  duration: 0.3,
  status,
  status_code: code,
  event: 'issues',
  action: 'opened',
  installation_id: 1,
  repository_id: 1296269,
});

/** Two pages: the second ends with a delivery older than three days (no third page is read). */
function listing(): void {
  nock(API)
    .get('/app/hook/deliveries')
    .query({ per_page: '100' })
    .reply(
      200,
      [
        delivery(11, 'ok-1', 1, 'OK', 200),
        delivery(12, 'failed-a', 2, 'Invalid HTTP Response: 503', 503),
        delivery(13, 'stored-b', 3, 'Timed out', 0),
        delivery(14, 'failed-c', 4, 'timed out', 0),
      ],
      { link: `<${API}/app/hook/deliveries?per_page=100&cursor=v1_14>; rel="next"` },
    );
  nock(API)
    .get('/app/hook/deliveries')
    .query({ per_page: '100', cursor: 'v1_14' })
    .reply(
      200,
      [
        delivery(15, 'failed-a', 30, 'Invalid HTTP Response: 502', 502),
        delivery(16, 'failed-d', 48, 'Invalid HTTP Response: 500', 500),
        delivery(17, 'too-old-e', 73, 'Invalid HTTP Response: 500', 500),
      ],
      {
        link: `<${API}/app/hook/deliveries?per_page=100&cursor=v1_17>; rel="next"`,
      },
    );
}

/** Gatehouse with GitHub on; `restart` starts it again on the same database. */
async function startGitHub(dataDir?: string, restart = false): Promise<Gatehouse> {
  gatehouse = await startGatehouse({
    config: testConfig({
      dataDir: dataDir ?? (await freshDataDir()),
      github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API },
    }),
    queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false },
    now: () => NOW,
    sweepMs: 0,
    clockTickMs: 0,
    github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
  });
  if (restart) return gatehouse;
  // A delivery Gatehouse stored (GitHub counted it failed: say it was acknowledged too late).
  const d = githubDelivery({
    name: 'issues',
    secret: SECRET,
    id: 'stored-b',
    payload: issuesPayload({ body: 'x', sender: { login: 'gatehouse[bot]', type: 'Bot' } }),
  });
  expect((await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
  return gatehouse;
}

function asks(answers: Record<number, number>): number[] {
  const asked: number[] = [];
  for (const [id, status] of Object.entries(answers)) {
    nock(API)
      .post(`/app/hook/deliveries/${id}/attempts`)
      .reply(
        () => (asked.push(Number(id)), [status, status < 300 ? {} : { message: status === 422 ? 'Validation Failed' : 'Server Error' }]),
      );
  }
  return asked;
}

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted API call was made').toEqual([]);
});

describe('GitHub redelivery sweep', () => {
  it('pages through the recent deliveries and asks once for each failed one under three days old that Gatehouse never stored', async () => {
    const g = await startGitHub();
    listing();
    const asked = asks({ 12: 202, 14: 202, 16: 202 });
    const report = await g.missed!.sweepGitHub();
    // failed-a's newest entry (12) is asked, not its older one (15); stored-b and too-old-e are not.
    expect(asked.sort()).toEqual([12, 14, 16]);
    expect(report).toEqual({ listed: 7, failed: 4, stored: 1, alreadyAsked: 0, asked: 3, errors: 0 });
  });

  it('asks once across sweeps running at once (as two replicas would), later sweeps and a restart: the ask is recorded first', async () => {
    const dataDir = await freshDataDir();
    let g = await startGitHub(dataDir);
    listing();
    listing();
    const asked = asks({ 12: 202, 14: 202, 16: 202 });
    // Two sweeps at once share nothing in memory: only the database's unique key keeps them apart.
    const [a, b] = await Promise.all([g.missed!.sweepGitHub(), g.missed!.sweepGitHub()]);
    expect(a.asked + b.asked).toBe(3);
    expect(a.alreadyAsked + b.alreadyAsked).toBe(3);
    expect(asked.sort()).toEqual([12, 14, 16]);
    // The same listing again: nothing is asked (nock has no POST interceptor left).
    listing();
    expect(await g.missed!.sweepGitHub()).toMatchObject({ failed: 4, alreadyAsked: 3, asked: 0, errors: 0 });
    await g.close();
    g = await startGitHub(dataDir, true);
    listing();
    expect(await g.missed!.sweepGitHub()).toMatchObject({ failed: 4, alreadyAsked: 3, asked: 0, errors: 0 });
  });

  it('an API error on one redelivery does not stop the others; a 5xx is asked again on the next sweep, a 4xx is not', async () => {
    const g = await startGitHub();
    listing();
    const first = asks({ 12: 500, 14: 422, 16: 202 });
    expect(await g.missed!.sweepGitHub()).toMatchObject({ failed: 4, asked: 1, errors: 2 });
    expect(first.sort()).toEqual([12, 14, 16]);
    listing();
    const second = asks({ 12: 202 });
    expect(await g.missed!.sweepGitHub()).toMatchObject({ asked: 1, alreadyAsked: 2, errors: 0 });
    expect(second).toEqual([12]);
  });
});

describe('the sweep on its timer', () => {
  it('sweeps once at start, without being asked', async () => {
    listing();
    const asked = asks({ 12: 202, 14: 202, 16: 202, 13: 202 });
    gatehouse = await startTestGatehouse(
      { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } },
      { now: () => NOW, sweepMs: 600_000, clockTickMs: 0, github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
    );
    const until = Date.now() + 10_000;
    while (asked.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(asked.sort()).toEqual([12, 13, 14, 16]);
  });
});

describe('GitLab disabled hooks', () => {
  const HOOKS = '/projects/gitlabhq%2Fgitlab-test/hooks';
  const hook = (id: number, extra: Record<string, unknown>) => ({
    id,
    url: `https://gatehouse.example.com/api/gitlab/webhooks?h=${id}`,
    project_id: 1,
    alert_status: 'executable',
    disabled_until: null,
    ...extra,
  });

  async function startGitLab(): Promise<Gatehouse> {
    gatehouse = await startTestGatehouse(
      { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: GITLAB_SECRET } },
      { now: () => NOW, sweepMs: 0, clockTickMs: 0, gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } } },
    );
    // A delivery from the project: that is how Gatehouse knows it.
    const d = gitlabDelivery({ event: 'Issue Hook', payload: issueHook({ action: 'update', description: 'x', username: GITLAB_BOT }) });
    expect((await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    return gatehouse;
  }

  const notices = async (g: Gatehouse) => {
    return (await g.outbox.openEscalations(100)).filter((n) => n.key.startsWith('gitlab-hook:'));
  };

  it('reports a paused and a disabled hook to the escalation channel once per hook and state, and again after a recovery', async () => {
    const g = await startGitLab();
    const hooks = (list: unknown[]): void => void nock(GITLAB_API).get(HOOKS).query({ per_page: '100' }).reply(200, list);
    hooks([
      hook(1, {}),
      hook(2, { alert_status: 'temporarily_disabled', disabled_until: '2025-06-10T13:00:00Z' }),
      hook(3, { alert_status: 'disabled' }),
      hook(4, { disabled_until: '2025-06-10T11:00:00Z' }),
    ]);
    expect(await g.missed!.sweepGitLab()).toEqual({ projects: 1, hooks: 4, disabled: 2, reported: 2, errors: 0 });
    const first = await notices(g);
    expect(first.map((n) => n.channel)).toEqual(['#prodsec-escalations', '#prodsec-escalations']);
    expect(first.map((n) => n.notice?.title).sort()).toEqual([
      'GitLab disabled the webhook of gitlabhq/gitlab-test',
      'GitLab paused the webhook of gitlabhq/gitlab-test',
    ]);
    const paused = first.find((n) => n.notice?.title.includes('paused'))!;
    expect(paused.notice).toMatchObject({ kind: 'manual', severity: null, url: `${GITLAB_URL}/gitlabhq/gitlab-test/-/hooks` });
    expect(paused.notice?.reasons[0]).toContain('until 2025-06-10T13:00:00Z');

    // Same states: nothing new.
    hooks([
      hook(1, {}),
      hook(2, { alert_status: 'temporarily_disabled', disabled_until: '2025-06-10T13:00:00Z' }),
      hook(3, { alert_status: 'disabled' }),
    ]);
    expect((await g.missed!.sweepGitLab()).reported).toBe(0);
    // Hook 2 recovers, hook 3 goes from disabled to paused (a new state): one notice.
    hooks([hook(1, {}), hook(2, {}), hook(3, { alert_status: 'temporarily_disabled', disabled_until: '2025-06-10T14:00:00Z' })]);
    expect((await g.missed!.sweepGitLab()).reported).toBe(1);
    // Hook 2 paused again after its recovery: reported again.
    hooks([
      hook(1, {}),
      hook(2, { alert_status: 'temporarily_disabled', disabled_until: '2025-06-10T15:00:00Z' }),
      hook(3, { alert_status: 'temporarily_disabled', disabled_until: '2025-06-10T14:00:00Z' }),
    ]);
    expect((await g.missed!.sweepGitLab()).reported).toBe(1);
    expect(await notices(g)).toHaveLength(4);
  });

  it('a project whose hooks cannot be read (403) is logged and counted, not fatal', async () => {
    const g = await startGitLab();
    nock(GITLAB_API).get(HOOKS).query({ per_page: '100' }).reply(403, { message: '403 Forbidden' });
    expect(await g.missed!.sweepGitLab()).toEqual({ projects: 1, hooks: 0, disabled: 0, reported: 0, errors: 1 });
    expect(await notices(g)).toEqual([]);
  });
});
