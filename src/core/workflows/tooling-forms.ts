/**
 * The two intake forms of the tooling lifecycle — a net-new tooling request and an ownership
 * handover — from one source: the GitHub issue form and the GitLab description template are
 * rendered from these definitions, and the answers are read back by the same labels.
 */
import type { IntakeFormView } from '../intake/form.ts';
import { atxHeading, checkboxItem, isSpace, stripHtmlComments } from '../line-scan.ts';
import type { IssueSnapshot } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { parserInput } from '../text.ts';
import { stripSections } from './sections.ts';

export type ToolingFormKind = 'request' | 'handover';

export interface ToolingField {
  id: string;
  label: string;
  type: 'input' | 'textarea' | 'dropdown';
  description: string;
  required: boolean;
  options?: readonly string[];
}

export interface ToolingForm {
  kind: ToolingFormKind;
  /** The form's name and the GitLab template's first heading (how a description is recognised). */
  title: string;
  description: string;
  /** GitHub form file / GitLab template file names (without extension). */
  githubFile: string;
  gitlabFile: string;
  fields: readonly ToolingField[];
}

const CRITICALITY_OPTIONS = ['critical', 'high', 'medium', 'low'] as const;

const toolField: ToolingField = {
  id: 'tool',
  label: 'Tool name',
  type: 'input',
  description: 'Lower-case, as in the tool::<name> label (letters, digits, dots, dashes).',
  required: true,
};

export const TOOLING_FORMS: Readonly<Record<ToolingFormKind, ToolingForm>> = {
  request: {
    kind: 'request',
    title: 'Net-new tooling request',
    description: 'Ask Product Security Engineering for a new security tool. A decider answers with /gatehouse decide.',
    githubFile: 'tooling-request',
    gitlabFile: 'Tooling request',
    fields: [
      toolField,
      {
        id: 'problem',
        label: 'Problem to solve',
        type: 'textarea',
        description: 'What security problem the tool solves, and for whom.',
        required: true,
      },
      { id: 'users', label: 'Who will use it', type: 'textarea', description: 'Teams and people who would use it.', required: true },
      {
        id: 'criticality',
        label: 'Requested criticality',
        type: 'dropdown',
        description: 'How bad an outage of the tool would be; sets its SLO/RTO once decided.',
        required: true,
        options: CRITICALITY_OPTIONS,
      },
      {
        id: 'repos',
        label: 'Repositories',
        type: 'textarea',
        description: 'Repositories (owner/name or project path) whose issues belong to the tool, one a line.',
        required: false,
      },
      { id: 'owners', label: 'Proposed owners', type: 'input', description: 'Who would own it (comma-separated).', required: false },
      {
        id: 'alternatives',
        label: 'Alternatives considered',
        type: 'textarea',
        description: 'Existing tools, product features or self-serve options you looked at.',
        required: false,
      },
    ],
  },
  handover: {
    kind: 'handover',
    title: 'Ownership handover',
    description: 'Hand a tool over to Product Security Engineering. A decider answers with /gatehouse decide.',
    githubFile: 'tooling-handover',
    gitlabFile: 'Tooling handover',
    fields: [
      toolField,
      { id: 'current-owner', label: 'Current owner', type: 'input', description: 'The team handing the tool over.', required: true },
      { id: 'reason', label: 'Reason for the handover', type: 'textarea', description: 'Why the tool changes hands now.', required: true },
      {
        id: 'criticality',
        label: 'Current criticality',
        type: 'dropdown',
        description: 'How bad an outage of the tool is today.',
        required: true,
        options: CRITICALITY_OPTIONS,
      },
      { id: 'users', label: 'Users and dependants', type: 'textarea', description: 'Who relies on it.', required: true },
      {
        id: 'docs',
        label: 'Runbooks and documentation',
        type: 'textarea',
        description: 'Links to runbooks, architecture and known issues.',
        required: false,
      },
      {
        id: 'repos',
        label: 'Repositories',
        type: 'textarea',
        description: 'Repositories whose issues belong to the tool, one a line.',
        required: false,
      },
    ],
  },
};

const lower = (s: string): string => s.trim().toLowerCase();
/** The text of a heading of any level (`.*?`: it may be empty), or null. */
const headingText = (line: string): string | null => atxHeading(line, true)?.text ?? null;

