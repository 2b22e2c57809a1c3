/**
 * Every parser of user-written text in Gatehouse, each as `text → is the answer well-formed`, and
 * the hostile shapes of issue 20 at 64 KB. Shared by test/core/hostile-text.test.ts and
 * bench/parsers.ts.
 */
import { parseCommand, parseItemUrl } from '../../src/core/chat/command.ts';
import { descriptionSection } from '../../src/core/gate/description.ts';
import { isExceptionRequest, parseExceptionRequest } from '../../src/core/gate/exception-request.ts';
import { isIntake, parseIntake, sectionsOf } from '../../src/core/intake/parse.ts';
import type { IssueSnapshot } from '../../src/core/model.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { capText, neutralizeMentions, tableCell } from '../../src/core/text.ts';
import { readChecklist, readSection, setChecklist, stripSections, withSection } from '../../src/core/workflows/sections.ts';
import { parseThreatDecision } from '../../src/core/workflows/threat-log.ts';
import { readToolingAnswers, toolingFormOf } from '../../src/core/workflows/tooling-forms.ts';
import { isDecideCommand, parseDecideCommand } from '../../src/core/workflows/tooling.ts';
import { translateGitHub } from '../../src/adapters/github/translate.ts';
import { translateGitLab } from '../../src/adapters/gitlab/translate.ts';
import { githubExample } from './github.ts';
import { gitlabFixture } from './gitlab.ts';

export const MAX = 64 * 1024;
const NOW = new Date('2026-12-04T12:00:00Z');
const policy = defaultPolicy;
const fields = policy.intake.fields;
const hosts = { github: ['github.com'], gitlab: ['gitlab.example.com'] };

const issue = (body: string): IssueSnapshot => ({
  ref: { repo: { platform: 'github', fullName: 'acme/app', id: 1, defaultBranch: 'main' }, number: 7 },
  title: 'Review',
  body,
  labels: [],
  state: 'open',
  author: { login: 'dev', isBot: false },
  assignees: [],
  url: 'https://github.com/acme/app/issues/7',
  createdAt: NOW.toISOString(),
});

const githubComment = (body: string): unknown => {
  const p = githubExample({ name: 'issue_comment', action: 'created' });
  (p['comment'] as Record<string, unknown>)['body'] = body;
  (p['issue'] as Record<string, unknown>)['body'] = body;
  delete (p['issue'] as Record<string, unknown>)['pull_request'];
  return p;
};
const gitlabNote = (body: string): unknown => {
  const p = gitlabFixture('note-hook-issue');
  (p['object_attributes'] as Record<string, unknown>)['note'] = body;
  (p['issue'] as Record<string, unknown>)['description'] = body;
  return p;
};

const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

/** Every parser of user text, with what a well-formed answer looks like. */
export const TEXT_PARSERS: Record<string, (text: string) => boolean> = {
  parseIntake: (t) => {
    const r = parseIntake(t, fields);
    return Object.keys(r.answers).length === fields.length && r.complete === (r.problems.length === 0);
  },
  isIntake: (t) => typeof isIntake(t, [], policy) === 'boolean',
  sectionsOf: (t) => [...sectionsOf(t, fields).values()].every((v) => typeof v === 'string'),
  descriptionSection: (t) => {
    const s = descriptionSection(t, ['Rollback', 'Rollback plan']);
    return s === null || (s !== '' && s === s.trim());
  },
  stripSections: (t) => stripSections(t).length <= t.length,
  readSection: (t) => isStringOrNull(readSection(t, 'planning')),
  withSection: (t) => readSection(withSection(t, 'hostile-test', '- [ ] one'), 'hostile-test') !== null,
  readChecklist: (t) => readChecklist(t).every((i) => typeof i.checked === 'boolean' && !i.text.includes('\n')),
  setChecklist: (t) => typeof setChecklist(t, [true, false, true]) === 'string',
  toolingFormOf: (t) => [null, 'request', 'handover'].includes(toolingFormOf({ labels: [], body: t }, policy)),
  readToolingAnswers: (t) => Object.values(readToolingAnswers(t, 'request')).every((v) => typeof v === 'string' && v !== ''),
  decideCommand: (t) => typeof isDecideCommand(t) === 'boolean' && typeof parseDecideCommand(t, 'request').ok === 'boolean',
  parseThreatDecision: (t) => isStringOrNull(parseThreatDecision(t)),
  exceptionRequest: (t) =>
    typeof isExceptionRequest({ body: t, labels: [] }, policy) === 'boolean' &&
    Array.isArray(parseExceptionRequest(issue(t), policy, NOW).problems),
  chatCommand: (t) => typeof parseCommand(t, '/gatehouse', hosts).kind === 'string',
  chatItemUrl: (t) =>
    parseItemUrl(`https://github.com/${t}`, hosts) !== undefined && parseItemUrl(`https://gitlab.example.com/${t}`, hosts) !== undefined,
  text: (t) => !tableCell(t).includes('\n') && neutralizeMentions(t).length >= t.length,
  capText: (t) => capText(t, 1000).text.length <= t.length,
  translateGitHub: (t) =>
    ['event', 'ignored', 'invalid'].includes(translateGitHub('issue_comment', 'd', githubComment(t), 'gatehouse[bot]').kind),
  translateGitLab: (t) => ['event', 'ignored', 'invalid'].includes(translateGitLab('Note Hook', 'd', gitlabNote(t), 'gatehouse-bot').kind),
};

/** `prefix`, then `unit` repeated, then `suffix`: exactly `size` characters (the unit run fills the rest). */
const fill = (prefix: string, unit: string, suffix: string, size = MAX): string =>
  prefix + unit.repeat(Math.max(0, Math.floor((size - prefix.length - suffix.length) / unit.length))) + suffix;

/** The shapes that made backtracking patterns super-linear, each 64 KB. */
export const HOSTILE_SHAPES: Record<string, string> = {
  'heading, spaces, x': fill('### a', ' ', 'x'),
  'heading, tabs, U+2028': fill('## Rollback', '\t', '\u2028x'),
  'heading, space-hash runs': fill('### a', ' #', 'x'),
  'checkbox, spaces, U+2028': fill('### Identity or access changes\n- [x] a', ' ', '\u2028b'),
  'HTML comment openings': fill('', '<!--', ''),
  'comment openings, then a close': fill('', '<!--', '-->'),
  'block starts without an end': fill('', '<!-- gatehouse:planning:start -->', ''),
  'block starts, many names': Array.from({ length: 2000 }, (_, i) => `<!-- gatehouse:n${i}:start -->`)
    .join('')
    .slice(0, MAX),
  'spaces inside a body': fill('a', ' ', 'b'),
  'blank lines': fill('', '\n', 'x'),
  'CRLF blank lines': fill('', '\r\n', 'x'),
  'decide command, blank lines': fill('/gatehouse', '\n', 'x'),
  'threat decision, spaces, U+2028': fill('/gatehouse threat-decision', ' ', '\u2028x'),
  'template comment, spaces': fill('<!--', ' ', 'x'),
  'URL, slashes': fill('acme/app/issues/1', '/', 'x'),
  hashes: fill('', '#', ''),
  'headings, one a line': fill('', '### a   #  x\n', ''),
  'checkboxes, one a line': fill('### Identity or access changes\n', '- [x]  a  \u2028 \n', ''),
  'fences and headings': fill('', '```\n### Rollback\n', ''),
  'pipes and mentions': fill('', '|@a`', ''),
  'one long word': fill('status ', 'x', ''),
};
