import { describe, expect, it } from 'vitest';
import { isIntake, parseIntake } from '../../src/core/intake/parse.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { answers, baseAnswers, githubBody, gitlabBody, gitlabTemplate, intakeBody, type Answers } from '../builders/intake.ts';

const fields = defaultPolicy.intake.fields;
const parse = (body: string) => parseIntake(body, fields);
const problemOf = (body: string, fieldId: string) => parse(body).problems.find((p) => p.fieldId === fieldId)?.message ?? null;

describe('parseIntake: GitHub issue-form rendering', () => {
  it('reads every answer of a complete body', () => {
    const record = parse(intakeBody());
    expect(record.problems).toEqual([]);
    expect(record.complete).toBe(true);
    expect(record.answers).toEqual(baseAnswers);
  });

  it('reads optional answers when given, keeping multi-line text', () => {
    const links = '- https://github.com/acme/payments/pull/12\n- https://wiki.acme.test/design/refunds';
    const record = parse(intakeBody({ links, deadline: '2026-12-15', business_event: 'Black Friday launch' }));
    expect(record.complete).toBe(true);
    expect(record.answers).toMatchObject({ links, deadline: '2026-12-15', business_event: 'Black Friday launch' });
  });

  it('reads `_No response_` as no answer: fine for optional fields, missing for required ones', () => {
    const record = parse(intakeBody({ links: null, business_event: null, reason: null }));
    expect(record.answers['links']).toBeNull();
    expect(record.answers['business_event']).toBeNull();
    expect(record.problems).toEqual([{ fieldId: 'reason', label: 'Reason for engagement', message: 'is missing' }]);
    expect(record.complete).toBe(false);
  });

  it('lists every missing required field, whether its section is absent or empty', () => {
    const body = githubBody({ answers: answers({ blast_radius: null, identity_changes: [] }), omit: ['service', 'owner', 'links'] });
    const record = parse(body);
    expect(record.problems.map((p) => [p.fieldId, p.label])).toEqual([
      ['service', 'Service or system name'],
      ['owner', 'Owner'],
      ['identity_changes', 'Identity or access changes'],
      ['blast_radius', 'Blast radius'],
    ]);
    expect(record.problems.find((p) => p.fieldId === 'identity_changes')?.message).toBe('needs at least one option ticked');
    expect(record.complete).toBe(false);
  });

  it('reads checkboxes with several ticked, in the order of the list', () => {
    const ticked = ['Authorization change', 'Network exposure change', 'Privileged automation change'];
    expect(parse(intakeBody({ identity_changes: ticked })).answers['identity_changes']).toEqual(ticked);
  });

  it('matches labels and options case-insensitively, ignoring surrounding whitespace', () => {
    const body = githubBody({
      answers: answers({ exposure: '  New PUBLIC endpoint  ', environment: 'PROD', identity_changes: [] }),
      label: (f) => `  ${f.label.toUpperCase()}   `,
    }).replace(/- \[ \] Authentication change/, '-  [X]   authentication CHANGE  ');
    const record = parse(body);
    expect(record.problems).toEqual([]);
    expect(record.answers).toMatchObject({
      exposure: 'new public endpoint',
      environment: 'prod',
      identity_changes: ['Authentication change'],
    });
  });

  it('treats lower-case `[x]` and `*` bullets as ticked too', () => {
    const body = intakeBody({ identity_changes: [] }).replace('- [ ] Tenant boundary change', '* [x] Tenant boundary change');
    expect(parse(body).answers['identity_changes']).toEqual(['Tenant boundary change']);
  });

  it('rejects a choice that is not an option', () => {
    const record = parse(intakeBody({ exposure: 'sometimes' }));
    expect(record.complete).toBe(false);
    expect(record.answers['exposure']).toBeNull();
    expect(problemOf(intakeBody({ exposure: 'sometimes' }), 'exposure')).toBe(
      '"sometimes" is not one of: none, existing endpoint changed, new public endpoint',
    );
  });

  it('rejects `None` combined with another option', () => {
    expect(problemOf(intakeBody({ identity_changes: ['Authentication change', 'None'] }), 'identity_changes')).toBe(
      '"None" cannot be combined with other options',
    );
  });

  it('rejects an unknown checkbox option', () => {
    const body = intakeBody({ identity_changes: ['Authentication change'] }).replace(
      '- [ ] None',
      '- [ ] None\n- [X] Quantum entanglement change',
    );
    const record = parse(body);
    expect(record.answers['identity_changes']).toBeNull();
    expect(problemOf(body, 'identity_changes')).toBe('has unknown option(s): Quantum entanglement change');
  });

  it('ignores an unknown option that is not ticked', () => {
    const body = intakeBody({ identity_changes: ['Authentication change'] }).replace('- [ ] None', '- [ ] None\n- [ ] Something else');
    expect(parse(body).problems).toEqual([]);
  });

  describe.each<{ value: string; ok: boolean }>([
    { value: '@alice', ok: true },
    { value: '@org/team', ok: true },
    { value: '@acme-corp/platform.sec_team', ok: true },
    { value: '@a', ok: true },
    { value: 'alice', ok: false },
    { value: '@', ok: false },
    { value: '@/team', ok: false },
    { value: '@org/', ok: false },
    { value: 'alice@example.com', ok: false },
    { value: '@alice @bob', ok: false },
  ])('Owner handle $value', ({ value, ok }) => {
    it(ok ? 'is accepted' : 'is rejected and echoed', () => {
      const record = parse(intakeBody({ owner: value }));
      expect(record.answers['owner']).toBe(value);
      expect(problemOf(intakeBody({ owner: value }), 'owner')).toBe(ok ? null : `"${value}" is not an @handle`);
    });
  });

  it('checks the deputy owner handle as well', () => {
    expect(problemOf(intakeBody({ deputy: 'bob' }), 'deputy')).toBe('"bob" is not an @handle');
  });

  it.each<{ value: string; ok: boolean }>([
    { value: '2026-12-15', ok: true },
    { value: '2028-02-29', ok: true },
    { value: '2026-02-30', ok: false },
    { value: '2027-02-29', ok: false },
    { value: '2026-13-01', ok: false },
    { value: '2026-1-5', ok: false },
    { value: '15/12/2026', ok: false },
    { value: 'next Friday', ok: false },
  ])('Requested deadline $value → ok: $ok', ({ value, ok }) => {
    expect(problemOf(intakeBody({ deadline: value }), 'deadline')).toBe(ok ? null : `"${value}" is not a date (YYYY-MM-DD)`);
  });

  it('ignores headings inside fenced code blocks', () => {
    const reason = [
      'We paste the old request for context:',
      '```markdown',
      '### Internet exposure',
      '',
      'new public endpoint',
      '',
      '### Links',
      '',
      'https://evil.test',
      '```',
    ].join('\n');
    const record = parse(githubBody({ answers: answers({ reason }), omit: ['links'] }));
    expect(record.answers['exposure']).toBe('none');
    expect(record.answers['links']).toBeNull();
    expect(record.answers['reason']).toBe(reason);
    expect(record.complete).toBe(true);
  });

  it('ignores tilde fences as well', () => {
    const reason = ['~~~', '### Owner', '', '@mallory', '~~~'].join('\n');
    const record = parse(githubBody({ answers: answers({ reason }), omit: ['owner'] }));
    expect(record.answers['owner']).toBeNull();
    expect(problemOf(githubBody({ answers: answers({ reason }), omit: ['owner'] }), 'owner')).toBe('is missing');
  });

  it('ignores HTML comments, including commented-out headings and comments inside answers', () => {
    const body = [
      '<!--',
      '### Internet exposure',
      '',
      'new public endpoint',
      '-->',
      intakeBody({ service: 'payments-api <!-- internal codename: tortoise -->' }),
    ].join('\n');
    const record = parse(body);
    expect(record.answers['exposure']).toBe('none');
    expect(record.answers['service']).toBe('payments-api');
    expect(record.complete).toBe(true);
  });

  it('keeps the first answer when a heading repeats (later copies are quoted text)', () => {
    const body = `${intakeBody({ exposure: 'none' })}\n\n### Internet exposure\n\nnew public endpoint`;
    expect(parse(body).answers['exposure']).toBe('none');
  });

  it('reads CRLF bodies exactly like LF bodies', () => {
    const a = answers({ links: 'line one\nline two', identity_changes: ['Authorization change', 'IAM or role-trust change'] });
    const crlf = githubBody({ answers: a, eol: '\r\n' });
    expect(crlf).toContain('\r\n');
    const record = parse(crlf);
    expect(record.answers).toEqual(parse(githubBody({ answers: a })).answers);
    expect(record.answers).toEqual(a);
    expect(JSON.stringify(record.answers)).not.toContain('\\r');
  });
});

