/**
 * Hostile text against every parser of user-written text: bodies built from the atoms that make
 * backtracking patterns blow up (`###`, `#`, runs of spaces and tabs, `- [x]`, `<!--`, `-->`,
 * `/gatehouse`, `\r`, `\n`, U+2028, backticks, `|`), up to 64 KB. Each parser must finish within
 * a generous bound and return a well-formed result; the shapes reported in issue 20 are pinned as
 * regression cases. The line readers are also checked against the patterns they replace, on
 * inputs small enough for those patterns.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { descriptionSection } from '../../src/core/gate/description.ts';
import { sectionsOf } from '../../src/core/intake/parse.ts';
import { atxHeading, checkboxItem, stripHtmlComments } from '../../src/core/line-scan.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { capText } from '../../src/core/text.ts';
import { stripSections } from '../../src/core/workflows/sections.ts';
import { HOSTILE_SHAPES, MAX, TEXT_PARSERS } from '../support/text-parsers.ts';

const BOUND_MS = 200;
const fields = defaultPolicy.intake.fields;
/** Runs the parser once and returns the elapsed milliseconds, failing when its answer is malformed. */
function timed(name: string, text: string): number {
  const started = performance.now();
  const wellFormed = TEXT_PARSERS[name]!(text);
  const ms = performance.now() - started;
  expect(wellFormed, `${name} returned a malformed result`).toBe(true);
  return ms;
}

const ATOMS = [
  '###',
  '#',
  ' ',
  '  ',
  '\t',
  '- [x] ',
  '- [ ]',
  '* [X]',
  '<!--',
  '-->',
  '<!-- gatehouse:planning:start -->',
  '<!-- gatehouse:planning:end -->',
  '/gatehouse ',
  'decide',
  'threat-decision',
  '\r',
  '\n',
  '\r\n',
  '\u2028',
  '```',
  '~~~',
  '`',
  '|',
  ':',
  '@',
  'x',
  'a',
  'Rollback',
  'Service or system name',
  '_No response_',
];

/** A text of runs of dangerous atoms, some very long, cut at 64 KB. */
const hostileText = fc
  .array(fc.tuple(fc.constantFrom(...ATOMS), fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 100, max: 20_000 }))), {
    minLength: 1,
    maxLength: 40,
  })
  .map((runs) =>
    runs
      .map(([atom, n]) => atom.repeat(n))
      .join('')
      .slice(0, MAX),
  );

describe('every parser of user text finishes in linear time on hostile text', () => {
  it.each(Object.keys(TEXT_PARSERS))('%s', (name) => {
    fc.assert(
      fc.property(hostileText, (text) => {
        expect(timed(name, text)).toBeLessThan(BOUND_MS);
      }),
      { numRuns: 25, seed: 20 },
    );
  });
});

const spaces = (n: number): string => ' '.repeat(n);

/** The shapes reported in issue 20, and the other shapes that were slow before. */
const REGRESSIONS: [string, string][] = [
  ['`### a`, 3,000 spaces, `x`', `### a${spaces(3_000)}x`],
  ['`### a`, 8,000 spaces, `x`', `### a${spaces(8_000)}x`],
  ['`### a`, 60,000 spaces, `x`', `### a${spaces(60_000)}x`],
  ['20,000 `<!--`', '<!--'.repeat(20_000)],
  ['a checkbox with 60,000 spaces before a U+2028', `### Identity or access changes\n- [x] a${spaces(60_000)}\u2028b`],
  ['2,000 Gatehouse block starts without an end', '<!-- gatehouse:planning:start -->'.repeat(2_000)],
  ['60,000 spaces inside a body before a block is added', `a${spaces(60_000)}b`],
  ['a decide command after 60,000 blank lines that never comes', `${'\n'.repeat(60_000)}x`],
  ['a threat decision with 60,000 spaces before a U+2028', `/gatehouse threat-decision${spaces(60_000)}\u2028x`],
  ['a GitLab template comment opening with 60,000 spaces', `<!--${spaces(60_000)}x`],
  ['a URL with 60,000 slashes', `acme/app/issues/1${'/'.repeat(60_000)}x`],
];

