import { describe, expect, it } from 'vitest';
import { evaluateGate, type GateVerdict } from '../../../src/core/gate/evaluate.ts';
import type { CheckEvidence, CheckProducer, EvidenceError } from '../../../src/core/gate/evidence.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';
import { NOW, approval, PROD_CHECKS, check, evidence, gateInput, gatePolicy, gateRepo, releaseChange } from '../../builders/gate.ts';

const rules = (v: GateVerdict, severity?: string): string[] =>
  v.reasons.filter((r) => !severity || r.severity === severity).map((r) => r.rule);
const reason = (v: GateVerdict, rule: string, subject: string) => v.reasons.find((r) => r.rule === rule && r.subject === subject);

const ACTIONS = { id: 15368, slug: 'github-actions' };
const from = (
  name: string,
  producer: CheckProducer,
  state: CheckEvidence['state'] = 'success',
  source: CheckEvidence['source'] = 'check-run',
): CheckEvidence => ({ ...check(name, state), source, producer });
const workflowRun = (name: string, path: string, state: CheckEvidence['state'] = 'success'): CheckEvidence =>
  from(name, { app: ACTIONS, workflowPath: path, statusCreator: null }, state);

/** Secrets pinned to a workflow, an App and a status creator; provenance left unpinned. */
const pinned = gatePolicy({
  sources: {
    secrets: {
      github: {
        apps: ['gitguardian'],
        workflows: ['.github/workflows/security.yml'],
        configPaths: ['.github/actions/**', 'scripts/scan-*.sh'],
        statusCreators: ['secrets-bot'],
      },
      gitlab: { jobs: ['secret_detection'], configPaths: ['ci/**/*.yml'] },
    },
  },
});
const PROVENANCE = check('slsa-provenance');

