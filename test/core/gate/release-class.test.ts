import { describe, expect, it } from 'vitest';
import { isReleaseCandidate, loweringClassLabels, releaseClass } from '../../../src/core/gate/release-class.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';
import { gatePolicy, releaseChange } from '../../builders/gate.ts';

describe('isReleaseCandidate', () => {
  it.each([
    ['the release label', ['release'], 'main', true],
    ['the release label in another case', ['Release'], 'main', true],
    ['a release branch target', [], 'release/2026.11', true],
    ['neither', ['bug'], 'main', false],
    ['a branch that only starts like one', [], 'releases/x', false],
    ['a nested release branch (release/* is one level)', [], 'release/a/b', false],
  ])('%s', (_n, labels, targetBranch, expected) => {
    expect(isReleaseCandidate(releaseChange({ labels, targetBranch }), defaultPolicy)).toBe(expected);
  });

  it('follows the policy: other branches and label', () => {
    const policy = gatePolicy({ releaseBranches: ['prod', 'hotfix/**'], releaseLabel: 'ship-it' });
    expect(isReleaseCandidate(releaseChange({ labels: [], targetBranch: 'hotfix/a/b' }), policy)).toBe(true);
    expect(isReleaseCandidate(releaseChange({ labels: ['ship-it'], targetBranch: 'main' }), policy)).toBe(true);
    expect(isReleaseCandidate(releaseChange({ labels: ['release'], targetBranch: 'release/1' }), policy)).toBe(false);
  });
});

describe('releaseClass', () => {
  it.each([
    // Formerly any label won: a non-prod or prod label lowered a high-risk path. Now a lowering label without its adder's authority does not count.
    [
      'a non-prod label does not lower a high-risk path',
      ['release', 'release-class::non-prod'],
      ['src/auth/login.ts'],
      'high-risk',
      'path',
    ],
    ['a prod label does not lower a high-risk path', ['release-class::prod'], ['src/payments/pay.ts'], 'high-risk', 'path'],
    ['a non-prod label does not lower the default prod', ['release-class::non-prod'], ['src/cart.ts'], 'prod', 'default'],
    ['high-risk by label', ['release-class::high-risk'], ['README.md'], 'high-risk', 'label'],
    ['emergency by label (a raise)', ['release-class::emergency'], [], 'emergency', 'label'],
    ['the most severe of several labels', ['release-class::prod', 'release-class::emergency'], [], 'emergency', 'label'],
    ['high-risk by an auth path', ['release'], ['src/auth/login.ts'], 'high-risk', 'path'],
    ['high-risk by a payments path', ['release'], ['services/payments/refund.go'], 'high-risk', 'path'],
    ['high-risk by an admin path at the top', ['release'], ['admin/panel.tsx'], 'high-risk', 'path'],
    ['high-risk by an edge path', ['release'], ['infra/edge/cdn.tf'], 'high-risk', 'path'],
    ['prod by default', ['release'], ['src/cart.ts', 'docs/authentication.md'], 'prod', 'default'],
    ['prod with no paths', ['release'], [], 'prod', 'default'],
  ] as const)('%s', (_n, labels, paths, cls, source) => {
    const d = releaseClass(releaseChange({ labels: [...labels] }), paths, defaultPolicy);
    expect(d.releaseClass).toBe(cls);
    expect(d.source).toBe(source);
  });

  const at = '2026-11-20T09:00:00Z';
  const setters = gatePolicy({ classSetters: { github: ['rel-mgr'], gitlab: ['gl-rel'] } });
  it.each([
    ['added by a class setter: it lowers', { login: 'rel-mgr', at, bot: false }, null, 'non-prod', null],
    ['added by a class setter, in another case', { login: 'Rel-Mgr', at, bot: false }, null, 'non-prod', null],
    ['added by the author', { login: 'dev', at, bot: false }, null, 'high-risk', 'dev added it and is not a class setter'],
    [
      'added by the GitLab setter on GitHub',
      { login: 'gl-rel', at, bot: false },
      null,
      'high-risk',
      'gl-rel added it and is not a class setter',
    ],
    ['not attributed by any label event', null, null, 'high-risk', 'no label event of the platform attributes it'],
    ['label events unreadable', null, 'HTTP 502', 'high-risk', 'who added it could not be read (HTTP 502)'],
  ] as const)('a lowering label %s', (_n, addedBy, error, cls, why) => {
    const change = releaseChange({ labels: ['release', 'release-class::non-prod'] });
    const d = releaseClass(change, ['src/auth/login.ts'], setters, [{ label: 'release-class::non-prod', addedBy, error }]);
    expect(d.releaseClass).toBe(cls);
    if (why)
      expect(d.refused).toEqual([
        { label: 'release-class::non-prod', releaseClass: 'non-prod', actor: addedBy?.login ?? null, reason: expect.stringContaining(why) },
      ]);
    else expect(d.refused).toEqual([]);
  });

  it('a raising label counts whoever added it, and a refused lowering label beside it is still named', () => {
    const d = releaseClass(releaseChange({ labels: ['release-class::emergency', 'release-class::non-prod'] }), [], setters, []);
    expect(d).toMatchObject({ releaseClass: 'emergency', source: 'label' });
    expect(d.refused.map((r) => r.label)).toEqual(['release-class::non-prod']);
  });

  it('loweringClassLabels names only the labels below what the rules give', () => {
    expect(
      loweringClassLabels(releaseChange({ labels: ['release-class::prod', 'release-class::emergency'] }), ['src/auth/a.ts'], defaultPolicy),
    ).toEqual(['release-class::prod']);
    expect(loweringClassLabels(releaseChange({ labels: ['release-class::prod'] }), ['src/cart.ts'], defaultPolicy)).toEqual([]);
  });

  it('names the high-risk paths, five at most', () => {
    const paths = Array.from({ length: 7 }, (_, i) => `src/auth/f${i}.ts`);
    expect(releaseClass(releaseChange(), paths, defaultPolicy).detail).toBe(
      'high-risk path src/auth/f0.ts, src/auth/f1.ts, src/auth/f2.ts, src/auth/f3.ts, src/auth/f4.ts and 2 more',
    );
  });

  it('applies class rules by target branch and by path; the most severe wins', () => {
    const policy = gatePolicy({
      classRules: [
        { class: 'high-risk', branches: ['release/payments-*'] },
        { class: 'high-risk', paths: ['db/migrations/**'] },
      ],
      highRiskPaths: [],
    });
    expect(releaseClass(releaseChange({ targetBranch: 'release/payments-7' }), [], policy)).toMatchObject({
      releaseClass: 'high-risk',
      source: 'branch',
    });
    expect(releaseClass(releaseChange(), ['db/migrations/001.sql'], policy)).toMatchObject({ releaseClass: 'high-risk', source: 'path' });
    expect(releaseClass(releaseChange(), ['src/auth/x.ts'], policy)).toMatchObject({ releaseClass: 'prod', source: 'default' });
  });

  it('follows renamed class labels', () => {
    const policy = gatePolicy({ labels: { classes: { emergency: 'hotfix' } } });
    expect(releaseClass(releaseChange({ labels: ['hotfix'] }), [], policy).releaseClass).toBe('emergency');
    expect(releaseClass(releaseChange({ labels: ['release-class::emergency'] }), [], policy).releaseClass).toBe('prod');
  });
});
