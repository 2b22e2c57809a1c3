/**
 * The policy that applies to a repository: the global policy, with the repository's override file
 * (default branch only) merged over it. Cached per repository; a push that touches the file drops
 * the cache entry. A broken override is ignored with a warning the requester sees.
 */
import type { RepoRef } from '../core/model.ts';
import { parsePolicy } from '../core/policy/load.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { Forge } from '../ports/forge.ts';
import { parse } from 'yaml';

export interface ResolvedPolicy {
  policy: Policy;
  source: string;
  warnings: string[];
}

export const OVERRIDE_PATHS = { github: '.github/gatehouse.yml', gitlab: '.gitlab/gatehouse.yml' } as const;

/** Policy sections a repository's override may not change (release gate, chat permissions). */
export const GLOBAL_ONLY = ['gate', 'chat'] as const;

function topLevelKeys(text: string): string[] {
  try {
    const doc: unknown = parse(text);
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? Object.keys(doc) : [];
  } catch {
    return [];
  }
}

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
    const result = parsePolicy(text, this.global.policy);
    if (result.ok) {
      // Who approves exceptions and emergencies, what blocks a release and who may act from chat
      // are the security team's, not the repository's: those sections come from the global policy.
      const reserved = GLOBAL_ONLY.filter((k) => topLevelKeys(text).includes(k));
      const policy = { ...result.policy, gate: this.global.policy.gate, chat: this.global.policy.chat };
      const warnings = reserved.length > 0 ? [`The repository policy ${path} sets ${reserved.join(' and ')}, which only the global policy may set; ignored`] : [];
      return { policy, source: `${this.global.source} + ${path}`, warnings };
    }
    const errors = result.errors.map((e) => `${e.path}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`);
    return {
      policy: this.global.policy,
      source: this.global.source,
      warnings: [`The repository policy ${path} is invalid and was ignored: ${errors.join('; ')}`],
    };
  }
}
