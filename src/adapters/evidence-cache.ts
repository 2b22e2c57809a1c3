/**
 * Release evidence cached per (change request, head commit), shared by the GitHub and GitLab
 * release adapters. A small LRU: the worker builds a forge per job, so one cache is made at start
 * and handed to every adapter instance. Only complete evidence (no errors) is kept, so a failed
 * source is read again next time; `forget(sha)` drops every entry at a commit when one of its
 * checks, statuses, jobs or reviews changes.
 */
import type { ReleaseEvidence } from '../core/gate/evidence.ts';
import { changeKey, type IssueRef } from '../core/model.ts';

export class EvidenceCache {
  private readonly entries = new Map<string, ReleaseEvidence>();

  constructor(private readonly capacity = 200) {}

  private static key(target: IssueRef, headSha: string): string {
    return `${changeKey(target)}@${headSha}`;
  }

  /** A copy of the cached evidence (stats: 0 API calls, `cached: true`), or null. */
  get(target: IssueRef, headSha: string): ReleaseEvidence | null {
    const key = EvidenceCache.key(target, headSha);
    const hit = this.entries.get(key);
    if (!hit) return null;
    this.entries.delete(key);
    this.entries.set(key, hit);
    const copy = structuredClone(hit);
    copy.stats = { ...copy.stats, apiCalls: 0, cached: true };
    return copy;
  }

  /** Keeps `evidence` when it is complete; evidence with errors is never cached. */
  set(target: IssueRef, evidence: ReleaseEvidence): void {
    if (evidence.errors.length > 0) return;
    const key = EvidenceCache.key(target, evidence.headSha);
    this.entries.delete(key);
    this.entries.set(key, structuredClone(evidence));
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Drops every change request's evidence at `headSha`. */
  forget(headSha: string): void {
    const suffix = `@${headSha}`;
    for (const key of [...this.entries.keys()]) if (key.endsWith(suffix)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
