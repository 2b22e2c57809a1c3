/**
 * Reads an intake body (GitHub issue-form rendering or the GitLab description template):
 * `### <Label>` sections, `_No response_` for empty answers, `- [x] Option` checkboxes.
 */
import { atxHeading, checkboxItem, stripHtmlComments } from '../line-scan.ts';
import type { IntakeField, Policy } from '../policy/schema.ts';
import { capText, parserInput } from '../text.ts';
import { stripSections } from '../workflows/sections.ts';

export type AnswerValue = string | string[] | null;
export type IntakeAnswers = Record<string, AnswerValue>;

export interface IntakeProblem {
  fieldId: string;
  label: string;
  message: string;
}

export interface IntakeRecord {
  answers: IntakeAnswers;
  problems: IntakeProblem[];
  complete: boolean;
}

const NO_RESPONSE = /^_no response_$/i;
/** `### <Label>`: the text of a level-3 heading, or null. */
const heading = (line: string): string | null => {
  const h = atxHeading(line);
  return h && h.level === 3 ? h.text : null;
};
const HANDLE = /^@[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?(?:\/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const norm = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** True when the issue is an intake: it has the intake label or the form's first heading. */
export function isIntake(body: string | null | undefined, labels: readonly string[], policy: Policy): boolean {
  const intakeLabel = norm(policy.labels.intake);
  if (labels.some((l) => norm(l) === intakeLabel)) return true;
  const first = policy.intake.fields[0];
  if (!first || !body) return false;
  // The same section reading as the parser: a heading inside fenced code does not count.
  return sectionsOf(body, [first]).has(first.id);
}

/** A GitLab label quick action (`/label ~"intake"`): the template's own line, never an answer. */
const LABEL_QUICK_ACTION = /^\/(?:label|unlabel|relabel)\s+~/;

function splitLines(body: string): string[] {
  // Gatehouse's own blocks (the planning checklist, the incident worksheet) are not answers.
  return stripHtmlComments(stripSections(parserInput(body)).replace(/\r\n?/g, '\n'))
    .split('\n')
    .filter((line) => !LABEL_QUICK_ACTION.test(line));
}

/**
 * Splits the body into raw section texts keyed by field id. A heading that is not a field label stays
 * content of a long-text answer (people write `###` in them), and ends any other answer: a choice
 * or a one-line text cannot go on past a heading of the reporter's own after the form.
 */
export function sectionsOf(body: string, fields: readonly IntakeField[]): Map<string, string> {
  const byLabel = new Map(fields.map((f) => [norm(f.label), f.id]));
  const kindOf = new Map(fields.map((f) => [f.id, f.kind]));
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  let currentKind: string | undefined;
  let inFence = false;
  for (const line of splitLines(body)) {
    if (/^\s{0,3}(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : heading(line);
    const id = m !== null ? byLabel.get(norm(m)) : undefined;
    if (id !== undefined) {
      // A repeated heading keeps the first answer: later copies are usually quoted text.
      if (sections.has(id)) {
        current = null;
      } else {
        current = [];
        sections.set(id, current);
      }
      currentKind = kindOf.get(id);
      continue;
    }
    if (m !== null && currentKind !== 'longtext') current = null;
    current?.push(line);
  }
  return new Map([...sections].map(([id, lines]) => [id, lines.join('\n').trim()]));
}

function readCheckboxes(raw: string): { checked: string[]; sawList: boolean } {
  const checked: string[] = [];
  let sawList = false;
  for (const line of raw.split('\n')) {
    const m = checkboxItem(line, '-*+');
    if (!m) continue;
    sawList = true;
    if (m.mark !== ' ') checked.push(m.text);
  }
  return { checked, sawList };
}

function validDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

function readField(field: IntakeField, raw: string | undefined): { value: AnswerValue; problem: string | null } {
  const text = raw === undefined || NO_RESPONSE.test(raw.trim()) ? '' : raw.trim();
  const missing = { value: null, problem: field.required ? 'is missing' : null };
  const options = field.options ?? [];
  const normalized = options.map(norm);
  const canonical = (v: string): string | undefined => {
    const i = normalized.indexOf(norm(v));
    return i < 0 ? undefined : options[i];
  };

  if (field.kind === 'checkboxes') {
    const { checked } = readCheckboxes(text);
    if (checked.length === 0) return { value: null, problem: field.required ? 'needs at least one option ticked' : null };
    const unknown = checked.filter((c) => canonical(c) === undefined);
    if (unknown.length > 0) return { value: null, problem: `has unknown option(s): ${unknown.join(', ')}` };
    const values = [...new Set(checked.map((c) => canonical(c)!))];
    const exclusive = field.exclusiveOption ? canonical(field.exclusiveOption) : undefined;
    if (exclusive && values.includes(exclusive) && values.length > 1) {
      return { value: values, problem: `"${exclusive}" cannot be combined with other options` };
    }
    return { value: values, problem: null };
  }

  if (text === '') return missing;

  if (field.kind === 'choice') {
    // The GitHub form renders the chosen option; the GitLab template lists options as checkboxes.
    const { checked, sawList } = readCheckboxes(text);
    const picked = sawList ? checked : [text];
    if (picked.length === 0) return missing;
    if (picked.length > 1) return { value: null, problem: `takes one option, got ${picked.length}` };
    const value = canonical(picked[0]!);
    if (value === undefined) return { value: null, problem: `"${picked[0]}" is not one of: ${options.join(', ')}` };
    return { value, problem: null };
  }

  if (field.format === 'handle' && !HANDLE.test(text)) return { value: text, problem: `"${text}" is not an @handle` };
  if (field.format === 'date' && !validDate(text)) return { value: text, problem: `"${text}" is not a date (YYYY-MM-DD)` };
  return { value: text, problem: null };
}

/** The problem of a body longer than its platform stores: it is read only up to the limit. */
export const CUT_BODY_FIELD = 'body';

/**
 * Parses and validates an intake body against the policy's fields. With `limit` (the platform's
 * longest description, see `textLimit`), a longer body is read only up to it and the record is
 * incomplete, with a problem saying so: answers past the cut are never taken.
 */
export function parseIntake(body: string, fields: readonly IntakeField[], limit?: number): IntakeRecord {
  const capped = limit === undefined ? null : capText(body, limit);
  const sections = sectionsOf(capped?.text ?? body, fields);
  const answers: IntakeAnswers = {};
  const problems: IntakeProblem[] = [];
  if (capped?.cut) {
    problems.push({
      fieldId: CUT_BODY_FIELD,
      label: 'Description',
      message: `is longer than the ${capped.limit.toLocaleString('en-US')} characters the platform stores and was cut there: nothing after the cut is read`,
    });
  }
  for (const field of fields) {
    const { value, problem } = readField(field, sections.get(field.id));
    answers[field.id] = value;
    if (problem) problems.push({ fieldId: field.id, label: field.label, message: problem });
  }
  return { answers, problems, complete: problems.length === 0 };
}
