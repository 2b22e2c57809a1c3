import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXCEPTION_EXPORT_PATHS } from '../../src/cli.ts';
import { exceptionFormView, parseExceptionRequest } from '../../src/core/gate/exception-request.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { createRenderer } from '../../src/render/templates.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA_PATH = new URL('../fixtures/schemas/github-issue-forms.json', import.meta.url);
const render = createRenderer();
const view = exceptionFormView(defaultPolicy);
const github = render('intake/github-issue-form.yml', view);
const gitlab = render('intake/gitlab-issue-template.md', view);

describe('the exception request templates', () => {
  it('are committed as rendered from the default policy (one source for both platforms)', () => {
    expect(readFileSync(`${ROOT}${EXCEPTION_EXPORT_PATHS.github}`, 'utf8')).toBe(github);
    expect(readFileSync(`${ROOT}${EXCEPTION_EXPORT_PATHS.gitlab}`, 'utf8')).toBe(gitlab);
  });

  it('the GitHub form validates against the issue-forms schema and applies the request label', () => {
    const form = parseYaml(github) as { labels: string[] };
    const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>);
    validate(form);
    expect(validate.errors ?? []).toEqual([]);
    expect(form.labels).toEqual(['exception']);
  });

  it('a GitLab description filled in from the template parses into a request', () => {
    const filled = gitlab
      .replace('### Finding or control\n', '### Finding or control\njs/sql-injection\n')
      .replace('- [ ] sast', '- [x] sast')
      .replace('### Repository\n', '### Repository\nacme/shop\n')
      .replace('### Compensating controls\n', '### Compensating controls\nWAF rule\n')
      .replace('### Business owner\n', '### Business owner\n@owner\n')
      .replace('### Requested expiry\n', '### Requested expiry\n2026-12-01\n');
    const now = new Date('2026-11-20T10:00:00Z');
    const issue = { ref: { repo: { platform: 'gitlab' as const, fullName: 'acme/security', id: 3, defaultBranch: 'main' }, number: 4 }, title: 'x', body: filled, labels: ['exception'], state: 'open' as const, author: { login: 'dev', isBot: false }, assignees: [], url: 'u', createdAt: now.toISOString() };
    const p = parseExceptionRequest(issue, defaultPolicy, now);
    expect(p.problems).toEqual([]);
    expect(p.exception).toMatchObject({ findingRef: 'js/sql-injection', category: 'sast', scope: { repo: 'gitlab:acme/shop', paths: [] } });
  });
});