/** The title of the GitLab template's opening comment, `<!-- <title>: <description> -->`, or null. */
function openingTitle(body: string): string | null {
  // As `/^\s*<!--\s*([^:\n]+):/`, in one pass.
  const open = body.length - body.trimStart().length;
  if (!body.startsWith('<!--', open)) return null;
  let i = open + 4;
  while (i < body.length && isSpace(body.charCodeAt(i))) i++;
  const from = i;
  while (i < body.length && body[i] !== ':' && body[i] !== '\n') i++;
  return body[i] === ':' ? body.slice(from, i) : null;
}

/** Which tooling form an issue is: by its label (policy `tooling.requestLabel` / `handoverLabel`), else by its first heading. */
export function toolingFormOf(issue: Pick<IssueSnapshot, 'labels' | 'body'>, policy: Policy): ToolingFormKind | null {
  const labels = issue.labels.map(lower);
  if (labels.includes(lower(policy.tooling.requestLabel))) return 'request';
  if (labels.includes(lower(policy.tooling.handoverLabel))) return 'handover';
  const body = stripSections(parserInput(issue.body ?? '')).replace(/\r\n?/g, '\n');
  // The GitLab template opens with `<!-- <title>: <description> -->`.
  const opening = openingTitle(body);
  for (const form of Object.values(TOOLING_FORMS)) if (opening !== null && lower(opening) === lower(form.title)) return form.kind;
  for (const line of body.split('\n')) {
    const m = headingText(line);
    if (m === null) continue;
    const text = lower(m);
    for (const form of Object.values(TOOLING_FORMS)) if (text === lower(form.title)) return form.kind;
    return null;
  }
  return null;
}

/** The form's answers by field id (`_No response_` and empty answers left out). */
export function readToolingAnswers(body: string, kind: ToolingFormKind): Record<string, string> {
  const byLabel = new Map(TOOLING_FORMS[kind].fields.map((f) => [lower(f.label), f.id]));
  const out: Record<string, string> = {};
  let current: string | null = null;
  let lines: string[] = [];
  const flush = (): void => {
    if (current === null) return;
    // GitLab takes `/label ~"…"` quick actions out when the issue is made; an unapplied one is no answer.
    const text = stripHtmlComments(lines.filter((l) => !/^\/label\s+~/.test(l.trim())).join('\n')).trim();
    // A choice in the GitLab template is a list of checkboxes: the ticked ones are the answer.
    const boxes = text.split('\n').map((l) => checkboxItem(l, '-*', true));
    const value =
      boxes.length > 0 && boxes.every((b) => b !== null)
        ? boxes
            .filter((b) => b!.mark !== ' ')
            .map((b) => b!.text)
            .join(', ')
        : text;
    if (value !== '' && value !== '_No response_') out[current] = value;
  };
  for (const line of stripSections(parserInput(body)).replace(/\r\n?/g, '\n').split('\n')) {
    const m = headingText(line);
    if (m !== null) {
      flush();
      current = byLabel.get(lower(m)) ?? null;
      lines = [];
      continue;
    }
    if (current !== null) lines.push(line);
  }
  flush();
  return out;
}

/** What the templates render (the same GitHub issue form and GitLab description templates as the security review). */
export function toolingFormView(kind: ToolingFormKind, policy: Pick<Policy, 'tooling'>): IntakeFormView {
  const form = TOOLING_FORMS[kind];
  const deciders =
    "A tooling decider answers with `/gatehouse decide …`, which sets the tool's path forward, criticality and SLO/RTO in the inventory.";
  return {
    title: form.title,
    description: form.description,
    intakeLabel: kind === 'request' ? policy.tooling.requestLabel : policy.tooling.handoverLabel,
    intro: `Answer every required question. ${deciders}`,
    fields: form.fields.map((f) => ({
      id: f.id,
      label: f.label,
      description: f.description,
      placeholder: null,
      githubType: f.type,
      options: f.options ? [...f.options] : [],
      required: f.required,
      hint: [f.description, f.type === 'dropdown' ? 'Tick exactly one.' : '', f.required ? 'Required.' : 'Optional.']
        .filter(Boolean)
        .join(' '),
    })),
  };
}
