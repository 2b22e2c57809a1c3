/** The view of the intake form that both renderings (GitHub issue form, GitLab template) share. */
import type { Policy } from '../policy/schema.ts';

export interface FormFieldView {
  id: string;
  label: string;
  description: string;
  placeholder: string | null;
  githubType: 'input' | 'textarea' | 'dropdown' | 'checkboxes';
  options: string[];
  required: boolean;
  /** The GitLab template lists a choice as checkboxes: tick exactly one. */
  hint: string;
}

export interface IntakeFormView {
  title: string;
  description: string;
  intakeLabel: string;
  intro: string;
  fields: FormFieldView[];
}

const GITHUB_TYPE = { text: 'input', longtext: 'textarea', choice: 'dropdown', checkboxes: 'checkboxes' } as const;

export function intakeFormView(policy: Policy): IntakeFormView {
  return {
    title: policy.intake.title,
    description: policy.intake.description,
    intakeLabel: policy.labels.intake,
    intro:
      'Answer every required question. Gatehouse reads the answers when the issue is opened and on every edit, ' +
      'names anything missing, and classifies the request into an engagement tier with its reasons.',
    fields: policy.intake.fields.map((f) => ({
      id: f.id,
      label: f.label,
      description: f.description,
      placeholder: f.placeholder ?? null,
      githubType: GITHUB_TYPE[f.kind],
      options: f.options ?? [],
      required: f.required,
      hint: [
        f.description,
        f.kind === 'choice' ? 'Tick exactly one.' : f.kind === 'checkboxes' ? 'Tick every one that applies.' : '',
        f.required ? 'Required.' : 'Optional.',
      ]
        .filter(Boolean)
        .join(' '),
    })),
  };
}
