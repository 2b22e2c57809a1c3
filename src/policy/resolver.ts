/**
 * The policy that applies to a repository: the global policy, tightened by the repository's
 * override file (default branch only): core/policy/tighten.ts says what an override may change;
 * what it may not is ignored, each key with its reason in the warnings the requester sees. Cached
 * per repository; a push that touches the file drops the cache entry. A broken override is ignored
 * whole, with a warning.
 *
 * Every refusal is audited with its actor: when an override sets keys that are ignored, one audit
 * entry `overrideIgnored` (keyed by the repository, e.g. `github:owner/repo`) names the account that
 * last changed the file, read from the platform's commits API once per load, and the keys refused.
 * One entry per repository and override content (its SHA-256): a later load of the same text adds
 * none. A failed lookup records the entry with no actor and the reason; it never fails the load.
 */
import { createHash } from 'node:crypto';
import type { RepoRef } from '../core/model.ts';
import type { Policy } from '../core/policy/schema.ts';
import { OVERRIDE_PATHS, parseOverride, type IgnoredKey } from '../core/policy/tighten.ts';
import type { CommitAuthor, Forge } from '../ports/forge.ts';
import type { AuditLog } from '../ports/audit-log.ts';

/** The keys an override set that were ignored, and who last changed the file (the platform's answer). */
export interface OverrideIgnored {
  path: string;
  /** SHA-256 (hex) of the override's text. */
  digest: string;
  keys: IgnoredKey[];
  /** null: the platform named nobody (see `actorNote`). */
  actor: CommitAuthor | null;
  /** Why there is no actor, or what the actor's record lacks; null when nothing is missing. */
  actorNote: string | null;
}

export interface ResolvedPolicy {
  policy: Policy;
  source: string;
  warnings: string[];
  /** Present when the override set keys that were ignored. */
  ignoredBy?: OverrideIgnored;
}

/** The audit entry's action for an override whose keys were ignored. */
export const OVERRIDE_IGNORED = 'overrideIgnored';

export interface ResolverAudit {
  store: AuditLog;
  now: () => Date;
}

/** The warning of one key an override may not set. */
export const ignoredWarning = (path: string, key: IgnoredKey): string =>
  `The repository policy ${path} cannot set ${key.path} (ignored): ${key.reason}`;

interface Entry {
  value: Promise<ResolvedPolicy>;
  at: number;
}

export class PolicyResolver {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly global: { policy: Policy; source: string },
    private readonly options: { ttlMs?: number; now?: () => number; maxEntries?: number; audit?: ResolverAudit } = {},
  ) {}

  get globalPolicy(): ResolvedPolicy {
    return { policy: this.global.policy, source: this.global.source, warnings: [] };
  }

  overridePath(repo: RepoRef): string {
    return repo.platform === 'gitlab' ? OVERRIDE_PATHS.gitlab : OVERRIDE_PATHS.github;
  }

  forRepo(repo: RepoRef, forge: Forge): Promise<ResolvedPolicy> {
    const key = `${repo.platform}:${repo.fullName}`;
    const now = (this.options.now ?? Date.now)();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (this.options.ttlMs ?? 300_000)) return hit.value;
    const value = this.load(repo, forge);
    this.cache.set(key, { value, at: now });
    // A failed fetch is not cached: the next event tries again.
    value.catch(() => this.cache.delete(key));
    if (this.cache.size > (this.options.maxEntries ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
    return value;
  }

  /** Drops the cached policy when a push to the default branch touched the override file. */
  noticePush(repo: RepoRef, ref: string, changedPaths: readonly string[]): boolean {
    const onDefault = repo.defaultBranch === null || ref === `refs/heads/${repo.defaultBranch}`;
    if (!onDefault || !changedPaths.includes(this.overridePath(repo))) return false;
    return this.cache.delete(`${repo.platform}:${repo.fullName}`);
  }

  private async load(repo: RepoRef, forge: Forge): Promise<ResolvedPolicy> {
    const path = this.overridePath(repo);
    const text = await forge.readFile(repo, path);
    if (text === null) return this.globalPolicy;
    const result = parseOverride(text, this.global.policy);
    if (result.ok) {
      const resolved: ResolvedPolicy = {
        policy: result.policy,
        source: `${this.global.source} + ${path}`,
        warnings: result.ignored.map((k) => ignoredWarning(path, k)),
      };
      if (result.ignored.length === 0) return resolved;
      const ignoredBy = await whoSet(repo, path, text, result.ignored, forge);
      if (this.options.audit) await recordIgnored(repo, ignoredBy, this.options.audit);
      return { ...resolved, ignoredBy };
    }
    const errors = result.errors.map((e) => `${e.path}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`);
    return {
      policy: this.global.policy,
      source: this.global.source,
      warnings: [`The repository policy ${path} is invalid and was ignored: ${errors.join('; ')}`],
    };
  }
}

/** Who last changed the override, from the platform's commits API; a failed lookup is noted, never thrown. */
async function whoSet(repo: RepoRef, path: string, text: string, keys: IgnoredKey[], forge: Forge): Promise<OverrideIgnored> {
  const base = { path, digest: createHash('sha256').update(text).digest('hex'), keys };
  if (!forge.lastCommitter) return { ...base, actor: null, actorNote: `the ${repo.platform} forge cannot read commits` };
  try {
    const actor = await forge.lastCommitter(repo, path);
    if (!actor) return { ...base, actor: null, actorNote: `no commit on the default branch touches ${path}` };
    const note = actor.verified
      ? null
      : repo.platform === 'gitlab'
        ? 'GitLab’s commits API names no account: the git author’s name and email (unverified)'
        : 'GitHub links no account to the commit: the git author’s name and email (unverified)';
    return { ...base, actor, actorNote: note };
  } catch (err) {
    return {
      ...base,
      actor: null,
      actorNote: `the last commit of ${path} could not be read: ${(err instanceof Error ? err.message : String(err)).slice(0, 300)}`,
    };
  }
}

/** One audit entry per repository and override content. */
async function recordIgnored(repo: RepoRef, ignored: OverrideIgnored, audit: ResolverAudit): Promise<void> {
  const key = `${repo.platform}:${repo.fullName}`;
  const seen = await audit.store.auditFor(key);
  if (seen.some((e) => e.action === OVERRIDE_IGNORED && (e.detail as { digest?: unknown } | null)?.digest === ignored.digest)) return;
  await audit.store.appendAudit({
    at: audit.now(),
    deliveryId: null,
    issueKey: key,
    action: OVERRIDE_IGNORED,
    detail: { path: ignored.path, digest: ignored.digest, ignored: ignored.keys, actor: ignored.actor, actorNote: ignored.actorNote },
    outcome: 'skipped',
    error: ignored.keys.map((k) => k.path).join(', '),
  });
}
