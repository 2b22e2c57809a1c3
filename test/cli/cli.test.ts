import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPORT_PATHS } from '../../src/cli.ts';
import { intakeFormView } from '../../src/core/intake/form.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { createRenderer } from '../../src/render/templates.ts';
import { intakeBody } from '../builders/intake.ts';
import { cliSandbox, runCli } from '../support/cli.ts';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];

/** A deep copy of the `issues.opened` example payload, its issue body replaced. */
function issuesOpened({ body }: { body?: string } = {}): Record<string, unknown> {
  const example = examples.find((g) => g.name === 'issues')?.examples.find((e) => e['action'] === 'opened');
  if (!example) throw new Error('no issues.opened example');
  const payload = structuredClone(example);
  if (body !== undefined) (payload['issue'] as Record<string, unknown>)['body'] = body;
  return payload;
}

const sandbox = cliSandbox('gatehouse-cli-');
const run = runCli;

async function file(name: string, text: string): Promise<string> {
  const path = join(sandbox(), name);
  await writeFile(path, text);
  return path;
}

describe('gatehouse validate', () => {
  it('exits 1 and names every error with its path (and line) in the file', async () => {
    const path = await file(
      'broken.yml',
      ['timeZone: 5', 'routing:', '  defaultTier: "high"', 'chat:', "  incidentChanel: '#x'", ''].join('\n'),
    );
    const { code, out, err } = await run('validate', path);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain('3 error(s)');
    expect(err).toContain('timeZone (line 1)');
    expect(err).toContain('routing.defaultTier (line 3)');
    expect(err).toContain('chat.incidentChanel (line 5)');
    expect(err).toContain('unknown key "incidentChanel"');
  });

  it('exits 1 and names every dangling reference in the rules', async () => {
    const path = await file(
      'refs.yml',
      [
        'routing:',
        '  rules:',
        '    - name: colour',
        '      description: y',
        '      when: { field: colour, equals: red }',
        '      tier: 2',
        '    - name: board',
        '      description: y',
        '      when: { field: exposure, equals: maybe }',
        '      route: board',
        '',
      ].join('\n'),
    );
    const { code, err } = await run('validate', path);
    expect(code).toBe(1);
    expect(err).toContain('3 error(s)');
    expect(err).toContain('routing.rules[0].when.field (line 5)');
    expect(err).toContain('routing.rules[1].when (line 9)');
    expect(err).toContain('routing.rules[1].route (line 10)');
  });

  it('exits 1 on a glob that would take too long to match, naming the key and the glob', async () => {
    const path = await file('slow-glob.yml', 'gate:\n  highRiskPaths: ["**/auth/**", "**/a/**/a/**/a/**/b"]\n');
    const { code, err } = await run('validate', path);
    expect(code).toBe(1);
    expect(err).toContain('1 error(s)');
    expect(err).toContain(
      'gate.highRiskPaths[1] (line 2): glob refused: "**/a/**/a/**/a/**/b" would take too long to match: it has 4 "**" segments followed by more of the pattern (at most 2)',
    );
  });

  it('exits 1 on a YAML syntax error and gives its line', async () => {
    const path = await file('syntax.yml', 'chat:\n  incidentChannel: a: b\n');
    const { code, err } = await run('validate', path);
    expect(code).toBe(1);
    expect(err).toMatch(/not valid YAML \(line 2\)/);
  });

  it('exits 1 when the file cannot be read', async () => {
    const { code, err } = await run('validate', join(sandbox(), 'missing.yml'));
    expect(code).toBe(1);
    expect(err).toContain('ENOENT');
  });

  it('exits 0 with a one-line summary for a valid file', async () => {
    const path = await file('ok.yml', "chat:\n  incidentChannel: '#sec-911'\n");
    const { code, out, err } = await run('validate', path);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out.split('\n')).toHaveLength(1);
    expect(out).toBe(`${path} is valid: 16 intake fields, 7 routing rules, 4 tiers`);
  });

  it('exits 0 for the built-in policy when no file is given', async () => {
    const { code, out } = await run('validate');
    expect(code).toBe(0);
    expect(out.split('\n')).toHaveLength(1);
    expect(out).toMatch(/^built-in default policy is valid/);
  });

  it('validates the file named by GATEHOUSE_POLICY when no file is given', async () => {
    process.env['GATEHOUSE_POLICY'] = await file('env.yml', 'timeZone: 5\n');
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err).toContain('timeZone (line 1)');
  });
});

