import { describe, expect, it } from 'vitest';
import { defaultPolicyInput } from '../../src/core/policy/default.ts';
import { defaultPolicy, formatPath, mergeDeep, parsePolicy, validatePolicy, type PolicyError } from '../../src/core/policy/load.ts';
import { policySchema } from '../../src/core/policy/schema.ts';

const errorsOf = (text: string): PolicyError[] => {
  const result = parsePolicy(text);
  if (result.ok) throw new Error('expected the policy to be invalid');
  return result.errors;
};
const y = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('the default policy', () => {
  it('validates', () => {
    expect(policySchema.safeParse(defaultPolicyInput).success).toBe(true);
  });

  it('is what an empty or blank policy file gives', () => {
    for (const text of ['', '# nothing to change\n', '{}\n']) {
      const result = parsePolicy(text);
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.policy).toEqual(defaultPolicy);
    }
  });

  it('has the contract labels and channels', () => {
    expect(defaultPolicy.labels).toEqual({ intake: 'intake', intakeIncomplete: 'intake::incomplete', intakeComplete: 'intake::complete' });
    expect(defaultPolicy.tiers.map((t) => [t.level, t.label])).toEqual([
      [0, 'tier::self-service'],
      [1, 'tier::advisory'],
      [2, 'tier::deep-review'],
      [3, 'tier::leadership'],
    ]);
    expect(defaultPolicy.routes.map((r) => [r.name, r.label])).toEqual([
      ['incident', 'route::incident'],
      ['exception-board', 'route::exception-board'],
      ['remediation-governance', 'route::remediation-governance'],
    ]);
    expect(defaultPolicy.chat).toMatchObject({
      escalationChannel: '#prodsec-escalations',
      incidentChannel: '#prodsec-incidents',
      command: '/gatehouse',
    });
    expect(defaultPolicy.timeZone).toBe('UTC');
  });
});

