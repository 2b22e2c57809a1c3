/**
 * The same clock run as on GitHub, on GitLab: the documented Issue Hook in, a stateful fake of
 * GitLab's REST API (nock) out, an injected clock (no sleeping).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { gitlabDelivery, issueHook } from '../support/gitlab.ts';
import { loopbackOnly, onGitLab, processed } from '../support/harness.ts';

let gatehouse: Gatehouse;
const { fake: api, start, stop } = onGitLab({}, { now: () => now, clockTickMs: 0 });
let now = new Date('2026-11-20T15:00:00Z'); // a Friday
const at = (iso: string): void => {
  now = new Date(iso);
};
const KEY = 'gitlab:gitlabhq/gitlab-test#23';

function outage({ action = 'open' as 'open' | 'update' | 'reopen' | 'close', assignees = [] as string[] } = {}): Record<string, unknown> {
  const p = issueHook({ action, description: 'The scanner fails every job.', labels: ['tool::outage', 'criticality::critical'] });
  (p['object_attributes'] as Record<string, unknown>)['created_at'] = '2026-11-20 15:00:00 UTC';
  p['assignees'] = assignees.map((username) => ({ name: username, username }));
  return p;
}

async function deliver(payload: unknown): Promise<void> {
  const d = gitlabDelivery({ event: 'Issue Hook', payload });
  const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, 'gitlab', d.id)).toBe('done');
}

const notes = (): string[] => (api.notes.get('issues/23') ?? []).map((n) => n.body);
const labels = (): string[] => [...(api.labels.get('issues/23') ?? [])].sort();

loopbackOnly();
beforeEach(async () => {
  at('2026-11-20T15:00:00Z');
  gatehouse = await start();
});
afterEach(async () => {
  await gatehouse.close();
  expect(stop(), 'every GitLab call was answered').toEqual([]);
});

describe('SLO/RTO clocks on a GitLab tooling outage', () => {
  it('critical, opened Friday 15:00 UTC: slo::at-risk Monday 10:00 and slo::breached Monday 11:00, one note each', async () => {
    await deliver(outage());
    at('2026-11-23T09:59:00Z');
    expect(await gatehouse.clocks.tick()).toBe(0);
    at('2026-11-23T10:00:00Z');
    await gatehouse.clocks.tick();
    await gatehouse.clocks.tick();
    expect(labels()).toEqual(['slo::at-risk']);
    expect(notes()).toHaveLength(1);
    expect(notes()[0]).toContain('SLO (response) at risk');
    at('2026-11-23T11:00:00Z');
    await gatehouse.clocks.tick();
    await gatehouse.clocks.tick();
    expect(labels()).toEqual(['slo::breached']);
    expect(notes()).toHaveLength(2);
    expect(notes()[1]).toContain('SLO (response) breached');
    expect((await gatehouse.outbox.openEscalations(100)).map((n) => n.key)).toEqual([`slo-breached:${KEY}`]);
  });

  it('stops the SLO at the first assignment', async () => {
    await deliver(outage());
    at('2026-11-23T09:30:00Z');
    await deliver(outage({ action: 'update', assignees: ['maintainer'] }));
    at('2026-11-23T12:00:00Z');
    await gatehouse.clocks.tick();
    expect(notes()).toEqual([]);
  });

  it('pauses the RTO while the issue is closed and resumes it when reopened', async () => {
    await deliver(outage({ assignees: ['maintainer'] }));
    at('2026-11-23T12:00:00Z');
    await deliver(outage({ action: 'close', assignees: ['maintainer'] }));
    at('2026-11-24T18:00:00Z');
    await gatehouse.clocks.tick();
    expect(notes()).toEqual([]);
    at('2026-11-25T09:00:00Z');
    await deliver(outage({ action: 'reopen', assignees: ['maintainer'] }));
    const rto = (await gatehouse.store.getClocks(KEY))!.clocks.find((c) => c.kind === 'rto')!;
    expect(rto.dueAt?.toISOString()).toBe('2026-11-25T16:00:00.000Z');
    at('2026-11-25T16:00:00Z');
    await gatehouse.clocks.tick();
    expect(labels()).toEqual(['rto::breached']);
    expect(notes()).toHaveLength(1);
  });
});