describe('gate.sources: a pinned scan counts only checks from the sources named for it', () => {
  it.each<[string, CheckEvidence, 'pass' | 'block', string | null]>([
    [
      'an Actions run of the named workflow, not changed by the PR',
      workflowRun('secret-scan', '.github/workflows/security.yml'),
      'pass',
      null,
    ],
    [
      'the named workflow given as GitHub writes it (owner/repo/path@ref)',
      workflowRun('secret-scan', 'acme/shop/.github/workflows/security.yml@refs/heads/main'),
      'pass',
      null,
    ],
    ['a check run of a named App (by slug)', from('GitGuardian secrets', { app: { id: 46505, slug: 'gitguardian' } }), 'pass', null],
    ['a status posted by a named creator', from('secrets/scan', { statusCreator: 'Secrets-Bot' }, 'success', 'status'), 'pass', null],
    [
      'an Actions run of a workflow the PR adds',
      workflowRun('secret-sast-dependency-provenance', '.github/workflows/pr.yml'),
      'block',
      'from workflow .github/workflows/pr.yml, not a workflow named for it',
    ],
    [
      'a check run of another App',
      from('secret-scan', { app: { id: 777, slug: 'my-ci' } }),
      'block',
      'check run of App my-ci, not an App named for it',
    ],
    [
      'a status posted by a developer',
      from('secret-scan', { statusCreator: 'mallory' }, 'success', 'status'),
      'block',
      'commit status posted by mallory, not a status creator named for it',
    ],
    ['a check run with no producer read', check('secret-scan'), 'block', 'check run of an unknown App'],
    [
      'an Actions run whose workflow run was not found',
      from('secret-scan', { app: ACTIONS, workflowPath: null }),
      'block',
      'GitHub Actions check run whose workflow run was not found',
    ],
  ])('%s', (_what, secrets, verdict, why) => {
    const v = evaluateGate(gateInput({ ev: evidence({ checks: [secrets, PROVENANCE] }) }), pinned, NOW);
    expect(v.verdict).toBe(verdict);
    if (why === null) {
      expect(rules(v, 'block')).toEqual([]);
      expect(reason(v, 'scan-ignored', 'control:secrets')).toBeUndefined();
      return;
    }
    expect(rules(v, 'block')).toEqual(['scan-missing']);
    const missing = reason(v, 'scan-missing', 'control:secrets')!;
    expect(missing.evidence).toEqual([
      `no check from the sources the policy names (gate.sources.secrets) (1 ignored: not from a named source)`,
      `${secrets.name} (${secrets.source}, success) ignored: ${why}`,
    ]);
    expect(reason(v, 'scan-ignored', 'control:secrets')).toMatchObject({ severity: 'info', evidence: [expect.stringContaining(why)] });
    expect(v.evidence.find((r) => r.item === 'Secrets scan')).toMatchObject({
      status: 'missing',
      detail: expect.stringContaining('1 ignored: not from a named source'),
    });
  });

  it('ignores a run of the named workflow when the pull request changes that workflow file', () => {
    const ev = evidence({
      checks: [workflowRun('secret-scan', '.github/workflows/security.yml'), PROVENANCE],
      changedPaths: ['src/cart.ts', '.github/workflows/security.yml'],
    });
    const v = evaluateGate(gateInput({ ev }), pinned, NOW);
    expect(v.verdict).toBe('block');
    expect(reason(v, 'scan-missing', 'control:secrets')!.evidence).toContain(
      'secret-scan (check-run, success) ignored: from workflow .github/workflows/security.yml, changed by this pull request',
    );
  });

  it.each([['.github/actions/scan/action.yml'], ['scripts/scan-secrets.sh']])(
    'ignores a run of the named workflow when the pull request changes a file it runs (%s)',
    (changed) => {
      const ev = evidence({
        checks: [workflowRun('secret-scan', '.github/workflows/security.yml'), PROVENANCE],
        changedPaths: ['src/cart.ts', changed],
      });
      const v = evaluateGate(gateInput({ ev }), pinned, NOW);
      expect(v.verdict).toBe('block');
      expect(reason(v, 'scan-missing', 'control:secrets')!.evidence).toContain(
        `secret-scan (check-run, success) ignored: from workflow .github/workflows/security.yml, which runs ${changed}, changed by this pull request`,
      );
    },
  );

  it('a named source that fails still fails the scan, and a failure from elsewhere is ignored (it neither passes nor fails it)', () => {
    const failed = evaluateGate(
      gateInput({ ev: evidence({ checks: [workflowRun('secret-scan', '.github/workflows/security.yml', 'failure'), PROVENANCE] }) }),
      pinned,
      NOW,
    );
    expect(rules(failed, 'block')).toEqual(['scan-failed']);
    const noise = evaluateGate(
      gateInput({
        ev: evidence({
          checks: [
            workflowRun('secret-scan', '.github/workflows/security.yml'),
            workflowRun('secret-junk', '.github/workflows/pr.yml', 'failure'),
            PROVENANCE,
          ],
        }),
      }),
      pinned,
      NOW,
    );
    expect(noise.verdict).toBe('pass');
    expect(rules(noise, 'info')).toContain('scan-ignored');
  });

  it('an unpinned kind counts by name, as before, and says its source is unpinned', () => {
    const v = evaluateGate(gateInput(), defaultPolicy, NOW);
    expect(v.verdict).toBe('pass');
    expect(reason(v, 'scan-unpinned', 'control:secrets')).toMatchObject({ severity: 'info', evidence: ['secret-scanning (check-run)'] });
    expect(reason(v, 'scan-unpinned', 'control:provenance')).toBeDefined();
    // No unpinned note for a kind with no check at all (SAST is not required for prod).
    expect(reason(v, 'scan-unpinned', 'control:sast')).toBeUndefined();
    const p = evaluateGate(
      gateInput({ ev: evidence({ checks: [workflowRun('secret-scan', '.github/workflows/security.yml'), PROVENANCE] }) }),
      pinned,
      NOW,
    );
    expect(reason(p, 'scan-unpinned', 'control:secrets')).toBeUndefined();
    expect(reason(p, 'scan-unpinned', 'control:provenance')).toBeDefined();
  });

  it('sources named for the other platform leave the kind unpinned here', () => {
    const gitlabOnly = gatePolicy({ sources: { secrets: { gitlab: { jobs: ['secret_detection'] } } } });
    const v = evaluateGate(gateInput(), gitlabOnly, NOW);
    expect(v.verdict).toBe('pass');
    expect(reason(v, 'scan-unpinned', 'control:secrets')).toBeDefined();
  });
});

