/** A repository's override tightens the global policy; what it may not set is ignored and each key is named in the warnings. */
import { describe, expect, it } from 'vitest';
import { FakeForge } from '../support/fake-forge.ts';
import { securityReviewers } from '../../src/core/gate/evaluate.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import type { RepoRef } from '../../src/core/model.ts';
import { PolicyResolver } from '../../src/policy/resolver.ts';
import type { AuditEntry } from '../../src/ports/audit-log.ts';

const repo: RepoRef = { platform: 'github', fullName: 'mallory/sandbox', id: 1, defaultBranch: 'main' };
const gitlabRepo: RepoRef = { platform: 'gitlab', fullName: 'mallory/sandbox', id: 2, defaultBranch: 'main' };

function resolverWith(override: string, target: RepoRef = repo): { resolver: PolicyResolver; forge: FakeForge } {
  const forge = new FakeForge(target.platform === 'gitlab' ? 'gitlab' : 'github');
  forge.setFile(target, target.platform === 'gitlab' ? '.gitlab/gatehouse.yml' : '.github/gatehouse.yml', override);
  return { resolver: new PolicyResolver({ policy: defaultPolicy, source: 'built-in default' }), forge };
}

describe('PolicyResolver', () => {
  it('applies an override that tightens the global policy, without warnings', async () => {
    const { resolver, forge } = resolverWith('routing:\n  defaultTier: 2\n');
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy.routing.defaultTier).toBe(2);
    expect(r.source).toBe('built-in default + .github/gatehouse.yml');
    expect(r.warnings).toEqual([]);
  });

  it('never lets a repository set its own exception approvers, gate rules or chat permissions, and names each ignored key', async () => {
    const { resolver, forge } = resolverWith(
      [
        'gate:',
        '  exceptions:',
        '    approvers: { github: [mallory] }',
        '  mode: { default: advisory }',
        'chat:',
        '  escalators: { users: [UMALLORY] }',
        'routing:',
        '  defaultTier: 2',
        '',
      ].join('\n'),
    );
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy.gate).toEqual(defaultPolicy.gate);
    expect(r.policy.chat).toEqual(defaultPolicy.chat);
    expect(r.policy.routing.defaultTier).toBe(2);
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^The repository policy \.github\/gatehouse\.yml cannot set gate\.exceptions \(ignored\): the release gate .* is the global policy’s$/,
      ),
      expect.stringMatching(/cannot set gate\.mode \(ignored\)/),
      expect.stringMatching(/cannot set chat\.escalators \(ignored\): notice channels and who may act from chat are the global policy’s/),
    ]);
  });

  it('a friend named as change reviewer is asked for reviews but never counts as the gate’s security reviewer', async () => {
    const { resolver, forge } = resolverWith('changes:\n  reviewers: { github: [friend] }\n');
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy.changes.requestReviewers.github).toEqual(['friend']);
    expect(securityReviewers(r.policy, 'github')).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('ignores tooling deciders and the inventory of an override', async () => {
    const { resolver, forge } = resolverWith(
      'tooling:\n  deciders: { github: [mallory] }\n  inventory: [{ name: scanner, criticality: low, pathForward: sunset }]\n',
    );
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy.tooling.deciders).toEqual(defaultPolicy.tooling.deciders);
    expect(r.policy.tooling.inventory).toEqual([]);
    expect(r.warnings).toEqual([
      expect.stringContaining('cannot set tooling.deciders (ignored)'),
      expect.stringContaining('cannot set tooling.inventory (ignored)'),
    ]);
  });

  it('keeps every global routing rule when the override empties the list (GitLab path too)', async () => {
    const { resolver, forge } = resolverWith('routing:\n  rules: []\n', gitlabRepo);
    const r = await resolver.forRepo(gitlabRepo, forge);
    expect(r.policy.routing.rules).toEqual(defaultPolicy.routing.rules);
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^The repository policy \.gitlab\/gatehouse\.yml cannot set routing\.rules \(ignored\): an empty list removes nothing/,
      ),
    ]);
  });

  it('ignores an invalid override whole, with each error and its line', async () => {
    const { resolver, forge } = resolverWith('routing:\n  defaultTier: 9\n');
    const r = await resolver.forRepo(repo, forge);
    expect(r.policy).toEqual(defaultPolicy);
    expect(r.source).toBe('built-in default');
    expect(r.warnings).toEqual([
      'The repository policy .github/gatehouse.yml is invalid and was ignored: routing.defaultTier (line 2): a tier is a whole number from 0 to 3',
    ]);
  });
});