describe('gatehouse validate --override', () => {
  const override = [
    'changes:',
    '  reviewers: { github: [friend] }',
    'tooling:',
    '  deciders: { github: [mallory] }',
    'routing:',
    '  rules: []',
    '  defaultTier: 2',
    '',
  ].join('\n');

  it('exits 0 for a valid override and names each key it may not set, with the reason', async () => {
    const path = await file('override.yml', override);
    const { code, out, err } = await run('validate', '--override', path);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out.split('\n')).toEqual([
      `${path} is valid over built-in default: 2 key(s) ignored (an override may only tighten the global policy)`,
      expect.stringMatching(/^ {2}ignored tooling\.deciders: who may record tooling decisions .* is the global policy’s$/),
      expect.stringMatching(
        /^ {2}ignored routing\.rules: an empty list removes nothing: the global policy’s 7 routing rules all still apply$/,
      ),
    ]);
  });

  it('checks against the global policy given by --policy', async () => {
    const global = await file('global.yml', 'tooling:\n  deciders: { github: [mallory] }\nrouting:\n  defaultTier: 2\n');
    const path = await file('override-2.yml', override);
    const { code, out } = await run('validate', '--override', path, '--policy', global);
    expect(code).toBe(0);
    expect(out.split('\n')).toEqual([
      `${path} is valid over ${global}: 1 key(s) ignored (an override may only tighten the global policy)`,
      expect.stringMatching(/^ {2}ignored routing\.rules:/),
    ]);
  });

  it('lists a glob that would take too long to match as an ignored key; the rest of the override applies', async () => {
    const path = await file(
      'slow-override.yml',
      'changes:\n  rules:\n    - { name: team, description: Team, paths: ["infra/**", "*a*a*a*b"], tier: 2 }\n',
    );
    const { code, out } = await run('validate', '--override', path);
    expect(code).toBe(0);
    expect(out.split('\n')).toEqual([
      `${path} is valid over built-in default: 1 key(s) ignored (an override may only tighten the global policy)`,
      '  ignored changes.rules[0].paths[1]: glob refused: "*a*a*a*b" would take too long to match: a path segment of it has 4 wildcards (at most 2; a repetition extglob counts 2)',
    ]);
  });

  it('says so when every key applies', async () => {
    const path = await file('tight.yml', 'clocks:\n  targets:\n    critical: { slo: 2h }\n');
    const { code, out } = await run('validate', '--override', path);
    expect(code).toBe(0);
    expect(out).toBe(`${path} is valid over built-in default: every key applies`);
  });

  it('exits 1 for an invalid override, each error with its path and line', async () => {
    const path = await file('bad-override.yml', 'routing:\n  defaultTier: 9\nunknownKey: true\n');
    const { code, out, err } = await run('validate', '--override', path);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain('2 error(s); the bot ignores this override whole');
    expect(err).toContain(`${path}: routing.defaultTier (line 2)`);
    expect(err).toContain(`${path}: unknownKey (line 3): unknown key "unknownKey"`);
  });

  it('exits 1 when the global policy is invalid', async () => {
    const global = await file('bad-global.yml', 'timeZone: 5\n');
    const path = await file('override-3.yml', override);
    const { code, err } = await run('validate', '--override', path, '--policy', global);
    expect(code).toBe(1);
    expect(err).toContain('timeZone (line 1)');
  });
});

