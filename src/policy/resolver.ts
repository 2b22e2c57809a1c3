/**
 * The policy that applies to a repository: the global policy, tightened by the repository's
 * override file (default branch only): core/policy/tighten.ts says what an override may change;
 * what it may not is ignored, each key with its reason in the warnings the requester sees. Cached
 * per repository; a push that touches the file drops the cache entry. A broken override is ignored
 * whole, with a warning.
 */
import type { RepoRef } from '../core/model.ts';
import type { Policy } from '../core/policy/schema.ts';
import { parseOverride, type IgnoredKey } from '../core/policy/tighten.ts';
import type { Forge } from '../ports/forge.ts';

export interface ResolvedPolicy {
  policy: Policy;
  source: string;
  warnings: string[];
}

export const OVERRIDE_PATHS = { github: '.github/gatehouse.yml', gitlab: '.gitlab/gatehouse.yml' } as const;

/** The warning of one key an override may not set. */
export const ignoredWarning = (path: string, key: IgnoredKey): string => `The repository policy ${path} cannot set ${key.path} (ignored): ${key.reason}`;

interface Entry {
  value: Promise<ResolvedPolicy>;
  at: number;
}

export class PolicyResolver {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly global: { policy: Policy; source: string },
    private readonly options: { ttlMs?: number; now?: () => number; maxEntries?: number } = {},
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
      return { policy: result.policy, source: `${this.global.source} + ${path}`, warnings: result.ignored.map((k) => ignoredWarning(path, k)) };
    }
    const errors = result.errors.map((e) => `${e.path}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`);
    return {
      policy: this.global.policy,
      source: this.global.source,
      warnings: [`The repository policy ${path} is invalid and was ignored: ${errors.join('; ')}`],
    };
  }
}
