import { describe, expect, it } from 'vitest';
import { buildDigest, digestNotice, inventoryReview } from '../../../src/core/digest/build.ts';
import type { DigestData, DigestIntake } from '../../../src/core/digest/data.ts';
import { cadencePolicySchema } from '../../../src/core/digest/policy.ts';
import { latestSlot } from '../../support/digest-slot.ts';
import type { ClockState } from '../../../src/core/outage/clocks.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const policy = cadencePolicySchema.parse({});
const at = (iso: string): Date => new Date(iso);

const intake = (o: Partial<DigestIntake> & { key: string }): DigestIntake => ({
  repo: 'acme/app',
  complete: true,
  tier: 1,
  rules: [],
  openedAt: at('2026-11-25T10:00:00Z'),
  closedAt: null,
  answers: {},
  ...o,
});
const clock = (o: Partial<ClockState>): ClockState => ({
  kind: 'slo',
  criticality: 'high',
  targetMinutes: 480,
  openedAt: at('2026-11-10T10:00:00Z'),
  consumedMinutes: 0,
  runningSince: null,
  stopped: false,
  warnAt: null,
  dueAt: null,
  warnedAt: null,
  breachedAt: null,
  tool: null,
  ...o,
});

const data: DigestData = {
  intakes: [
    intake({
      key: 'github:acme/app#1',
      tier: 2,
      rules: ['new-public-endpoint'],
      answers: { service_line: 'Secure design / architecture review', golden_path: 'no' },
    }),
    intake({
      key: 'github:acme/app#2',
      tier: 0,
      rules: ['golden-path'],
      answers: { service_line: 'Platform standards and golden paths', golden_path: 'yes' },
    }),
    intake({ key: 'github:acme/app#3', complete: false, tier: null, answers: { golden_path: 'yes' } }),
    intake({ key: 'github:acme/app#4', tier: 2, rules: ['sensitive-data'], answers: { golden_path: 'yes' } }),
    // before the week: an aging deep review, and a closed one
    intake({
      key: 'gitlab:grp/svc#9',
      repo: 'grp/svc',
      tier: 3,
      openedAt: at('2026-10-01T10:00:00Z'),
      answers: { service_line: 'Secure design / architecture review' },
    }),
    intake({
      key: 'gitlab:grp/svc#10',
      repo: 'grp/svc',
      tier: 2,
      openedAt: at('2026-10-01T10:00:00Z'),
      closedAt: at('2026-11-20T10:00:00Z'),
    }),
  ],
  clocks: [
    {
      key: 'github:acme/tool#5',
      clocks: [clock({ tool: 'scanner', stopped: true }), clock({ kind: 'rto', tool: 'scanner', breachedAt: at('2026-11-12T10:00:00Z') })],
    },
    { key: 'github:acme/tool#6', clocks: [clock({ tool: 'scanner', breachedAt: at('2026-11-11T10:00:00Z') })] },
  ],
  misses: [],
  escalations: [
    {
      key: 'intake-leadership:gitlab:grp/svc#9',
      kind: 'intake-leadership',
      title: 'svc needs a leadership decision',
      severity: 'Tier 3',
      url: null,
      createdAt: at('2026-10-01T10:00:00Z'),
      acknowledgedAt: null,
    },
    {
      key: 'incident:x',
      kind: 'incident',
      title: 'acknowledged already',
      severity: null,
      url: null,
      createdAt: at('2026-11-26T10:00:00Z'),
      acknowledgedAt: at('2026-11-26T11:00:00Z'),
    },
    {
      key: 'digest:weekly:2026-W48',
      kind: 'digest',
      title: 'an earlier digest',
      severity: null,
      url: null,
      createdAt: at('2026-11-23T09:00:00Z'),
      acknowledgedAt: null,
    },
  ],
  gateDecisions: [
    {
      key: 'github:acme/app!7',
      verdict: 'warn',
      releaseClass: 'prod',
      decidedAt: at('2026-11-20T10:00:00Z'),
      reasons: [{ rule: 'finding-warning', severity: 'warn', summary: 'Open high finding: old XSS', subject: 'code-scanning:1' }],
    },
    {
      key: 'github:acme/app!7',
      verdict: 'block',
      releaseClass: 'high-risk',
      decidedAt: at('2026-11-26T10:00:00Z'),
      reasons: [
        { rule: 'finding-warning', severity: 'warn', summary: 'Open high finding: old XSS', subject: 'code-scanning:1' },
        { rule: 'finding-blocking', severity: 'block', summary: 'Open critical finding: SQL injection', subject: 'code-scanning:2' },
        { rule: 'scan-missing', severity: 'block', summary: 'Secrets scan is missing', subject: 'control:secrets' },
      ],
    },
  ],
  exceptions: [
    {
      id: 'github:acme/app#20',
      category: 'sast',
      repo: 'github:acme/app',
      findingRef: 'js/xss',
      status: 'approved',
      requestedAt: at('2026-08-01T00:00:00Z'),
      approvedAt: at('2026-08-02T00:00:00Z'),
      expiresAt: at('2026-12-10T00:00:00Z'),
    },
    {
      id: 'github:acme/app#21',
      category: 'sast',
      repo: 'github:acme/app',
      findingRef: 'js/sqli',
      status: 'requested',
      requestedAt: at('2026-11-27T00:00:00Z'),
      approvedAt: null,
      expiresAt: at('2027-01-10T00:00:00Z'),
    },
    {
      id: 'github:acme/app#22',
      category: 'secrets',
      repo: 'github:acme/app',
      findingRef: 'control:secrets',
      status: 'approved',
      requestedAt: at('2026-11-01T00:00:00Z'),
      approvedAt: at('2026-11-05T00:00:00Z'),
      expiresAt: at('2026-11-20T00:00:00Z'),
    },
  ],
  tools: [
    {
      name: 'scanner',
      description: '',
      repos: ['acme/tool'],
      criticality: 'high',
      pathForward: 'maintain',
      owners: ['@sec'],
      health: 'green',
      note: '',
    },
    { name: 'legacy-dash', description: '', repos: [], criticality: 'low', pathForward: 'sunset', owners: [], health: 'amber', note: '' },
  ],
};

