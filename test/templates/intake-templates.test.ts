import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXPORT_PATHS } from '../../src/cli.ts';
import { intakeFormView } from '../../src/core/intake/form.ts';
import { parseIntake } from '../../src/core/intake/parse.ts';
import { defaultPolicy, parsePolicy } from '../../src/core/policy/load.ts';
import { createRenderer } from '../../src/render/templates.ts';
import { CONTRACT_FIELDS } from '../builders/contract.ts';
import { answers, githubBody, gitlabBody, type Answers } from '../builders/intake.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA_PATH = new URL('../fixtures/schemas/github-issue-forms.json', import.meta.url);

const render = createRenderer();
const view = intakeFormView(defaultPolicy);
const githubForm = render('intake/github-issue-form.yml', view);
const gitlabTemplate = render('intake/gitlab-issue-template.md', view);

interface FormItem {
  type: string;
  id?: string;
  attributes: { label?: string; value?: string; description?: string; options?: (string | { label: string })[] };
  validations?: { required?: boolean };
}
interface Form {
  name: string;
  description: string;
  labels: string[];
  body: FormItem[];
}
const form = parseYaml(githubForm) as Form;
const fieldItems = form.body.filter((i) => i.type !== 'markdown');
const optionLabels = (i: FormItem): string[] => (i.attributes.options ?? []).map((o) => (typeof o === 'string' ? o : o.label));

const GITHUB_TYPE = { text: 'input', 'long text': 'textarea', choice: 'dropdown', checkboxes: 'checkboxes' } as const;

describe('the GitHub issue form', () => {
  it('validates against the issue-forms JSON schema', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(form);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema catches a broken form (so the check above means something)', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const broken = structuredClone(form);
    broken.body[1]!.type = 'select';
    expect(validate(broken)).toBe(false);
  });

  it('has a name, a description and applies the intake label', () => {
    expect(form.name).toBe(defaultPolicy.intake.title);
    expect(form.description).toBe(defaultPolicy.intake.description);
    expect(form.labels).toContain('intake');
  });

  it('gives every item a type, and every field an id, a label and validations', () => {
    for (const item of form.body) {
      expect(item.type).toMatch(/^(markdown|input|textarea|dropdown|checkboxes)$/);
      if (item.type === 'markdown') continue;
      expect(item.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(item.attributes.label).toBeTruthy();
      // GitHub takes no top-level validations on checkboxes (only per option, which would force every box).
      if (item.type === 'checkboxes') expect(item.validations).toBeUndefined();
      else expect(typeof item.validations?.required).toBe('boolean');
    }
    const ids = fieldItems.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has the contract labels, in the contract order', () => {
    expect(fieldItems.map((i) => i.attributes.label)).toEqual(CONTRACT_FIELDS.map((f) => f.label));
  });

  it.each(CONTRACT_FIELDS.map((f, index) => ({ ...f, index })))('$label: $kind, options and required flag as in the contract', ({ index, kind, options, required }) => {
    const item = fieldItems[index]!;
    expect(item.type).toBe(GITHUB_TYPE[kind]);
    expect(optionLabels(item)).toEqual(options);
    // A required checkbox on GitHub would force that box; "at least one" is checked by Gatehouse.
    if (kind === 'checkboxes') expect(item.attributes.options?.some((o) => typeof o === 'object' && 'required' in o)).toBe(false);
    else expect(item.validations?.required).toBe(required);
  });

  it('writes policy text as safe YAML scalars', () => {
    const policy = parsePolicy(['intake:', '  title: "Review: #1 \'quoted\' {braces} [x]"', '  description: "line one\\nline two: yes"', '  fields:', '    - { id: a, label: "- tricky: label #", kind: choice, options: ["yes", "no: really", "@here"] }', 'routing:', '  rules: []', ''].join('\n'));
    if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
    const custom = parseYaml(render('intake/github-issue-form.yml', intakeFormView(policy.policy))) as Form;
    expect(custom.name).toBe("Review: #1 'quoted' {braces} [x]");
    expect(custom.description).toBe('line one\nline two: yes');
    expect(custom.body[1]?.attributes.label).toBe('- tricky: label #');
    expect(optionLabels(custom.body[1]!)).toEqual(['yes', 'no: really', '@here']);
  });
});