describe('parsePolicy reports each error with its dotted path and line', () => {
  it.each<{ name: string; text: string; expected: { path: string; line: number | null; message?: string | RegExp }[] }>([
    {
      name: 'wrong type',
      text: y('routing:', '  defaultTier: "high"'),
      expected: [{ path: 'routing.defaultTier', line: 2, message: /expected number/ }],
    },
    {
      name: 'tier out of range',
      text: y('routing:', '  defaultTier: 7'),
      expected: [{ path: 'routing.defaultTier', line: 2, message: 'a tier is a whole number from 0 to 3' }],
    },
    {
      name: 'unknown key',
      text: y('chat:', "  incidentChannel: '#sec'", "  incidentChanel: '#typo'"),
      expected: [{ path: 'chat.incidentChanel', line: 3, message: 'unknown key "incidentChanel"' }],
    },
    {
      name: 'unknown top-level key',
      text: y('version: 1', 'clockz: {}'),
      expected: [{ path: 'clockz', line: 2, message: 'unknown key "clockz"' }],
    },
    {
      name: 'unknown field id in a rule condition',
      text: y(
        'routing:',
        '  rules:',
        '    - name: pii',
        '      description: PII needs a review',
        '      when:',
        '        field: pii',
        '        equals: "yes"',
        '      tier: 2',
      ),
      expected: [{ path: 'routing.rules[0].when.field', line: 6, message: 'unknown intake field "pii"' }],
    },
    {
      name: 'unknown field id nested in any/not',
      text: y(
        'routing:',
        '  rules:',
        '    - name: nested',
        '      description: nested',
        '      when:',
        '        any:',
        '          - { field: exposure, equals: none }',
        '          - not: { field: colour, equals: red }',
        '      tier: 2',
      ),
      expected: [{ path: 'routing.rules[0].when.any[1].not.field', line: 8, message: 'unknown intake field "colour"' }],
    },
    {
      name: 'an option that is not among the field options',
      text: y(
        'routing:',
        '  rules:',
        '    - name: maybe',
        '      description: maybe exposed',
        '      when: { field: exposure, equals: maybe }',
        '      tier: 2',
      ),
      expected: [{ path: 'routing.rules[0].when', line: 5, message: '"maybe" is not an option of field "exposure"' }],
    },
    {
      name: 'an undeclared route',
      text: y(
        'routing:',
        '  rules:',
        '    - name: board',
        '      description: goes to the board',
        '      when: { field: golden_path, equals: "no" }',
        '      route: board',
      ),
      expected: [{ path: 'routing.rules[0].route', line: 6, message: 'unknown route "board" (declare it under routes)' }],
    },
    {
      name: 'duplicate field ids',
      text: y(
        'intake:',
        '  fields:',
        '    - { id: service, label: Service, kind: text }',
        '    - { id: service, label: System, kind: text }',
        'routing:',
        '  rules: []',
      ),
      expected: [{ path: 'intake.fields[1].id', line: 4, message: 'duplicate field id "service"' }],
    },
    {
      name: 'tiers out of order',
      text: y(
        'tiers:',
        '  - { level: 0, name: a, label: "tier::a", assets: [x] }',
        '  - { level: 2, name: c, label: "tier::c", assets: [x] }',
        '  - { level: 1, name: b, label: "tier::b", assets: [x] }',
        '  - { level: 3, name: d, label: "tier::d", assets: [x] }',
      ),
      expected: [
        { path: 'tiers[1].level', line: 3, message: 'tiers are listed in order: expected level 1' },
        { path: 'tiers[2].level', line: 4, message: 'tiers are listed in order: expected level 2' },
      ],
    },
    {
      name: 'YAML syntax error',
      text: y('chat:', "  incidentChannel: '#sec'", '  escalationChannel: a: b', 'routing:', '  defaultTier: 2'),
      expected: [{ path: '(yaml)', line: 3 }],
    },
    {
      name: 'duplicate YAML key',
      text: y('chat:', "  incidentChannel: '#a'", "  incidentChannel: '#b'"),
      expected: [{ path: '(yaml)', line: 3 }],
    },
    {
      name: 'a document that is not a mapping',
      text: y('- just', '- a list'),
      expected: [{ path: '(root)', line: 1 }],
    },
  ])('$name', ({ text, expected }) => {
    const errors = errorsOf(text);
    expect(errors.map((e) => ({ path: e.path, line: e.line }))).toEqual(expected.map((e) => ({ path: e.path, line: e.line })));
    expected.forEach((e, i) => {
      if (e.message !== undefined)
        expect(errors[i]!.message).toMatch(
          e.message instanceof RegExp ? e.message : new RegExp(`^${e.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
        );
    });
  });

  it('reports every error of a file at once', () => {
    const errors = errorsOf(y('routing:', '  defaultTier: "high"', 'chat:', '  bogus: 1', 'timeZone: 5'));
    expect(errors.map((e) => e.path).sort()).toEqual(['chat.bogus', 'routing.defaultTier', 'timeZone']);
  });
});

describe('a partial policy merges over the default', () => {
  it('changes only what it names', () => {
    const result = parsePolicy(y('chat:', "  incidentChannel: '#sec-911'"));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.chat).toEqual({ ...defaultPolicy.chat, escalationChannel: '#prodsec-escalations', incidentChannel: '#sec-911' });
    expect({ ...result.policy, chat: defaultPolicy.chat }).toEqual(defaultPolicy);
  });

  it('replaces lists whole', () => {
    const result = parsePolicy(y('routing:', '  rules: []', '  defaultTier: 2'));
    expect(result.ok && result.policy.routing).toEqual({ rules: [], defaultTier: 2, defaultReason: defaultPolicy.routing.defaultReason });
  });

  it('can rename labels', () => {
    const result = parsePolicy(y('labels:', '  intake: security-review'));
    expect(result.ok && result.policy.labels).toEqual({
      intake: 'security-review',
      intakeIncomplete: 'intake::incomplete',
      intakeComplete: 'intake::complete',
    });
  });

  it('validates an already-parsed object the same way (no line numbers)', () => {
    expect(validatePolicy({ chat: { incidentChannel: '#x' } }).ok).toBe(true);
    const bad = validatePolicy({ chat: { nope: 1 } });
    expect(bad).toEqual({ ok: false, errors: [{ path: 'chat.nope', line: null, message: 'unknown key "nope"' }] });
  });
});

describe('helpers', () => {
  it.each<[PropertyKey[], string]>([
    [[], '(root)'],
    [['chat'], 'chat'],
    [['routing', 'rules', 2, 'when', 'any', 0, 'field'], 'routing.rules[2].when.any[0].field'],
  ])('formatPath(%j) = %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });

  it('mergeDeep merges objects and replaces arrays and scalars', () => {
    expect(mergeDeep({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 2 });
  });
});

describe('parsePolicy reports structural and reference errors together', () => {
  it('lists a type error, an undeclared route and an unknown field in one pass', () => {
    const text =
      'tiers: 3\nrouting:\n  rules:\n    - name: x\n      description: y\n      when: {field: nope, equals: a}\n      route: board\n';
    const result = parsePolicy(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.path, e.line])).toEqual([
      ['tiers', 1],
      ['routing.rules[0].route', 7],
      ['routing.rules[0].when.field', 6],
    ]);
  });
});