const digest = (cadence: 'weekly' | 'biweekly' | 'monthly' | 'quarterly', now = NOW) =>
  buildDigest(latestSlot(cadence, policy, 'UTC', now), data, { agingDays: 14 });
const section = (d: ReturnType<typeof digest>, heading: string): string[] =>
  d.sections.find((s) => s.heading.startsWith(heading))?.lines ?? [];

describe('weekly digest', () => {
  const d = digest('weekly');
  it.each([
    ['Intake health', ['4 new intakes: 3 complete, 1 incomplete', 'By tier: T0 1, T1 0, T2 2, T3 0, no tier 1']],
    [
      'By service line',
      [
        'Platform standards and golden paths: 1 new, 1 open, 0 open at tier 2/3',
        'Secure design / architecture review: 1 new, 2 open, 2 open at tier 2/3',
        'unspecified: 2 new, 2 open, 1 open at tier 2/3',
      ],
    ],
    ['Aging reviews', ['gitlab:grp/svc#9: tier 3 (leadership), 59 days open']],
    ['Open escalations', ['intake-leadership: svc needs a leadership decision (59 days unacknowledged)']],
    // the high XSS was seen the week before: only the critical one is new
    ['New material findings', ['github:acme/app!7: Open critical finding: SQL injection']],
  ])('%s', (heading, lines) => expect(section(d, heading)).toEqual(lines));

  it('is a digest notice titled with the week it reviews', () => {
    const n = digestNotice(d);
    expect(n).toMatchObject({ kind: 'digest', title: 'Weekly digest: 2026-11-23 to 2026-11-29', itemKey: null });
    expect(n.reasons).toContain('Intake health: 4 new intakes: 3 complete, 1 incomplete');
  });
});

describe('bi-weekly digest', () => {
  const d = digest('biweekly', new Date('2026-12-08T12:00:00Z')); // W50's, reviewing 2026-11-23 to 2026-12-06
  it.each([
    ['Standard-pattern adoption', ['Golden-path template: 3 yes, 1 no, 0 unanswered (75% adoption)']],
    [
      'Golden-path friction',
      ['2 golden-path intakes: 1 stayed self-service (tier 0), 1 routed higher', 'What moved them up: sensitive-data 1'],
    ],
    [
      'Repeated issue categories',
      ['Exception categories: sast 1', 'Routing rules firing most: golden-path 1, new-public-endpoint 1, sensitive-data 1'],
    ],
  ])('%s', (heading, lines) => expect(section(d, heading)).toEqual(lines));
});

describe('monthly digest (November)', () => {
  const d = digest('monthly');
  it.each([
    [
      'Exception aging',
      [
        '1 active exception: under 30 days old 0, 30-89 days 0, 90 days or more 1',
        '1 expire within 14 days; 1 lapsed in the period',
        '1 request awaiting approval (oldest 4 days)',
      ],
    ],
    ['SLO/RTO attainment', ['SLO: 1 met, 1 breached, 0 running (50% attained)', 'RTO: 0 met, 1 breached, 0 running (0% attained)']],
    ['High-risk backlog', ['1 open at tier 3 (leadership), 2 at tier 2 (deep review)', '1 release blocked: github:acme/app!7 (high-risk)']],
  ])('%s', (heading, lines) => expect(section(d, heading)).toEqual(lines));

  it('groups by service line, absent answers as unspecified', () => {
    expect(section(d, 'By service line')).toContain('unspecified: 2 new, 2 open, 1 open at tier 2/3');
  });
});

describe('quarterly digest (Q4 reviewed at the start of 2027-Q1)', () => {
  const d = digest('quarterly', new Date('2027-01-01T10:00:00Z'));
  it('reviews tier mix, queue health and the inventory, calling out zombies', () => {
    expect(d.title).toBe('Quarterly digest: 2026-Q4');
    expect(section(d, 'Tier mix')).toEqual(['6 intakes: T0 1, T1 0, T2 3, T3 1, no tier 1']);
    expect(section(d, 'Queue health')).toEqual([
      'Open 0 at the start, 5 at the end; 6 opened, 1 closed',
      'Open intakes: median age 36 days, oldest 91 days',
    ]);
    expect(section(d, 'Zombie tools')).toEqual(['legacy-dash']);
    expect(section(d, 'Tooling inventory review')).toEqual([
      'scanner: high, path::maintain; SLO 1 met, 1 breached (50%); RTO 0 met, 1 breached (0%); last activity 2026-11-12',
      'legacy-dash: low, path::sunset; SLO no clocks; RTO no clocks; last activity never — zombie',
    ]);
  });
  it('a tool with owners or activity is no zombie', () => {
    const rows = inventoryReview(
      { ...data, tools: [{ ...data.tools[1]!, owners: ['@someone'] }] },
      latestSlot('quarterly', policy, 'UTC', new Date('2027-01-01T10:00:00Z')),
    );
    expect(rows[0]!.zombie).toBe(false);
  });
});
