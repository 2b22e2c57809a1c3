/** A repository's override may only tighten the global policy: each key, tightened (kept) and weakened (ignored, with the reason). */
import { describe, expect, it } from 'vitest';
import { defaultPolicy, validatePolicy } from '../../../src/core/policy/load.ts';
import type { Policy } from '../../../src/core/policy/schema.ts';
import { parseOverride, tightenPolicy } from '../../../src/core/policy/tighten.ts';

const global: Policy = (() => {
  const r = validatePolicy(
    {
      changes: { reviewers: { github: ['sec-sam'], gitlab: ['sec-sam'] } },
      tooling: { pauseLabels: ['on-hold', 'blocked'], deciders: { github: ['lead'] } },
      planning: { allowReorder: true },
      gate: { securityReviewers: { github: ['sec-sam'] } },
    },
    defaultPolicy,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
})();

const y = (...lines: string[]) => `${lines.join('\n')}\n`;
const tighten = (text: string) => {
  const r = parseOverride(text, global);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
};
const names = (rules: { name: string }[]) => rules.map((r) => r.name);
const extraRule = (name: string, tier: number, extra = '') => [
  `  - name: ${name}`,
  '    description: Team rule',
  '    when: { field: exposure, equals: existing endpoint changed }',
  `    tier: ${tier}${extra}`,
];

describe('tightenPolicy: what an override keeps (tightening) and what it ignores (weakening)', () => {
  it.each<{ name: string; text: string; check: (p: Policy) => void; ignored: string[]; reason?: RegExp }>([
    // routing
    {
      name: 'routing.rules: an added rule is kept after every global rule',
      text: y('routing:', '  rules:', ...extraRule('team-endpoints', 2)),
      check: (p) => expect(names(p.routing.rules)).toEqual([...names(global.routing.rules), 'team-endpoints']),
      ignored: [],
    },
    {
      name: 'routing.rules: an empty list removes no global rule',
      text: y('routing:', '  rules: []'),
      check: (p) => expect(p.routing.rules).toEqual(global.routing.rules),
      ignored: ['routing.rules'],
      reason: /removes nothing/,
    },
    {
      name: 'routing.rules: a global rule cannot be replaced by one of the same name',
      text: y(
        'routing:',
        '  rules:',
        '  - name: active-exploitation',
        '    description: Quietly',
        '    when: { field: active_exploitation, equals: "yes" }',
        '    tier: 1',
      ),
      check: (p) => expect(p.routing.rules.find((r) => r.name === 'active-exploitation')).toEqual(global.routing.rules[0]),
      ignored: ['routing.rules[0]'],
      reason: /global routing rule "active-exploitation" cannot be replaced/,
    },
    {
      name: 'routing.rules: an added rule below the default tier would lower intakes',
      text: y('routing:', '  rules:', ...extraRule('everything-self-service', 0)),
      check: (p) => expect(names(p.routing.rules)).toEqual(names(global.routing.rules)),
      ignored: ['routing.rules[0]'],
      reason: /below the default tier 1/,
    },
    {
      name: 'routing.defaultTier raised, with its reason',
      text: y('routing:', '  defaultTier: 2', '  defaultReason: Deep review by default'),
      check: (p) => expect(p.routing).toMatchObject({ defaultTier: 2, defaultReason: 'Deep review by default' }),
      ignored: [],
    },
    {
      name: 'routing.defaultTier lowered',
      text: y('routing:', '  defaultTier: 0', '  defaultReason: Nothing to see'),
      check: (p) => expect(p.routing).toMatchObject({ defaultTier: 1, defaultReason: global.routing.defaultReason }),
      ignored: ['routing.defaultTier', 'routing.defaultReason'],
    },
    {
      name: 'routes: a new route is added; a global one is not redefined',
      text: y('routes:', '  - { name: team-board, label: route::team-board }', '  - { name: incident, label: route::nothing }'),
      check: (p) => expect(p.routes.map((r) => r.label)).toEqual([...global.routes.map((r) => r.label), 'route::team-board']),
      ignored: ['routes[1]'],
    },
    {
      name: 'routes: a new route cannot take a label the global policy gives a meaning',
      text: y('routes:', '  - { name: quiet, label: Intake::Complete }', '  - { name: gatepass, label: gate::pass }'),
      check: (p) => expect(p.routes).toEqual(global.routes),
      ignored: ['routes[0]', 'routes[1]'],
      reason: /the label "Intake::Complete" is one the global policy gives its own meaning/,
    },
    // changes
    {
      name: 'changes.rules: an added rule is kept; a global one cannot be replaced',
      text: y(
        'changes:',
        '  rules:',
        '  - { name: team-crypto, description: Crypto code, paths: ["**/crypto/**"], tier: 2 }',
        '  - { name: tenant-isolation, description: none, paths: [nothing], tier: 0 }',
      ),
      check: (p) => expect(names(p.changes.rules)).toEqual([...names(global.changes.rules), 'team-crypto']),
      ignored: ['changes.rules[1]'],
    },
    {
      name: 'changes.ignore: narrowed to the global entries listed; new entries ignored',
      text: y('changes:', '  ignore: ["docs/**", "src/**"]'),
      check: (p) => expect(p.changes.ignore).toEqual(['docs/**']),
      ignored: ['changes.ignore'],
      reason: /hide changes/,
    },
    {
      name: 'changes.reviewFromTier lowered',
      text: y('changes:', '  reviewFromTier: 1'),
      check: (p) => expect(p.changes.reviewFromTier).toBe(1),
      ignored: [],
    },
    {
      name: 'changes.reviewFromTier raised',
      text: y('changes:', '  reviewFromTier: 3'),
      check: (p) => expect(p.changes.reviewFromTier).toBe(2),
      ignored: ['changes.reviewFromTier'],
    },
    {
      name: 'changes.reviewers: a friend is asked for a review but is no security reviewer',
      text: y('changes:', '  reviewers: { github: [friend] }'),
      check: (p) => {
        expect(p.changes.reviewers).toEqual(global.changes.reviewers);
        expect(p.changes.requestReviewers.github).toEqual(['friend']);
      },
      ignored: [],
    },
    // clocks
    {
      name: 'clocks: a shorter target and an earlier warning are kept',
      text: y('clocks:', '  warnAt: 0.5', '  targets:', '    critical: { slo: 2h }', '    low: { rto: 2w }'),
      check: (p) =>
        expect(p.clocks).toMatchObject({ warnAt: 0.5, targets: { critical: { slo: '2h', rto: '12h' }, low: { slo: null, rto: '2w' } } }),
      ignored: [],
    },
    {
      name: 'clocks: a longer or switched-off target and a later warning are ignored',
      text: y('clocks:', '  warnAt: 0.9', '  targets:', '    critical: { slo: none, rto: 3d }'),
      check: (p) => expect(p.clocks).toEqual(global.clocks),
      ignored: ['clocks.warnAt', 'clocks.targets.critical.slo', 'clocks.targets.critical.rto'],
    },
    {
      name: 'clocks: holidays and calendars stop clocks',
      text: y('clocks:', '  holidays: ["2026-12-01"]', '  hoursPerDay: 24', '  regions: [{ hours: { monday: ["09:00-10:00"] } }]'),
      check: (p) => expect(p.clocks).toEqual(global.clocks),
      ignored: ['clocks.holidays', 'clocks.hoursPerDay', 'clocks.regions'],
    },
    // tooling
    {
      name: 'tooling.pauseLabels: narrowed; a new pause label ignored',
      text: y('tooling:', '  pauseLabels: [on-hold, waiting-for-vendor]'),
      check: (p) => expect(p.tooling.pauseLabels).toEqual(['on-hold']),
      ignored: ['tooling.pauseLabels'],
      reason: /pause labels stop clocks/,
    },
    {
      name: 'tooling.deciders and inventory are the global policy’s',
      text: y(
        'tooling:',
        '  deciders: { github: [mallory] }',
        '  inventory: [{ name: scanner, criticality: low, pathForward: sunset }]',
        '  outageLabel: never',
      ),
      check: (p) => expect(p.tooling).toEqual(global.tooling),
      ignored: ['tooling.deciders', 'tooling.inventory', 'tooling.outageLabel'],
    },
    {
      name: 'tooling.repeatedMisses: sooner kept',
      text: y('tooling:', '  repeatedMisses: { count: 2, windowDays: 30 }'),
      check: (p) => expect(p.tooling.repeatedMisses).toEqual({ count: 2, windowDays: 90 }),
      ignored: ['tooling.repeatedMisses.windowDays'],
    },
    // planning
    {
      name: 'planning: from a lower tier, reordering off',
      text: y('planning:', '  fromTier: 1', '  allowReorder: false'),
      check: (p) => expect(p.planning).toEqual({ fromTier: 1, allowReorder: false, threatDeciders: { github: [], gitlab: [] } }),
      ignored: [],
    },
    {
      name: 'planning: from a higher tier',
      text: y('planning:', '  fromTier: 3'),
      check: (p) => expect(p.planning.fromTier).toBe(2),
      ignored: ['planning.fromTier'],
    },
    // global-only sections
    {
      name: 'gate: security reviewers, approvers and mode are the global policy’s',
      text: y(
        'gate:',
        '  securityReviewers: { github: [friend] }',
        '  exceptions: { approvers: { github: [friend] } }',
        '  mode: { default: advisory }',
      ),
      check: (p) => expect(p.gate).toEqual(global.gate),
      ignored: ['gate.securityReviewers', 'gate.exceptions', 'gate.mode'],
      reason: /release gate/,
    },
    {
      name: 'commands: a repository cannot raise the limit on commands per account',
      text: y('commands:', '  perActor: { max: 1000, windowMinutes: 1 }'),
      check: (p) => expect(p.commands).toEqual(global.commands),
      ignored: ['commands.perActor'],
      reason: /commands one account may send/,
    },
    {
      name: 'chat, intake, labels, tiers, timeZone, incident, cadence, page',
      text: y(
        'chat: { escalators: { users: [UMALLORY] } }',
        'intake: { title: Other }',
        'labels: { intake: nothing }',
        'timeZone: Pacific/Kiritimati',
        'incident: { route: exception-board }',
        'cadence: { weekly: { enabled: false } }',
        'page: { access: header }',
      ),
      check: (p) => expect(p).toEqual(global),
      ignored: ['chat.escalators', 'intake.title', 'labels.intake', 'timeZone', 'incident.route', 'cadence.weekly', 'page.access'],
    },
    {
      name: 'a value equal to the global one is no change',
      text: y('gate: { checkName: gatehouse/release-gate }', 'routing: { defaultTier: 1 }', 'tooling: { deciders: { github: [lead] } }'),
      check: (p) => expect(p).toEqual(global),
      ignored: [],
    },
  ])('$name', ({ text, check, ignored, reason }) => {
    const r = tighten(text);
    check(r.policy);
    expect(r.ignored.map((i) => i.path)).toEqual(ignored);
    for (const i of r.ignored) expect(i.reason.length).toBeGreaterThan(10);
    if (reason) expect(r.ignored[0]?.reason).toMatch(reason);
  });

  it('an empty override is the global policy', () => {
    expect(tightenPolicy(global, null)).toEqual({ ok: true, policy: global, ignored: [] });
  });
});

describe('parseOverride: an invalid override is refused whole, with paths and lines of the file', () => {
  it.each<[string, string, { path: string; line: number | null }[]]>([
    ['a tier out of range', y('routing:', '  defaultTier: 9'), [{ path: 'routing.defaultTier', line: 2 }]],
    ['an unknown key', y('routing:', '  defaultTier: 2', 'unknownKey: true'), [{ path: 'unknownKey', line: 3 }]],
    [
      'an added rule on an unknown field',
      y('routing:', '  rules:', '  - { name: x, description: y, when: { field: nope, equals: a }, tier: 2 }'),
      [{ path: 'routing.rules[0].when.field', line: 3 }],
    ],
    ['YAML that does not parse', 'routing: [\n', [{ path: '(yaml)', line: 2 }]],
  ])('%s', (_n, text, expected) => {
    const r = parseOverride(text, global);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => ({ path: e.path, line: e.line }))).toEqual(expected);
  });

  it('an added rule may use a route the override adds', () => {
    const r = tighten(
      y(
        'routes:',
        '  - { name: team-board, label: route::team-board }',
        'routing:',
        '  rules:',
        ...extraRule('to-team-board', 2, '\n    route: team-board'),
      ),
    );
    expect(r.policy.routing.rules.at(-1)).toMatchObject({ name: 'to-team-board', route: 'team-board' });
  });
});

