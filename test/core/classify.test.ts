import { describe, expect, it } from 'vitest';
import { parseIntake, type IntakeAnswers, type IntakeRecord } from '../../src/core/intake/parse.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { classifyIntake } from '../../src/core/routing/classify.ts';
import { answers, intakeBody, type Answers } from '../builders/intake.ts';

const complete = (a: IntakeAnswers): IntakeRecord => ({ answers: a, problems: [], complete: true });
const classify = (overrides: Answers) => classifyIntake(complete(answers(overrides)), defaultPolicy);
const shown = (d: ReturnType<typeof classify>) => d.reasons.map((r) => ({ rule: r.rule, evidence: r.evidence }));

interface Row {
  when: string;
  overrides: Answers;
  tier: number;
  routes: string[];
  notify: string[];
  reasons: { rule: string; evidence: string[] }[];
}

// One row per row of the contract's "Default routing" table (and its variants).
const rows: Row[] = [
  {
    when: 'Suspected active exploitation = yes',
    overrides: { active_exploitation: 'yes' },
    tier: 3,
    routes: ['incident'],
    notify: ['active-exploitation'],
    reasons: [{ rule: 'active-exploitation', evidence: ['Suspected active exploitation = yes'] }],
  },
  {
    when: 'Blast radius = multiple products or trust domains',
    overrides: { blast_radius: 'multiple products or trust domains' },
    tier: 3,
    routes: [],
    notify: [],
    reasons: [{ rule: 'cross-domain-blast-radius', evidence: ['Blast radius = multiple products or trust domains'] }],
  },
  {
    when: 'Internet exposure = new public endpoint',
    overrides: { exposure: 'new public endpoint' },
    tier: 2,
    routes: [],
    notify: [],
    reasons: [{ rule: 'public-endpoint-or-identity-boundary', evidence: ['Internet exposure = new public endpoint'] }],
  },
  ...['Authentication change', 'Authorization change', 'Tenant boundary change'].map((change) => ({
    when: change,
    overrides: { identity_changes: [change] },
    tier: 2,
    routes: [],
    notify: [],
    reasons: [{ rule: 'public-endpoint-or-identity-boundary', evidence: [`Identity or access changes = ${change}`] }],
  })),
  {
    when: 'Privileged automation change',
    overrides: { identity_changes: ['Privileged automation change'] },
    tier: 2,
    routes: [],
    notify: [],
    reasons: [{ rule: 'privileged-automation-or-sensitive-data', evidence: ['Identity or access changes = Privileged automation change'] }],
  },
  ...['confidential', 'restricted'].map((level) => ({
    when: `Data sensitivity = ${level}`,
    overrides: { data_sensitivity: level },
    tier: 2,
    routes: [],
    notify: [],
    reasons: [{ rule: 'privileged-automation-or-sensitive-data', evidence: [`Data sensitivity = ${level}`] }],
  })),
  ...['IAM or role-trust change', 'Network exposure change'].flatMap((change) => [
    {
      when: `${change}, single service`,
      overrides: { identity_changes: [change], blast_radius: 'single service' },
      tier: 1,
      routes: [],
      notify: [],
      reasons: [
        { rule: 'iam-or-network-single-service', evidence: [`Identity or access changes = ${change}`, 'Blast radius = single service'] },
      ],
    },
    {
      when: `${change}, multiple services`,
      overrides: { identity_changes: [change], blast_radius: 'multiple services' },
      tier: 2,
      routes: [],
      notify: [],
      reasons: [{ rule: 'iam-or-network-wider', evidence: [`Identity or access changes = ${change}`, 'Blast radius = multiple services'] }],
    },
  ]),
  {
    when: 'golden path = yes and nothing else',
    overrides: { golden_path: 'yes' },
    tier: 0,
    routes: [],
    notify: [],
    reasons: [{ rule: 'golden-path', evidence: ['Uses an approved golden-path template = yes'] }],
  },
  {
    when: 'golden path = yes plus a new public endpoint (fallback ignored)',
    overrides: { golden_path: 'yes', exposure: 'new public endpoint' },
    tier: 2,
    routes: [],
    notify: [],
    reasons: [{ rule: 'public-endpoint-or-identity-boundary', evidence: ['Internet exposure = new public endpoint'] }],
  },
  {
    when: 'golden path = yes plus an IAM change on a single service (a tier-1 rule still beats the fallback)',
    overrides: { golden_path: 'yes', identity_changes: ['IAM or role-trust change'] },
    tier: 1,
    routes: [],
    notify: [],
    reasons: [
      {
        rule: 'iam-or-network-single-service',
        evidence: ['Identity or access changes = IAM or role-trust change', 'Blast radius = single service'],
      },
    ],
  },
  {
    when: 'nothing fires',
    overrides: {},
    tier: 1,
    routes: [],
    notify: [],
    reasons: [{ rule: 'default', evidence: [] }],
  },
  {
    when: 'several rules fire: the highest tier wins and every reason is listed',
    overrides: {
      exposure: 'new public endpoint',
      data_sensitivity: 'confidential',
      identity_changes: ['Authentication change', 'Privileged automation change'],
      blast_radius: 'multiple products or trust domains',
      golden_path: 'yes',
    },
    tier: 3,
    routes: [],
    notify: [],
    reasons: [
      { rule: 'cross-domain-blast-radius', evidence: ['Blast radius = multiple products or trust domains'] },
      {
        rule: 'public-endpoint-or-identity-boundary',
        evidence: ['Internet exposure = new public endpoint', 'Identity or access changes = Authentication change'],
      },
      {
        rule: 'privileged-automation-or-sensitive-data',
        evidence: ['Identity or access changes = Privileged automation change', 'Data sensitivity = confidential'],
      },
    ],
  },
  {
    when: 'exploitation plus a tier-2 rule: tier 3 with the incident route',
    overrides: { active_exploitation: 'yes', exposure: 'new public endpoint' },
    tier: 3,
    routes: ['incident'],
    notify: ['active-exploitation'],
    reasons: [
      { rule: 'active-exploitation', evidence: ['Suspected active exploitation = yes'] },
      { rule: 'public-endpoint-or-identity-boundary', evidence: ['Internet exposure = new public endpoint'] },
    ],
  },
  {
    when: 'IAM change with cross-domain blast radius: tier 3 wins over tier 2',
    overrides: { identity_changes: ['IAM or role-trust change'], blast_radius: 'multiple products or trust domains' },
    tier: 3,
    routes: [],
    notify: [],
    reasons: [
      { rule: 'cross-domain-blast-radius', evidence: ['Blast radius = multiple products or trust domains'] },
      {
        rule: 'iam-or-network-wider',
        evidence: ['Identity or access changes = IAM or role-trust change', 'Blast radius = multiple products or trust domains'],
      },
    ],
  },
];