describe('PolicyResolver: the refusal of an override is audited with its actor', () => {
  const NOW = new Date('2026-12-01T12:00:00Z');
  const OVERRIDE = '.github/gatehouse.yml';
  const auditLog = (): {
    entries: AuditEntry[];
    store: { appendAudit(e: AuditEntry | readonly AuditEntry[]): Promise<void>; auditFor(k: string): Promise<AuditEntry[]> };
  } => {
    const entries: AuditEntry[] = [];
    return {
      entries,
      store: {
        appendAudit: async (e) => void entries.push(...(Array.isArray(e) ? e : [e as AuditEntry])),
        auditFor: async (k) => entries.filter((e) => e.issueKey === k),
      },
    };
  };
  const resolver = (log: ReturnType<typeof auditLog>): PolicyResolver =>
    new PolicyResolver({ policy: defaultPolicy, source: 'built-in default' }, { audit: { store: log.store, now: () => NOW } });
  const forgeWith = (text: string): FakeForge => {
    const forge = new FakeForge('github');
    forge.setFile(repo, OVERRIDE, text);
    forge.commits.set(`${repo.fullName}:${OVERRIDE}`, {
      sha: 'abc',
      login: 'mallory',
      name: 'Mallory',
      email: 'm@example.com',
      verified: true,
      at: '2026-11-30T10:00:00Z',
    });
    return forge;
  };

  it('one entry per repository and override content, naming who last changed the file; again only when the content changes', async () => {
    const log = auditLog();
    const forge = forgeWith('tooling:\n  deciders: { github: [mallory] }\n');
    const r = await resolver(log).forRepo(repo, forge);
    expect(r.ignoredBy).toMatchObject({ path: OVERRIDE, actor: { login: 'mallory', verified: true }, actorNote: null });
    // A new process (cache empty) with the same file: no second entry.
    await resolver(log).forRepo(repo, forge);
    expect(log.entries).toEqual([
      {
        at: NOW,
        deliveryId: null,
        issueKey: 'github:mallory/sandbox',
        action: 'overrideIgnored',
        detail: {
          path: OVERRIDE,
          digest: expect.stringMatching(/^[0-9a-f]{64}$/),
          ignored: [{ path: 'tooling.deciders', reason: expect.any(String) }],
          actor: expect.objectContaining({ login: 'mallory' }),
          actorNote: null,
        },
        outcome: 'skipped',
        error: 'tooling.deciders',
      },
    ]);
    forge.setFile(repo, OVERRIDE, 'chat:\n  escalators: { users: [UMALLORY] }\n');
    await resolver(log).forRepo(repo, forge);
    expect(log.entries.map((e) => (e.detail as { ignored: { path: string }[] }).ignored.map((k) => k.path))).toEqual([
      ['tooling.deciders'],
      ['chat.escalators'],
    ]);
  });

  it('a failed lookup records the entry without an actor and with the reason; the policy still loads', async () => {
    const log = auditLog();
    const forge = forgeWith('routing:\n  rules: []\n');
    forge.lastCommitter = async () => {
      throw new Error('HTTP 502');
    };
    const r = await resolver(log).forRepo(repo, forge);
    expect(r.policy.routing.rules).toEqual(defaultPolicy.routing.rules);
    expect(log.entries.map((e) => e.detail)).toEqual([
      expect.objectContaining({ actor: null, actorNote: `the last commit of ${OVERRIDE} could not be read: HTTP 502` }),
    ]);
  });

  it('nothing ignored: no lookup and no entry', async () => {
    const log = auditLog();
    const forge = forgeWith('routing:\n  defaultTier: 2\n');
    forge.lastCommitter = async () => {
      throw new Error('not asked');
    };
    const r = await resolver(log).forRepo(repo, forge);
    expect(r.ignoredBy).toBeUndefined();
    expect(log.entries).toEqual([]);
  });
});
