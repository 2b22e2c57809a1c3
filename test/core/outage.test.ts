import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/core/actions.ts';
import type { IssueEvent, IssueSnapshot } from '../../src/core/model.ts';
import { fireClock, nextFireAt, outageCriticality, reconcileClocks, type ClockState } from '../../src/core/outage/clocks.ts';
import { FEATURE_MARKER, toolFor } from '../../src/core/outage/inventory.ts';
import { defaultPolicy, validatePolicy } from '../../src/core/policy/load.ts';
import type { Policy } from '../../src/core/policy/schema.ts';
import { plan, planClockTick, TOOL_SIGNAL_MARKER } from '../../src/core/plan.ts';
import { createRenderer } from '../../src/render/templates.ts';

const render = createRenderer();
const OPENED = '2026-11-20T15:00:00Z'; // Friday

function policyWith(tooling: object): Policy {
  const r = validatePolicy({ tooling }, defaultPolicy);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const withInventory = policyWith({
  inventory: [
    {
      name: 'scanner',
      repos: ['acme/scanner'],
      criticality: 'high',
      pathForward: 'maintain',
      owners: ['@acme/tools'],
      note: 'Replaced by the platform scanner in 2027.',
    },
    { name: 'legacy-ci', criticality: 'critical', pathForward: 'redirect', note: 'Use the shared CI instead.' },
    { name: 'sast', repos: ['acme/sast'], criticality: 'medium', pathForward: 'improve' },
  ],
});

function issue({
  labels = [] as string[],
  repo = 'acme/other',
  assignees = [] as string[],
  state = 'open' as 'open' | 'closed',
} = {}): IssueSnapshot {
  return {
    ref: { repo: { platform: 'github', fullName: repo, id: 1, defaultBranch: 'main' }, number: 3 },
    title: 'It broke',
    body: '',
    labels,
    state,
    author: { login: 'dev', isBot: false },
    assignees,
    url: 'https://example.test/3',
    createdAt: OPENED,
  };
}

describe('outageCriticality', () => {
  it.each([
    ['no outage label', ['criticality::critical'], 'acme/other', null],
    ['outage with a criticality label', ['tool::outage', 'criticality::high'], 'acme/other', 'high'],
    ['labels match case-insensitively', ['Tool::Outage', 'Criticality::Critical'], 'acme/other', 'critical'],
    ['criticality from the inventory by repository', ['tool::outage'], 'acme/scanner', 'high'],
    ['criticality from the inventory by tool label', ['tool::outage', 'tool::legacy-ci'], 'acme/other', 'low'],
    ['the label wins over the inventory', ['tool::outage', 'criticality::medium'], 'acme/scanner', 'medium'],
    ['path::redirect caps at low', ['tool::outage', 'criticality::critical', 'path::redirect'], 'acme/other', 'low'],
    ['no criticality anywhere', ['tool::outage'], 'acme/other', null],
  ])('%s', (_name, labels, repo, expected) => {
    expect(outageCriticality(issue({ labels, repo }), withInventory)).toBe(expected);
  });

  it('finds the tool by label before the repository', () => {
    expect(toolFor(issue({ labels: ['tool::legacy-ci'], repo: 'acme/scanner' }), withInventory)?.name).toBe('legacy-ci');
    expect(toolFor(issue({ repo: 'ACME/Scanner' }), withInventory)?.name).toBe('scanner');
    expect(toolFor(issue({}), withInventory)).toBeNull();
  });
});

describe('clock lifecycle', () => {
  const critical = ['tool::outage', 'criticality::critical'];
  const at = (iso: string) => new Date(iso);
  const kinds = (clocks: ClockState[]) => Object.fromEntries(clocks.map((c) => [c.kind, c]));

  it('counts from the opening even when the labels come later', () => {
    const [slo, rto] = reconcileClocks(issue({ labels: critical }), [], defaultPolicy, at('2026-11-23T09:30:00Z'));
    expect(slo).toMatchObject({
      kind: 'slo',
      targetMinutes: 240,
      runningSince: at(OPENED),
      warnAt: at('2026-11-23T10:00:00Z'),
      dueAt: at('2026-11-23T11:00:00Z'),
    });
    expect(rto).toMatchObject({ kind: 'rto', targetMinutes: 720, dueAt: at('2026-11-24T11:00:00Z') });
  });

  it('has no clocks for low, and stops them when the outage label goes', () => {
    expect(reconcileClocks(issue({ labels: ['tool::outage', 'criticality::low'] }), [], defaultPolicy, at(OPENED))).toEqual([]);
    const running = reconcileClocks(issue({ labels: critical }), [], defaultPolicy, at(OPENED));
    const after = reconcileClocks(issue({ labels: [] }), running, defaultPolicy, at('2026-11-23T10:00:00Z'));
    expect(after.every((c) => c.stopped && c.runningSince === null && nextFireAt(c) === null)).toBe(true);
  });

  it('recomputes the due times when the criticality changes', () => {
    const running = reconcileClocks(issue({ labels: critical }), [], defaultPolicy, at(OPENED));
    const high = kinds(
      reconcileClocks(issue({ labels: ['tool::outage', 'criticality::high'] }), running, defaultPolicy, at('2026-11-20T16:00:00Z')),
    );
    expect(high['slo']).toMatchObject({ criticality: 'high', targetMinutes: 480, dueAt: at('2026-11-23T15:00:00Z') });
  });

  it('pauses on a policy pause label and resumes when it goes', () => {
    const paused = policyWith({ pauseLabels: ['blocked::vendor'] });
    const running = reconcileClocks(issue({ labels: critical }), [], paused, at(OPENED));
    const held = kinds(reconcileClocks(issue({ labels: [...critical, 'blocked::vendor'] }), running, paused, at('2026-11-20T16:00:00Z')));
    expect(held['slo']).toMatchObject({ runningSince: null, consumedMinutes: 60, dueAt: null });
    const resumed = kinds(reconcileClocks(issue({ labels: critical }), Object.values(held), paused, at('2026-11-23T09:00:00Z')));
    expect(resumed['slo']).toMatchObject({ runningSince: at('2026-11-23T09:00:00Z'), dueAt: at('2026-11-23T12:00:00Z') });
  });

  it('fires the warning at its point, then the breach at the due time, each once', () => {
    const [slo] = reconcileClocks(issue({ labels: critical }), [], defaultPolicy, at(OPENED));
    expect(fireClock(slo!, at('2026-11-23T09:59:00Z')).fired).toBeNull();
    const warned = fireClock(slo!, at('2026-11-23T10:00:00Z'));
    expect(warned.fired).toBe('at-risk');
    expect(fireClock(warned.clock, at('2026-11-23T10:30:00Z')).fired).toBeNull();
    expect(nextFireAt(warned.clock)).toEqual(at('2026-11-23T11:00:00Z'));
    const breached = fireClock(warned.clock, at('2026-11-23T11:00:00Z'));
    expect(breached.fired).toBe('breached');
    expect(fireClock(breached.clock, at('2026-11-24T11:00:00Z')).fired).toBeNull();
    expect(nextFireAt(breached.clock)).toBeNull();
  });

  it('sends only the breach when the warning point was missed as well', () => {
    const [slo] = reconcileClocks(issue({ labels: critical }), [], defaultPolicy, at(OPENED));
    const late = fireClock(slo!, at('2026-11-23T13:00:00Z'));
    expect(late.fired).toBe('breached');
    expect(fireClock(late.clock, at('2026-11-23T13:00:01Z')).fired).toBeNull();
  });
});

describe('feature requests for inventory tools', () => {
  const event = (labels: string[], repo: string): IssueEvent => ({
    kind: 'issue',
    action: 'opened',
    deliveryId: 'd',
    actor: { login: 'dev', isBot: false },
    issue: issue({ labels, repo }),
  });
  const run = (e: IssueEvent): Action[] =>
    plan(e, { policy: withInventory, policySource: 'test', policyWarnings: [], now: new Date(OPENED), render, history: [] }).actions;

  it('answers a feature request for a maintain tool courteously, with the reason from the inventory', () => {
    const actions = run(event(['enhancement'], 'acme/scanner'));
    expect(actions).toHaveLength(1);
    const comment = actions[0]!;
    expect(comment).toMatchObject({ type: 'ensureComment', marker: FEATURE_MARKER });
    const body = comment.type === 'ensureComment' ? comment.body : '';
    expect(body).toContain('does not take feature requests');
    expect(body).toContain('Replaced by the platform scanner in 2027.');
    expect(body).not.toMatch(/@acme/); // owners are named without a ping
  });

  it('says where redirect tools send new needs', () => {
    const actions = run(event(['feature', 'tool::legacy-ci'], 'acme/other'));
    const body = actions[0]?.type === 'ensureComment' ? actions[0].body : '';
    expect(body).toContain('new needs are met elsewhere');
    expect(body).toContain('Use the shared CI instead.');
  });

  it('triages a feature request for an improve tool to the backlog', () => {
    expect(run(event(['feature'], 'acme/sast'))).toEqual([
      { type: 'ensureLabels', target: issue({ repo: 'acme/sast' }).ref, add: ['backlog'], remove: [] },
    ]);
  });

  it('leaves other issues of the tool, and feature requests for tools not in the inventory, alone', () => {
    expect(run(event(['bug'], 'acme/scanner'))).toEqual([]);
    expect(run(event(['feature'], 'acme/unknown'))).toEqual([]);
  });
});

describe('the repeated-miss signal', () => {
  const labels = ['tool::outage', 'criticality::critical'];
  const scannerIssue = issue({ labels, repo: 'acme/scanner' });
  const clocks = reconcileClocks(scannerIssue, [], withInventory, new Date(OPENED));
  const breachTime = new Date('2026-11-23T11:00:00Z');
  const tick = (recentMisses: Record<string, number>) =>
    planClockTick(scannerIssue.ref, clocks, { policy: withInventory, render, now: breachTime, recentMisses });

  it('records the miss against the tool from the inventory', () => {
    expect(clocks.map((c) => c.tool)).toEqual(['scanner', 'scanner']);
    expect(tick({}).filter((a) => a.type === 'recordMiss')).toEqual([
      { type: 'recordMiss', target: scannerIssue.ref, tool: 'scanner', kind: 'slo', at: breachTime },
    ]);
  });

  it('says so once, when the third miss in the window happens: on the issue and in the escalation stream', () => {
    const actions = tick({ scanner: 2 });
    const signal = actions.find((a) => a.type === 'ensureComment' && a.marker === TOOL_SIGNAL_MARKER);
    expect(signal && 'body' in signal ? signal.body : '').toContain('missed its SLO or RTO **3 times in 90 days**');
    expect(actions.filter((a) => a.type === 'notifyChat').map((a) => (a.type === 'notifyChat' ? a.key : ''))).toEqual([
      'slo-breached:github:acme/scanner#3',
      'tool-signal:scanner:github:acme/scanner#3',
    ]);
  });

  it.each([[{}], [{ scanner: 1 }], [{ scanner: 3 }], [{ other: 2 }]])('stays quiet for prior misses %j', (recent) => {
    expect(tick(recent).some((a) => a.type === 'ensureComment' && a.marker === TOOL_SIGNAL_MARKER)).toBe(false);
  });
});