describe('parseOverride: a glob that would take too long to match is ignored key by key', () => {
  const SLOW = '**/a/**/a/**/a/**/b';
  it('an added change rule keeps its other globs; the refused one is listed with the glob and why', () => {
    const r = tighten(
      y('changes:', '  rules:', `    - { name: team-paths, description: Team paths, paths: ["services/billing/**", "${SLOW}"], tier: 2 }`),
    );
    expect(r.policy.changes.rules.at(-1)).toMatchObject({ name: 'team-paths', paths: ['services/billing/**'] });
    expect(r.ignored).toEqual([
      {
        path: 'changes.rules[0].paths[1]',
        reason: expect.stringMatching(
          /^glob refused: "\*\*\/a\/\*\*\/a\/\*\*\/a\/\*\*\/b" would take too long to match: it has 4 "\*\*" segments/,
        ),
      },
    ]);
  });

  it('a rule left without globs is left out whole; the rules after it keep their places', () => {
    const r = tighten(
      y(
        'changes:',
        '  rules:',
        `    - { name: only-slow, description: Slow, paths: ["${SLOW}", "*a*a*a*b"], tier: 2 }`,
        '    - { name: fine, description: Fine, paths: ["infra/**"], tier: 2 }',
        '  ignore: ["*x*x*x*"]',
        'routing:',
        '  defaultTier: 0',
      ),
    );
    expect(names(r.policy.changes.rules).slice(-1)).toEqual(['fine']);
    expect(r.policy.changes.rules.some((x) => x.name === 'only-slow')).toBe(false);
    expect(r.ignored.map((i) => i.path)).toEqual([
      'changes.ignore[0]',
      'changes.rules[0]',
      'changes.rules[0].paths[0]',
      'changes.rules[0].paths[1]',
      'routing.defaultTier',
    ]);
    expect(r.ignored[1]!.reason).toBe('every glob of changes.rules[0].paths was refused: the rule is left out');
  });

  it('the rest of the override applies, and its other ignored keys are listed as before', () => {
    const r = tighten(
      y(
        'changes:',
        '  rules:',
        '    - { name: fine, description: Fine, paths: ["infra/**"], tier: 2 }',
        '  ignore: ["*x*x*x*"]',
        'gate:',
        `  highRiskPaths: ["${SLOW}"]`,
        'routing:',
        '  defaultTier: 2',
      ),
    );
    expect(names(r.policy.changes.rules).at(-1)).toBe('fine');
    expect(r.policy.changes.ignore).toEqual(global.changes.ignore);
    expect(r.policy.routing.defaultTier).toBe(2);
    expect(r.policy.gate).toEqual(global.gate);
    expect(r.ignored.map((i) => i.path)).toEqual(['changes.ignore[0]', 'gate.highRiskPaths[0]']);
  });
});
