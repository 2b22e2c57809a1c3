/**
 * Intake bodies as the platforms produce them.
 *
 * - `githubBody` renders answers the way GitHub renders a submitted issue form: `### Label`,
 *   a blank line, the value, a blank line; `_No response_` for an empty answer; checkboxes list
 *   every option as `- [X] Option` / `- [ ] Option`.
 * - `gitlabBody` fills the exported GitLab description template the way a person would: text
 *   written under the heading, `- [ ]` turned into `- [x]` for the chosen options. GitLab runs
 *   and strips quick actions (`/label …`) when the issue is saved, so they are gone from the body.
 */
import { intakeFormView } from '../../src/core/intake/form.ts';
import type { AnswerValue, IntakeAnswers } from '../../src/core/intake/parse.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import type { IntakeField } from '../../src/core/policy/schema.ts';
import { createRenderer } from '../../src/render/templates.ts';

export type Answers = Record<string, AnswerValue>;

/** A complete intake on which no routing rule fires: tier 1 (advisory) by default. */
export const baseAnswers: Readonly<IntakeAnswers> = Object.freeze({
  service: 'payments-api',
  owner: '@alice',
  deputy: '@acme/platform-team',
  environment: 'prod',
  trust_tier: 'internal',
  reason: 'Adding a refund endpoint to the internal API.',
  exposure: 'none',
  data_sensitivity: 'internal',
  identity_changes: ['None'],
  golden_path: 'no',
  blast_radius: 'single service',
  active_exploitation: 'no',
  links: null,
  deadline: null,
  business_event: null,
  service_line: null,
});

/** `baseAnswers` with some answers replaced. */
export const answers = (overrides: Answers = {}): IntakeAnswers => ({ ...baseAnswers, ...overrides });

function githubValue(field: IntakeField, value: AnswerValue | undefined): string {
  if (field.kind === 'checkboxes') {
    const ticked = new Set(value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]);
    return (field.options ?? []).map((o) => `- [${ticked.has(o) ? 'X' : ' '}] ${o}`).join('\n');
  }
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return '_No response_';
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The body GitHub renders for an issue-form submission. */
export function githubBody({
  answers: given,
  fields = defaultPolicy.intake.fields,
  omit = [],
  label = (f) => f.label,
  eol = '\n',
}: {
  answers: Answers;
  fields?: readonly IntakeField[];
  /** Field ids whose section is left out altogether. */
  omit?: readonly string[];
  /** How each heading is spelled (to test case and whitespace tolerance). */
  label?: (field: IntakeField) => string;
  eol?: '\n' | '\r\n';
}): string {
  return fields
    .filter((f) => !omit.includes(f.id))
    .map((f) => `### ${label(f)}\n\n${githubValue(f, given[f.id])}`)
    .join('\n\n')
    .replace(/\n/g, eol);
}

/** A GitHub-rendered body of `baseAnswers` with some answers replaced. */
export const intakeBody = (overrides: Answers = {}): string => githubBody({ answers: answers(overrides) });

/** The GitLab description template as `gatehouse templates export` writes it for the default policy. */
export const gitlabTemplate = (): string => createRenderer()('intake/gitlab-issue-template.md', intakeFormView(defaultPolicy));

/** Fills the GitLab template like a person: text under headings, `[x]` on the chosen options. */
export function gitlabBody({
  answers: given,
  template = gitlabTemplate(),
  fields = defaultPolicy.intake.fields,
  tick = 'x',
}: {
  answers: Answers;
  template?: string;
  fields?: readonly IntakeField[];
  tick?: 'x' | 'X';
}): string {
  const byLabel = new Map(fields.map((f) => [f.label, f]));
  const out: string[] = [];
  let current: IntakeField | undefined;
  for (const line of template.split('\n')) {
    const heading = /^### (.+)$/.exec(line);
    if (heading) current = byLabel.get(heading[1]!);
    if (/^\/[a-z_]+\b/.test(line)) continue; // quick actions: executed and removed by GitLab
    const box = /^- \[ \] (.+)$/.exec(line);
    if (box && current) {
      const value = given[current.id];
      const chosen = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
      out.push(chosen.includes(box[1]!) ? `- [${tick}] ${box[1]}` : line);
      continue;
    }
    out.push(line);
    // Free text goes right under the hint comment that follows the heading.
    if (current && /^<!--.*-->$/.test(line) && (current.kind === 'text' || current.kind === 'longtext')) {
      const value = given[current.id];
      if (typeof value === 'string' && value !== '') out.push(value);
    }
  }
  return out.join('\n');
}