describe('parseIntake: the GitLab description template filled in', () => {
  it('reads an empty template as missing every required answer', () => {
    const record = parse(gitlabTemplate());
    expect(record.problems.map((p) => p.fieldId)).toEqual(fields.filter((f) => f.required).map((f) => f.id));
    expect(Object.values(record.answers).every((v) => v === null)).toBe(true);
  });

  it.each<{ name: string; overrides: Answers; tick: 'x' | 'X' }>([
    { name: 'base answers', overrides: {}, tick: 'x' },
    {
      name: 'several changes ticked, optional fields filled',
      overrides: {
        identity_changes: ['Authentication change', 'Tenant boundary change'],
        links: 'https://x.test/pr/1\nhttps://x.test/doc',
        deadline: '2027-01-31',
        business_event: 'Audit',
      },
      tick: 'x',
    },
    { name: 'upper-case ticks', overrides: { exposure: 'existing endpoint changed', golden_path: 'yes' }, tick: 'X' },
  ])('reads the answers back: $name', ({ overrides, tick }) => {
    const a = answers(overrides);
    const record = parse(gitlabBody({ answers: a, tick }));
    expect(record.problems).toEqual([]);
    expect(record.answers).toEqual(a);
  });

  it('does not read a label quick action left in the body as an answer', () => {
    const a = answers({ business_event: null });
    expect(parse(`${gitlabBody({ answers: a })}\n/label ~"intake"\n`).answers).toEqual(a);
    const filled = answers({ business_event: 'Q1 launch' });
    expect(parse(`${gitlabBody({ answers: filled })}\n/label ~"intake"\n`).answers['business_event']).toBe('Q1 launch');
  });

  it('rejects two options ticked in a choice list', () => {
    const body = gitlabBody({ answers: answers({ environment: ['non-prod', 'prod'] as unknown as string }) });
    expect(body).toMatch(/- \[x\] non-prod\n- \[x\] prod/);
    expect(problemOf(body, 'environment')).toBe('takes one option, got 2');
  });

  it('reports a choice list with nothing ticked as missing', () => {
    expect(problemOf(gitlabBody({ answers: answers({ trust_tier: null }) }), 'trust_tier')).toBe('is missing');
  });
});