describe('gatehouse templates export', () => {
  it('writes the GitHub issue form and the GitLab template', async () => {
    const out = join(sandbox(), 'repo');
    const result = await run('templates', 'export', '--out', out);
    expect(result.code).toBe(0);
    const render = createRenderer();
    const view = intakeFormView(defaultPolicy);
    expect(EXPORT_PATHS).toEqual({
      github: '.github/ISSUE_TEMPLATE/security-review.yml',
      gitlab: '.gitlab/issue_templates/Security review.md',
    });
    expect(await readFile(join(out, '.github/ISSUE_TEMPLATE/security-review.yml'), 'utf8')).toBe(
      render('intake/github-issue-form.yml', view),
    );
    expect(await readFile(join(out, '.gitlab/issue_templates/Security review.md'), 'utf8')).toBe(
      render('intake/gitlab-issue-template.md', view),
    );
    expect(result.out).toContain('security-review.yml');
    expect(result.out).toContain('Security review.md');
  });

  it('renders the labels of a policy file', async () => {
    const policy = await file(
      'renamed.yml',
      'intake:\n  title: Ask AppSec\n  description: Ask us.\n  fields:\n    - { id: svc, label: Which service, kind: text, required: true }\nrouting:\n  rules: []\n',
    );
    const out = join(sandbox(), 'repo2');
    expect((await run('templates', 'export', '--out', out, '--policy', policy)).code).toBe(0);
    const gitlab = await readFile(join(out, EXPORT_PATHS.gitlab), 'utf8');
    expect(gitlab).toContain('### Which service');
    expect(gitlab).not.toContain('### Owner');
  });

  it('fails without --out', async () => {
    expect((await run('templates', 'export')).code).not.toBe(0);
  });
});

describe('gatehouse explain', () => {
  const explain = async (payload: unknown) => {
    const path = await file(`event-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(payload));
    const result = await run('explain', '--event', path);
    return {
      ...result,
      json:
        result.code === 0 ? (JSON.parse(result.out) as { event: string; note: string; actions: { type: string; add?: string[] }[] }) : null,
    };
  };

  it('prints the planned actions for an intake: deep review for a new public endpoint', async () => {
    const { code, json } = await explain(issuesOpened({ body: intakeBody({ exposure: 'new public endpoint' }) }));
    expect(code).toBe(0);
    expect(json?.event).toBe('issues.opened');
    const types = json?.actions.map((a) => a.type);
    expect(types).toEqual(['saveIntake', 'recordDecision', 'ensureComment', 'ensureLabels', 'ensureBodySection']);
    const labels = json?.actions.find((a) => a.type === 'ensureLabels');
    expect(labels?.add).toContain('tier::deep-review');
    expect(labels?.add).toEqual(['intake', 'intake::complete', 'tier::deep-review']);
  });

  it('prints no actions for an issue that is not an intake', async () => {
    const { code, json } = await explain(issuesOpened());
    expect(code).toBe(0);
    expect(json?.actions).toEqual([]);
    expect(json?.note).toBe('not an intake: left alone');
  });

  it('exits 1 for a file that is not JSON', async () => {
    const path = await file('not.json', '{nope');
    const { code, err } = await run('explain', '--event', path);
    expect(code).toBe(1);
    expect(err).toContain('cannot read');
  });
});

describe('explain for a pull request', () => {
  it('plans the change classification from --changed-paths, with no network', async () => {
    const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
      name: string;
      examples: Record<string, unknown>[];
    }[];
    const payload = examples.find((g) => g.name === 'pull_request')!.examples.find((e) => e['action'] === 'opened')!;
    const file = join(sandbox(), 'pr.json');
    await writeFile(file, JSON.stringify(payload));
    const { code, out } = await run('explain', '--event', file, '--changed-paths', 'src/auth/session.ts,README.md');
    expect(code).toBe(0);
    const result = JSON.parse(out) as { event: string; actions: { type: string; add?: string[] }[] };
    expect(result.event).toBe('pull_request.opened');
    expect(result.actions.find((a) => a.type === 'ensureLabels')?.add).toEqual(['tier::deep-review']);
  });
});
