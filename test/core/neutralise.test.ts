import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/core/actions.ts';
import { plan } from '../../src/core/plan.ts';
import { neutralizeMentions, tableCell } from '../../src/core/text.ts';
import { issueEvent, planContext } from '../builders/events.ts';
import { intakeBody, type Answers } from '../builders/intake.ts';

const HOSTILE =
  'Payments @org/team @user &#64;x &#x40;y &commat;z <img src=x onerror=alert(1)> <script>alert(1)</script> <a href="javascript:alert(1)">x</a>';

const commentFor = (overrides: Answers, policyWarnings: string[] = []): string => {
  const { actions } = plan(issueEvent({ body: intakeBody(overrides) }), planContext({ policyWarnings }));
  const comment = actions.find((a): a is Extract<Action, { type: 'ensureComment' }> => a.type === 'ensureComment');
  if (!comment) throw new Error('no comment planned');
  return comment.body;
};

/** What must never reach the rendered comment from user text. */
function expectInert(body: string): void {
  // No mention: `@` directly followed by a word character (in any script).
  expect(body).not.toMatch(/@[\p{L}\p{N}_]/u);
  // No raw HTML from the payload.
  expect(body).not.toMatch(/<img/i);
  expect(body).not.toMatch(/<script/i);
  expect(body).not.toMatch(/<a\s/i);
  // No entity that a Markdown renderer would turn into `@`.
  expect(body).not.toMatch(/&(?:#0*64|#x0*40|commat);/i);
}

describe.each<{ name: string; overrides: Answers }>([
  { name: 'a complete intake with hostile text in the service name', overrides: { service: HOSTILE } },
  { name: 'an incomplete intake with hostile text in the service name and the Owner', overrides: { service: HOSTILE, owner: HOSTILE } },
  { name: 'an invalid deputy and deadline', overrides: { deputy: HOSTILE, deadline: HOSTILE, exposure: HOSTILE } },
])('the intake comment for $name', ({ overrides }) => {
  const body = commentFor(overrides);

  it('pings nobody and carries no HTML or @ entity', () => {
    expectInert(body);
  });

  it('shows the text escaped rather than dropping it', () => {
    expect(body).toContain('&amp;#64;x');
    expect(body).toContain('&amp;#x40;y');
    expect(body).toContain('&amp;commat;z');
    expect(body).toContain('&lt;img src');
    expect(body).toContain('&lt;script&gt;');
    expect(body).toContain('@\u200borg/team');
    expect(body).toContain('@\u200buser');
  });

  it('keeps the sticky marker as the only raw HTML comment', () => {
    expect(body.match(/<!--/g)).toHaveLength(1);
  });
});

it('shows an invalid Owner in the problems table, neutralised', () => {
  const body = commentFor({ owner: '@org/team <script>x</script>' });
  expect(body).toMatch(/^\| Owner \| .*@\u200borg\/team &lt;script&gt;x&lt;\/script&gt;.* \|$/m);
  expectInert(body);
});

it('keeps a multi-line or piped answer inside its table cell', () => {
  const body = commentFor({ owner: 'alice | bob\n| injected | row |' });
  const row = body.split('\n').find((l) => l.startsWith('| Owner |'));
  expect(row).toBeDefined();
  expect(body).not.toMatch(/^\| injected/m);
  expect(row).toContain('alice \\| bob');
});

it('neutralises policy warnings shown to the requester', () => {
  const body = commentFor({}, ['override by @mallory: <img src=x onerror=alert(1)> &#64;admins']);
  expectInert(body);
  expect(body).toContain('@\u200bmallory');
});

describe('text helpers', () => {
  it.each([
    ['@alice', '@\u200balice'],
    ['ping @org/team now', 'ping @\u200borg/team now'],
    ['mail a@b.c', 'mail a@\u200bb.c'],
    ['no mention', 'no mention'],
  ])('neutralizeMentions(%j)', (input, expected) => {
    expect(neutralizeMentions(input)).toBe(expected);
  });

  it.each([
    ['a | b', 'a \\| b'],
    ['line one\nline two\r\n\r\nthree', 'line one line two three'],
    ['  @x  ', '@\u200bx'],
  ])('tableCell(%j)', (input, expected) => {
    expect(tableCell(input)).toBe(expected);
  });
});