describe('round trip: answers → body GitHub renders → parseIntake → the same answers', () => {
  const sets: { name: string; overrides: Answers }[] = [
    { name: 'base answers, optional fields empty', overrides: {} },
    {
      name: 'every field answered, several checkboxes ticked',
      overrides: {
        service: 'Ledger (EU region)',
        owner: '@acme/payments',
        deputy: '@bob',
        environment: 'non-prod',
        trust_tier: 'partner',
        reason: 'Partners can now call the ledger.\n\n- new OAuth client\n- new scopes',
        exposure: 'existing endpoint changed',
        data_sensitivity: 'confidential',
        identity_changes: ['Authentication change', 'Authorization change', 'Tenant boundary change', 'IAM or role-trust change', 'Network exposure change', 'Privileged automation change'],
        golden_path: 'no',
        blast_radius: 'multiple services',
        active_exploitation: 'no',
        links: 'https://github.com/acme/ledger/pull/9\nhttps://acme.test/design/ledger-partners',
        deadline: '2027-03-01',
        business_event: 'Partner launch',
      },
    },
    {
      name: 'public, restricted, exploited',
      overrides: { trust_tier: 'public', exposure: 'new public endpoint', data_sensitivity: 'restricted', identity_changes: ['Network exposure change', 'Privileged automation change'], golden_path: 'yes', blast_radius: 'multiple products or trust domains', active_exploitation: 'yes', deadline: '2026-11-30' },
    },
    { name: 'text that looks like markup', overrides: { reason: 'We use `### Owner` in docs? No: *bold* and - [x] lists\n> quoted', links: '- [ ] not a field' } },
  ];

  it.each(sets)('$name', ({ overrides }) => {
    const expected = answers(overrides);
    const record = parseIntake(githubBody({ answers: expected }), defaultPolicy.intake.fields);
    expect(record.problems).toEqual([]);
    expect(record.answers).toEqual(expected);
  });

  it.each(sets)('the GitLab template filled in: $name', ({ overrides }) => {
    const expected = answers(overrides);
    const record = parseIntake(gitlabBody({ answers: expected, template: gitlabTemplate }), defaultPolicy.intake.fields);
    expect(record.problems).toEqual([]);
    expect(record.answers).toEqual(expected);
  });

  it('the form field ids are the policy field ids the parser answers by', () => {
    expect(fieldItems.map((i) => i.id)).toEqual(defaultPolicy.intake.fields.map((f) => f.id));
  });
});

describe('the GitLab description template', () => {
  const headings = gitlabTemplate
    .split('\n')
    .filter((l) => l.startsWith('### '))
    .map((l) => l.slice(4));

  it('has every contract label as a `### Label` heading, in order', () => {
    expect(headings).toEqual(CONTRACT_FIELDS.map((f) => f.label));
  });

  it('lists the options of every choice and checkbox field as unticked boxes', () => {
    for (const f of CONTRACT_FIELDS) {
      const section = gitlabTemplate.split(`### ${f.label}\n`)[1]!.split('\n### ')[0]!;
      const boxes = section.split('\n').filter((l) => l.startsWith('- [ ] ')).map((l) => l.slice(6));
      expect(boxes, f.label).toEqual(f.options);
    }
  });

  it('applies the intake label with a quick action', () => {
    expect(gitlabTemplate).toMatch(/^\/label ~"intake"$/m);
  });

  it('keeps its guidance in HTML comments, which the parser ignores', () => {
    expect(gitlabTemplate).toContain('<!--');
    expect(parseIntake(gitlabTemplate, defaultPolicy.intake.fields).answers['service']).toBeNull();
  });
});

describe('the committed copies in the repository', () => {
  it.each([
    { path: EXPORT_PATHS.github, expected: githubForm },
    { path: EXPORT_PATHS.gitlab, expected: gitlabTemplate },
  ])('$path equals the current export (run `node bin/gatehouse.js templates export --out .`)', ({ path, expected }) => {
    const full = `${ROOT}${path}`;
    expect(existsSync(full), `${path} is missing`).toBe(true);
    expect(readFileSync(full, 'utf8')).toBe(expected);
  });
});
