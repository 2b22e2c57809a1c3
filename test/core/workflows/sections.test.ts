import { describe, expect, it } from 'vitest';
import {
  readChecklist,
  readSection,
  setChecklist,
  stripSections,
  withSection,
  withSections,
} from '../../../src/core/workflows/sections.ts';
import { policySchema } from '../../../src/core/policy/schema.ts';
import { defaultPolicyInput } from '../../../src/core/policy/default.ts';

const block = (name: string, text: string): string => `<!-- gatehouse:${name}:start -->\n${text}\n<!-- gatehouse:${name}:end -->`;

describe('description blocks', () => {
  const table: [string, string, string, string][] = [
    ['appended after the body', 'hello', '- [ ] a', `hello\n\n${block('planning', '- [ ] a')}`],
    ['an empty body is the block alone', '', '- [ ] a', block('planning', '- [ ] a')],
    ['trailing blank lines folded', 'hello\n\n\n', '- [ ] a', `hello\n\n${block('planning', '- [ ] a')}`],
    ['replaced in place', `a\n${block('planning', 'old')}\nb`, 'new', `a\n${block('planning', 'new')}\nb`],
    [
      'another block is left alone',
      block('incident-worksheet', 'w'),
      'p',
      `${block('incident-worksheet', 'w')}\n\n${block('planning', 'p')}`,
    ],
  ];
  it.each(table)('%s', (_name, body, text, want) => {
    expect(withSection(body, 'planning', text)).toBe(want);
    expect(readSection(want, 'planning')?.trim()).toBe(text);
  });

  it('a start without an end is no block', () => {
    expect(readSection('<!-- gatehouse:planning:start -->\n- [ ] a', 'planning')).toBeNull();
  });

  it('strips every Gatehouse block, nothing else', () => {
    expect(stripSections(`a\n${block('planning', 'x')}\nb\n${block('incident-worksheet', 'y')}`)).toBe('a\n\nb\n');
  });

  it('reads and sets checkboxes by position, keeping the other lines', () => {
    const text = '**Group**\n- [ ] one\n* [X] two\n  - [ ] three\nnote';
    expect(readChecklist(text)).toEqual([
      { checked: false, text: 'one' },
      { checked: true, text: 'two' },
      { checked: false, text: 'three' },
    ]);
    expect(setChecklist(text, [true, false])).toBe('**Group**\n- [x] one\n* [ ] two\n  - [ ] three\nnote');
  });
});

describe('several blocks at once', () => {
  it('withSections sets each block, appending the absent ones in order', () => {
    const body = withSection('x', 'b', 'old');
    expect(
      withSections(body, [
        { name: 'a', text: 'one' },
        { name: 'b', text: 'two' },
      ]),
    ).toBe(withSection(withSection('x', 'b', 'two'), 'a', 'one'));
    expect(withSections(body, [{ name: 'b', text: 'old' }])).toBe(body);
  });
});

describe('workflow policy sections', () => {
  it('default to ordered stages from tier 2 and the incident::follow-up-done label', () => {
    const p = policySchema.parse(defaultPolicyInput);
    expect(p.planning).toEqual({ fromTier: 2, allowReorder: false, threatDeciders: { github: [], gitlab: [] } });
    expect(p.incident).toEqual({ route: 'incident', followUpDoneLabel: 'incident::follow-up-done' });
  });

  it('refuse unknown keys and wrong types with the path named', () => {
    const r = policySchema.safeParse({ ...defaultPolicyInput, planning: { allowReorder: 'yes', reorder: true } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('planning.allowReorder');
    expect(paths.some((p) => p.startsWith('planning'))).toBe(true);
  });
});
