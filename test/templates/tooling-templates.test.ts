import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exportToolingTemplates, TOOLING_EXPORT_PATHS } from '../../src/cli.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { readToolingAnswers, toolingFormOf, toolingFormView } from '../../src/core/workflows/tooling-forms.ts';
import { createRenderer } from '../../src/render/templates.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA_PATH = new URL('../fixtures/schemas/github-issue-forms.json', import.meta.url);
const render = createRenderer();
const rendered = (kind: 'request' | 'handover') => {
  const view = toolingFormView(kind, defaultPolicy);
  return { github: render('intake/github-issue-form.yml', view), gitlab: render('intake/gitlab-issue-template.md', view) };
};

describe.each(['request', 'handover'] as const)('the tooling %s templates', (kind) => {
  const { github, gitlab } = rendered(kind);
  const label = kind === 'request' ? 'tooling::request' : 'tooling::handover';

  it('are committed as rendered from the default policy (one source for both platforms)', async () => {
    expect(readFileSync(`${ROOT}${TOOLING_EXPORT_PATHS[kind].github}`, 'utf8')).toBe(github);
    expect(readFileSync(`${ROOT}${TOOLING_EXPORT_PATHS[kind].gitlab}`, 'utf8')).toBe(gitlab);
    const exported = await exportToolingTemplates(undefined);
    expect(exported.find((f) => f.path === TOOLING_EXPORT_PATHS[kind].github)?.text).toBe(github);
  });

  it('the GitHub form validates against the issue-forms schema and applies its label', () => {
    const form = parseYaml(github) as { labels: string[] };
    const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>);
    validate(form);
    expect(validate.errors ?? []).toEqual([]);
    expect(form.labels).toEqual([label]);
  });

  it('a GitLab description from the template is recognised without its label, and its answers read back', () => {
    expect(gitlab).toContain(`/label ~"${label}"`);
    const filled = gitlab.replace('### Tool name\n', '### Tool name\nsecret-sweeper\n').replace('- [ ] high', '- [x] high');
    expect(toolingFormOf({ labels: [], body: filled }, defaultPolicy)).toBe(kind);
    expect(readToolingAnswers(filled, kind)).toEqual({ tool: 'secret-sweeper', criticality: 'high' });
  });
});

describe('renamed labels', () => {
  it('follow the policy', () => {
    const policy = { ...defaultPolicy, tooling: { ...defaultPolicy.tooling, requestLabel: 'ask::tool' } };
    expect(render('intake/github-issue-form.yml', toolingFormView('request', policy))).toContain('labels: ["ask::tool"]');
  });
});