describe('isIntake', () => {
  it.each<{ name: string; body: string | null; labels: string[]; expected: boolean }>([
    { name: 'intake label', body: 'anything', labels: ['intake'], expected: true },
    { name: 'intake label in another case, with spaces', body: '', labels: ['bug', '  Intake '], expected: true },
    { name: 'intake label, no body', body: null, labels: ['INTAKE'], expected: true },
    { name: 'first heading, no label', body: intakeBody(), labels: [], expected: true },
    {
      name: 'first heading in another case, with spaces',
      body: 'Hello\n\n###   service OR system NAME  \n\nfoo',
      labels: ['bug'],
      expected: true,
    },
    { name: 'first heading, CRLF', body: '### Service or system name\r\n\r\nfoo', labels: [], expected: true },
    { name: 'another heading only', body: '### Owner\n\n@alice', labels: [], expected: false },
    { name: 'heading inside an HTML comment', body: '<!-- ### Service or system name -->', labels: [], expected: false },
    { name: 'a level-2 heading', body: '## Service or system name', labels: [], expected: false },
    { name: 'a scoped intake label only', body: 'The login page is slow.', labels: ['intake::complete'], expected: false },
    { name: 'plain issue', body: 'The login page is slow.', labels: ['bug'], expected: false },
    { name: 'no body, no labels', body: null, labels: [], expected: false },
  ])('$name → $expected', ({ body, labels, expected }) => {
    expect(isIntake(body, labels, defaultPolicy)).toBe(expected);
  });
});

describe('parseIntake: headings of the reporter’s own', () => {
  it('end a choice answer (a section added after the form) but stay inside a long-text answer', () => {
    const after = parseIntake(
      `${intakeBody({ service_line: 'CI/CD and release governance' })}\n\n### Notes from the team\n\nsee the wiki\n`,
      defaultPolicy.intake.fields,
    );
    expect(after.complete).toBe(true);
    expect(after.answers['service_line']).toBe('CI/CD and release governance');
    const inside = parseIntake(
      intakeBody({ reason: 'Adding an endpoint.\n\n### Context\n\nThe old one is slow.' }),
      defaultPolicy.intake.fields,
    );
    expect(inside.answers['reason']).toBe('Adding an endpoint.\n\n### Context\n\nThe old one is slow.');
  });
});

describe('parseIntake: a body longer than the platform stores', () => {
  it('reads it only up to the limit and is incomplete, saying why', () => {
    const body = `${intakeBody()}\n\n### Notes\n\n${'x'.repeat(100)}`;
    const record = parseIntake(body, fields, body.length - 50);
    expect(record.complete).toBe(false);
    expect(record.problems).toEqual([
      {
        fieldId: 'body',
        label: 'Description',
        message: `is longer than the ${(body.length - 50).toLocaleString('en-US')} characters the platform stores and was cut there: nothing after the cut is read`,
      },
    ]);
    expect(record.answers).toEqual(baseAnswers);
  });

  it('never takes an answer that starts after the cut', () => {
    const body = intakeBody({ service: null });
    const cut = body.length;
    const record = parseIntake(`${body}\n\n### Service or system name\n\nlate-answer`, fields, cut);
    expect(record.answers['service']).toBeNull();
  });

  it('is unchanged at or below the limit', () => {
    const body = intakeBody();
    expect(parseIntake(body, fields, body.length)).toEqual(parse(body));
  });
});
