/** A repository's override merges over the global policy, except where only the security team decides. */
import { describe, expect, it } from 'vitest';
import { FakeForge } from '../../src/adapters/fake/forge.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import type { RepoRef } from '../../src/core/model.ts';
import { PolicyResolver } from '../../src/policy/resolver.ts';

const repo: RepoRef = { platform: 'github', fullName: 'mallory/sandbox', id: 1, defaultBranch: 'main' };

function resolverWith(override: string): { resolver: PolicyResolver; forge: FakeForge } {
  const forge = new FakeForge('github');
  forge.setFile(repo, '.github/gatehouse.yml', override);
  return { resolver: new PolicyResolver({ policy: defaultPolicy, source: 'built-in default' }), forge };
}

describe('PolicyResolver', () => {
  it('merges an override over the global policy', async () => {
    const { resolver, forge } = resolverWith('routing:\n  defaultTier: 2\n');
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy.routing.defaultTier).toBe(2);
    expect(r.warnings).toEqual([]);
  });

  it('never lets a repository set its own exception approvers, gate rules or chat permissions', async () => {
    const { resolver, forge } = resolverWith(
      ['gate:', '  exceptions:', '    approvers: { github: [mallory] }', '  mode: { default: advisory }', 'chat:', '  escalators: { users: [UMALLORY] }', 'routing:', '  defaultTier: 2', ''].join('\n'),
    );
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy.gate).toEqual(defaultPolicy.gate);
    expect(r.policy.chat).toEqual(defaultPolicy.chat);
    expect(r.policy.routing.defaultTier).toBe(2);
    expect(r.warnings).toEqual(['The repository policy .github/gatehouse.yml sets gate and chat, which only the global policy may set; ignored']);
  });
});