describe('regression: the reported shapes', () => {
  it.each(Object.entries(HOSTILE_SHAPES))('64 KB: %s', (_, text) => {
    for (const name of Object.keys(TEXT_PARSERS)) expect(timed(name, text), name).toBeLessThan(BOUND_MS);
  });

  it.each(REGRESSIONS)('%s', (_, text) => {
    for (const name of Object.keys(TEXT_PARSERS)) expect(timed(name, text), name).toBeLessThan(BOUND_MS);
  });

  it('still reads a heading that a long run of spaces follows', () => {
    expect(descriptionSection(`## Rollback${spaces(4_000)}\nrevert the deploy`, ['Rollback'])).toBe('revert the deploy');
    // A line longer than 4,096 characters is content, never a heading.
    expect(descriptionSection(`## Rollback${spaces(5_000)}\nrevert the deploy`, ['Rollback'])).toBeNull();
    expect(sectionsOf(`### Service or system name${spaces(4_000)}#\npayments-api`, fields).get('service')).toBe('payments-api');
  });
});

describe('the line readers read exactly like the patterns they replace', () => {
  const SMALL = [
    '#',
    '###',
    '####',
    '#######',
    ' ',
    '\t',
    '\u00a0',
    '\u2028',
    '\r',
    'x',
    'ab',
    '-',
    '*',
    '+',
    '[',
    ']',
    '[x]',
    '[ ]',
    '[X]',
    '- [x] ',
    '* [ ] ',
    ':',
    '<!--',
    '-->',
    '-',
    '>',
    '<',
  ];
  const small = fc.array(fc.constantFrom(...SMALL), { maxLength: 24 }).map((a) => a.join(''));
  const props = { numRuns: 3000, seed: 7 };

  it('atxHeading', () => {
    const any = /^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$/;
    const maybeEmpty = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
    fc.assert(
      fc.property(small, (line) => {
        const m = any.exec(line);
        expect(atxHeading(line)).toEqual(m ? { level: m[1]!.length, text: m[2] } : null);
        const e = maybeEmpty.exec(line);
        expect(atxHeading(line, true)).toEqual(e ? { level: e[1]!.length, text: e[2] } : null);
      }),
      props,
    );
  });

  it('checkboxItem', () => {
    const intake = /^\s*[-*+]\s+\[([ xX])\]\s+(.+?)\s*$/;
    const block = /^(\s*[-*+]\s+\[)([ xX])(\]\s+)(.*?)\s*$/;
    const tooling = /^\s*[-*]\s+\[([ xX])\]\s+(.*?)\s*$/;
    fc.assert(
      fc.property(small, (line) => {
        const i = intake.exec(line);
        const a = checkboxItem(line, '-*+');
        expect(a ? [a.mark, a.text] : null).toEqual(i ? [i[1], i[2]] : null);
        const b = block.exec(line);
        const c = checkboxItem(line, '-*+', true);
        expect(c ? [c.prefix, c.mark, c.gap, c.text] : null).toEqual(b ? [b[1], b[2], b[3], b[4]] : null);
        const t = tooling.exec(line);
        const d = checkboxItem(line, '-*', true);
        expect(d ? [d.mark, d.text] : null).toEqual(t ? [t[1], t[2]] : null);
      }),
      props,
    );
  });

  it('stripHtmlComments and stripSections', () => {
    const pieces = [
      '<!--',
      '-->',
      '<!-->',
      'x',
      '\n',
      '<!-- gatehouse:a:start -->',
      '<!-- gatehouse:a:end -->',
      '<!-- gatehouse:b-2:start -->',
      '<!-- gatehouse:b-2:end -->',
      '<!-- gatehouse:ab:end -->',
      '<!-- gatehouse:A:start -->',
    ];
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 16 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, (t) => {
        expect(stripHtmlComments(t)).toBe(t.replace(/<!--[\s\S]*?-->/g, ''));
        expect(stripSections(t)).toBe(t.replace(/<!-- gatehouse:([a-z][a-z0-9-]*):start -->[\s\S]*?<!-- gatehouse:\1:end -->/g, ''));
      }),
      props,
    );
  });
});

describe('capText', () => {
  it.each([
    ['short text is kept', 'abc', 5, 'abc', false],
    ['exactly the limit is kept', 'abcde', 5, 'abcde', false],
    ['longer text is cut at the limit', 'abcdef', 5, 'abcde', true],
    ['astral characters count once', '🌈🌈🌈', 3, '🌈🌈🌈', false],
    ['astral characters are never split', '🌈🌈🌈🌈', 3, '🌈🌈🌈', true],
  ])('%s', (_, text, limit, kept, cut) => {
    expect(capText(text, limit)).toEqual({ text: kept, cut, limit });
  });
});
