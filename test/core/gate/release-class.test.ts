import { describe, expect, it } from 'vitest';
import { isReleaseCandidate, releaseClass } from '../../../src/core/gate/release-class.ts';
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
    ['non-prod by label', ['release', 'release-class::non-prod'], ['src/auth/login.ts'], 'non-prod', 'label'],
    ['prod by label', ['release-class::prod'], ['src/payments/pay.ts'], 'prod', 'label'],
    ['high-risk by label', ['release-class::high-risk'], ['README.md'], 'high-risk', 'label'],
    ['emergency by label', ['release-class::emergency'], [], 'emergency', 'label'],
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

  it('names the high-risk paths, five at most', () => {
    const paths = Array.from({ length: 7 }, (_, i) => `src/auth/f${i}.ts`);
    expect(releaseClass(releaseChange(), paths, defaultPolicy).detail).toBe('high-risk path src/auth/f0.ts, src/auth/f1.ts, src/auth/f2.ts, src/auth/f3.ts, src/auth/f4.ts and 2 more');
  });

  it('applies class rules by target branch and by path; the most severe wins', () => {
    const policy = gatePolicy({ classRules: [{ class: 'high-risk', branches: ['release/payments-*'] }, { class: 'high-risk', paths: ['db/migrations/**'] }], highRiskPaths: [] });
    expect(releaseClass(releaseChange({ targetBranch: 'release/payments-7' }), [], policy)).toMatchObject({ releaseClass: 'high-risk', source: 'branch' });
    expect(releaseClass(releaseChange(), ['db/migrations/001.sql'], policy)).toMatchObject({ releaseClass: 'high-risk', source: 'path' });
    expect(releaseClass(releaseChange(), ['src/auth/x.ts'], policy)).toMatchObject({ releaseClass: 'prod', source: 'default' });
  });

  it('follows renamed class labels', () => {
    const policy = gatePolicy({ labels: { classes: { emergency: 'hotfix' } } });
    expect(releaseClass(releaseChange({ labels: ['hotfix'] }), [], policy).releaseClass).toBe('emergency');
    expect(releaseClass(releaseChange({ labels: ['release-class::emergency'] }), [], policy).releaseClass).toBe('prod');
  });
});