describe('classifyIntake with the default routing', () => {
  it.each(rows)('$when → tier $tier', ({ overrides, tier, routes, notify, reasons }) => {
    const decision = classify(overrides);
    expect(decision.tier).toBe(tier);
    expect(decision.routes).toEqual(routes);
    expect(decision.notify).toEqual(notify);
    expect(shown(decision)).toEqual(reasons);
  });

  it('gives each fired rule its own tier and route in the reasons', () => {
    const decision = classify({ active_exploitation: 'yes', data_sensitivity: 'restricted' });
    expect(decision.reasons.map((r) => [r.rule, r.tier, r.route])).toEqual([
      ['active-exploitation', 3, 'incident'],
      ['privileged-automation-or-sensitive-data', 2, null],
    ]);
  });

  it('explains the default tier with the policy default reason', () => {
    const [reason] = classify({}).reasons;
    expect(reason).toEqual({ rule: 'default', summary: defaultPolicy.routing.defaultReason, evidence: [], tier: 1, route: null });
  });

  it('summarises a fired rule with its description', () => {
    const [reason] = classify({ exposure: 'new public endpoint' }).reasons;
    const rule = defaultPolicy.routing.rules.find((r) => r.name === 'public-endpoint-or-identity-boundary')!;
    expect(reason?.summary).toBe(rule.description);
  });

  it('classifies answers parsed from a GitHub body the same way', () => {
    const decision = classifyIntake(
      parseIntake(intakeBody({ exposure: 'New Public Endpoint' }), defaultPolicy.intake.fields),
      defaultPolicy,
    );
    expect(decision.tier).toBe(2);
    expect(shown(decision)).toEqual([
      { rule: 'public-endpoint-or-identity-boundary', evidence: ['Internet exposure = new public endpoint'] },
    ]);
  });
});

describe('classifyIntake on an incomplete intake', () => {
  const incomplete = (overrides: Answers) =>
    classifyIntake(parseIntake(intakeBody({ owner: null, ...overrides }), defaultPolicy.intake.fields), defaultPolicy);

  it.each<{ when: string; overrides: Answers }>([
    { when: 'nothing else', overrides: {} },
    { when: 'a new public endpoint', overrides: { exposure: 'new public endpoint' } },
    { when: 'a cross-domain blast radius', overrides: { blast_radius: 'multiple products or trust domains' } },
    { when: 'the golden path (no fallback while incomplete)', overrides: { golden_path: 'yes' } },
  ])('leaves the tier open with $when', ({ overrides }) => {
    const decision = incomplete(overrides);
    expect(decision).toEqual({ tier: null, routes: [], reasons: [], notify: [] });
  });

  it('still routes suspected active exploitation to incident at once (evenWhenIncomplete)', () => {
    const decision = incomplete({ active_exploitation: 'yes', exposure: 'new public endpoint' });
    expect(decision.routes).toEqual(['incident']);
    expect(decision.notify).toEqual(['active-exploitation']);
    expect(decision.tier).toBe(3);
    expect(shown(decision)).toEqual([{ rule: 'active-exploitation', evidence: ['Suspected active exploitation = yes'] }]);
  });
});