describe('gate.sources on GitLab: a named job counts only when the merge request leaves the pipeline configuration alone', () => {
  const glRepo = { ...gateRepo, platform: 'gitlab' as const, fullName: 'acme/shop' };
  const job = (name: string, config: string | null = '.gitlab-ci.yml', state: CheckEvidence['state'] = 'success'): CheckEvidence =>
    from(name, { jobName: name, ...(config !== 'unread' ? { pipelineConfigPath: config } : {}) }, state, 'job');
  const run = (checks: CheckEvidence[], changedPaths = ['app/cart.rb']): GateVerdict =>
    evaluateGate(
      gateInput({
        change: releaseChange({ repo: glRepo }),
        ev: evidence({
          checks: [
            ...checks,
            { ...PROVENANCE, source: 'job', producer: { jobName: 'slsa-provenance', pipelineConfigPath: '.gitlab-ci.yml' } },
          ],
          changedPaths,
          approvals: [approval('alice')],
        }),
      }),
      pinned,
      NOW,
    );

  it.each<[string, CheckEvidence[], string[], 'pass' | 'block', string | null]>([
    ['the named job, configuration untouched', [job('secret_detection')], ['app/cart.rb'], 'pass', null],
    ['the named job although its name does not match the pattern', [job('secret_detection')], ['app/cart.rb'], 'pass', null],
    [
      'the named job from the project CI config path',
      [job('secret_detection', 'ci/pipeline.yml')],
      ['app/cart.rb', '.gitlab-ci.yml'],
      'pass',
      null,
    ],
    [
      'a job the MR defines in its own .gitlab-ci.yml',
      [job('secret-sast-dependency-provenance')],
      ['.gitlab-ci.yml'],
      'block',
      'job secret-sast-dependency-provenance, not a job named for it',
    ],
    [
      'the named job when the MR changes .gitlab-ci.yml',
      [job('secret_detection')],
      ['app/cart.rb', '.gitlab-ci.yml'],
      'block',
      'job secret_detection: the pipeline configuration (.gitlab-ci.yml) is changed by this merge request',
    ],
    [
      'the named job when the MR changes an include (configPaths)',
      [job('secret_detection')],
      ['ci/jobs/secrets.yml'],
      'block',
      'job secret_detection: the pipeline configuration (ci/jobs/secrets.yml) is changed by this merge request',
    ],
    [
      'the named job when the configuration could not be read',
      [job('secret_detection', 'unread')],
      ['app/cart.rb'],
      'block',
      'job secret_detection: the pipeline configuration could not be read',
    ],
    [
      'an external status by an unnamed account',
      [from('secret-scan', { statusCreator: 'mallory' }, 'success', 'status')],
      ['app/cart.rb'],
      'block',
      'commit status posted by mallory, not a status creator named for it',
    ],
  ])('%s', (_what, checks, changed, verdict, why) => {
    const v = run(checks, changed);
    expect(v.verdict).toBe(verdict);
    if (why)
      expect(reason(v, 'scan-missing', 'control:secrets')!.evidence).toContain(
        `${checks[0]!.name} (${checks[0]!.source}, success) ignored: ${why}`,
      );
  });
});

describe('incomplete or absent evidence', () => {
  const HIGH_RISK = 'Rotates keys.\n\n## Rollback\nRevert.\n';
  const highRisk = gatePolicy({ securityReviewers: { github: ['sec-sam'] } });
  const all = [...PROD_CHECKS, check('semgrep-sast'), check('dependency-review')];
  const highRiskInput = (errors: EvidenceError[]) =>
    gateInput({
      change: releaseChange({ labels: ['release', 'release-class::high-risk'], body: HIGH_RISK }),
      ev: evidence({ checks: all, changedPaths: ['src/auth/session.ts'], errors, approvals: [approval('alice'), approval('sec-sam')] }),
    });

  it.each<[string, EvidenceError]>([
    [
      'code scanning off',
      { source: 'findings', kind: 'not-enabled', status: 403, message: 'code scanning is not enabled for this repository' },
    ],
    [
      'no analysis for the head',
      { source: 'findings', kind: 'no-analysis', status: 404, message: 'code scanning: no analysis found for refs/pull/12/head' },
    ],
    ['a 404 from code scanning', { source: 'findings', status: 404, message: 'Not Found' }],
  ])('blocks a class that requires SAST when code scanning gave no analysis: %s', (_what, error) => {
    const v = evaluateGate(highRiskInput([error]), highRisk, NOW);
    expect(v.releaseClass).toBe('high-risk');
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(['sast-analysis-missing']);
    expect(reason(v, 'sast-analysis-missing', 'control:sast')!.summary).toMatch(/analysis is missing.*SAST is required for high-risk/);
    expect(reason(v, 'sast-analysis-missing', 'control:sast')!.evidence[0]).toContain(error.message);
  });

  it('a missing analysis stays a warning where SAST is not required (prod)', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ errors: [{ source: 'findings', kind: 'no-analysis', status: 404, message: 'no analysis found' }] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('warn');
    expect(rules(v, 'warn')).toEqual(['evidence-unavailable']);
  });

  it('a changed-files listing cut at the platform cap blocks (evidence-incomplete), naming the cap', () => {
    const error: EvidenceError = {
      source: 'files',
      kind: 'truncated',
      message: 'changed files: the pull request changes 3,412 files; GitHub lists at most 3,000',
    };
    const v = evaluateGate(gateInput({ ev: evidence({ errors: [error] }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(['evidence-incomplete']);
    expect(v.reasons.find((r) => r.rule === 'evidence-incomplete')!.evidence).toEqual([error.message]);
  });
});
