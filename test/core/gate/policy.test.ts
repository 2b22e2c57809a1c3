import { describe, expect, it } from 'vitest';
import { defaultPolicy, validatePolicy } from '../../../src/core/policy/load.ts';

describe('the gate policy section', () => {
  it.each([
    ['cosign verify', true],
    ['sigstore signing', true],
    ['artifact-signed', true],
    ['Sign release', true],
    ['slsa-provenance', true],
    ['design-review', false],
    ['assign-reviewers', false],
    ['signal-tests', false],
  ])('the provenance pattern on %j: %s', (name, matches) => {
    expect(new RegExp(defaultPolicy.gate.scans['provenance']!, 'i').test(name)).toBe(matches);
  });

  it('has the contract defaults', () => {
    const g = defaultPolicy.gate;
    expect(g.checkName).toBe('gatehouse/release-gate');
    expect(g.releaseBranches).toEqual(['release/*']);
    expect(g.releaseLabel).toBe('release');
    expect(g.labels.classes).toEqual({
      'non-prod': 'release-class::non-prod',
      prod: 'release-class::prod',
      'high-risk': 'release-class::high-risk',
      emergency: 'release-class::emergency',
    });
    expect(g.labels.verdicts).toEqual({ pass: 'gate::pass', warn: 'gate::warn', block: 'gate::block', emergency: 'gate::emergency' });
    expect(g.highRiskPaths).toEqual(['**/auth/**', '**/payments/**', '**/admin/**', '**/edge/**']);
    expect(g.scans).toEqual({
      secrets: 'secret',
      sast: 'sast|codeql|semgrep',
      dependencies: 'dependency|(?<![a-z])sca(?![a-z])|audit',
      provenance: 'provenance|slsa|attest|(?<![a-z])(co)?sign(ing|ed|ature)?(?![a-z])',
    });
    expect(g.classes.prod).toEqual({ requires: ['secrets', 'provenance'], approvals: 1, securityApprovals: 0, rollback: false });
    expect(g.classes['high-risk']).toMatchObject({ approvals: 2, securityApprovals: 1, rollback: true });
    expect(g.mode.default).toBe('enforce');
    expect(g.exceptions).toMatchObject({
      maxExpiryDays: 90,
      reminderDays: 7,
      approvedLabel: 'exception::approved',
      repeated: { count: 3, windowDays: 180 },
    });
  });

  it('names no sources by default, and reads them per scan kind and platform', () => {
    expect(defaultPolicy.gate.sources).toEqual({});
    const r = validatePolicy(
      {
        gate: {
          sources: {
            sast: {
              github: { apps: ['github-advanced-security', 57789], workflows: ['.github/workflows/security.yml'] },
              gitlab: { jobs: ['semgrep-sast'] },
            },
          },
        },
      },
      defaultPolicy,
    );
    expect(r.ok && r.policy.gate.sources).toEqual({
      sast: {
        github: {
          apps: ['github-advanced-security', 57789],
          workflows: ['.github/workflows/security.yml'],
          configPaths: [],
          statusCreators: [],
        },
        gitlab: { jobs: ['semgrep-sast'], configPaths: [], statusCreators: [] },
      },
    });
  });

  it('keeps the defaults it is not told about', () => {
    const r = validatePolicy({ gate: { classes: { prod: { approvals: 2 } } } }, defaultPolicy);
    expect(r.ok && r.policy.gate.classes.prod).toEqual({
      requires: ['secrets', 'provenance'],
      approvals: 2,
      securityApprovals: 0,
      rollback: false,
    });
  });

  it.each([
    [{ scans: { secrets: '(' } }, 'gate.scans.secrets', 'not a valid regular expression'],
    [{ classes: { prod: { requires: ['fuzzing'] } } }, 'gate.classes.prod.requires[0]', 'unknown scan kind "fuzzing"'],
    [{ classes: { prod: { approvals: 1, securityApprovals: 2 } } }, 'gate.classes.prod.securityApprovals', 'no more than approvals'],
    [{ mode: { default: 'loud' } }, 'gate.mode.default', ''],
    [{ releaseLabels: ['x'] }, 'gate', 'releaseLabels'],
    [{ classRules: [{ class: 'non-prod', branches: ['x'] }] }, 'gate.classRules[0].class', ''],
    [{ labels: { verdicts: { warn: 'gate::pass' } } }, 'gate.labels.verdicts', 'its own label'],
    [{ sources: { fuzzing: { github: { apps: ['x'] } } } }, 'gate.sources.fuzzing', 'unknown scan kind "fuzzing"'],
    [
      { sources: { sast: { github: { apps: ['github-actions'] } } } },
      'gate.sources.sast.github.apps[0]',
      'name the workflow files under workflows',
    ],
    [{ sources: { sast: { github: { apps: [15368] } } } }, 'gate.sources.sast.github.apps[0]', 'runs as github-actions'],
    [{ sources: { sast: { github: { workflow: ['.github/workflows/x.yml'] } } } }, 'gate.sources.sast.github', 'workflow'],
    [{ sources: { sast: { gitlab: { jobs: [''] } } } }, 'gate.sources.sast.gitlab.jobs[0]', ''],
  ])('refuses %j', (gate, path, message) => {
    const r = validatePolicy({ gate }, defaultPolicy);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toContainEqual(
      expect.objectContaining({ path: expect.stringContaining(path), message: expect.stringContaining(message) }),
    );
  });
});

describe('gate scan patterns', () => {
  it('a policy that sets one pattern keeps the others, and may add kinds', () => {
    const r = validatePolicy({
      gate: { scans: { secrets: 'gitleaks', fuzzing: 'fuzz' }, classes: { prod: { requires: ['secrets', 'fuzzing'] } } },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policy.gate.scans).toEqual({
      secrets: 'gitleaks',
      sast: 'sast|codeql|semgrep',
      dependencies: 'dependency|(?<![a-z])sca(?![a-z])|audit',
      provenance: 'provenance|slsa|attest|(?<![a-z])(co)?sign(ing|ed|ature)?(?![a-z])',
      fuzzing: 'fuzz',
    });
  });
});
