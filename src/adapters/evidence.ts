/**
 * What the GitHub and GitLab release adapters share when collecting evidence: reading a
 * paginated source, turning a source's failure into an evidence error, and the per-head cache.
 */
import { z } from 'zod';
import type { EvidenceError, ReleaseEvidence } from '../core/gate/evidence.ts';
import { changeKey, type IssueRef } from '../core/model.ts';

export const PER_PAGE = 100;
/** Pages of one source in flight at once (both platforms ask integrators not to flood them). */
const PAGE_CONCURRENCY = 4;

/** A source that failed in a way the adapter already described. */
export class SourceError extends Error {
  constructor(readonly entry: EvidenceError) {
    super(entry.message);
  }
}

export interface Page<T> {
  items: T[];
  /** The last page number, when the response tells (`total_count`, `Link: rel="last"`, `x-total-pages`). */
  last: number | null;
}

const truncated = (source: EvidenceError['source'], what: string, maxPages: number): SourceError =>
  new SourceError({ source, kind: 'truncated', message: `${what}: more than ${maxPages} pages of ${PER_PAGE}; the rest was not read` });

/**
 * Reads pages 1..N of a source (`per_page` 100). With a known last page, pages 2.. are fetched
 * by a few workers at once, in page order in the result; otherwise one after another until a
 * short page. Past `maxPages` it throws SourceError(truncated): a partial list is never taken as whole.
 */
export async function readPages<T>(
  source: EvidenceError['source'],
  what: string,
  maxPages: number,
  fetchPage: (page: number) => Promise<Page<T>>,
): Promise<T[]> {
  const first = await fetchPage(1);
  if (first.last !== null) {
    const last = Math.min(first.last, maxPages);
    const pages: T[][] = [first.items];
    let next = 2;
    const worker = async (): Promise<void> => {
      while (next <= last) {
        const n = next++;
        pages[n - 1] = (await fetchPage(n)).items;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PAGE_CONCURRENCY, Math.max(0, last - 1)) }, worker));
    if (first.last > maxPages) throw truncated(source, what, maxPages);
    return pages.flat();
  }
  const items = [...first.items];
  let page = first;
  for (let n = 2; page.items.length >= PER_PAGE; n++) {
    if (n > maxPages) throw truncated(source, what, maxPages);
    page = await fetchPage(n);
    items.push(...page.items);
  }
  return items;
}

/** A source's failure as an evidence error: `invalid` for an answer that does not parse, else `api`. */
export function toEvidenceError(source: EvidenceError['source'], what: string, err: unknown, status: number | undefined): EvidenceError {
  if (err instanceof SourceError) return err.entry;
  if (err instanceof z.ZodError) {
    return {
      source,
      kind: 'invalid',
      message: `${what}: unexpected answer (${err.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
        .join('; ')})`,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    source,
    kind: 'api',
    message: `${what}: ${status !== undefined ? `HTTP ${status}: ` : ''}${message}`,
    ...(status !== undefined ? { status } : {}),
  };
}

/**
 * Release evidence cached per (change request, head commit). A small LRU: the worker builds a
 * forge per job, so one cache is made at start and handed to every adapter instance. Only complete
 * evidence (no errors) is kept, so a failed source is read again next time; `forget(sha)` drops
 * every entry at a commit when one of its checks, statuses, jobs or reviews changes.
 */

export class EvidenceCache {
  private readonly entries = new Map<string, ReleaseEvidence>();
  private readonly stored = new Map<string, number>();

  /**
   * `maxAgeMs`: how long evidence is trusted without an event saying it changed. Events reach one
   * replica only (a dismissed review handled by another replica forgets nothing here), so entries
   * also age out. Default 60 s.
   */
  constructor(
    private readonly capacity = 200,
    private readonly maxAgeMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  private static key(target: IssueRef, headSha: string): string {
    return `${changeKey(target)}@${headSha}`;
  }

  /** A copy of the cached evidence (stats: 0 API calls, `cached: true`), or null. */
  get(target: IssueRef, headSha: string): ReleaseEvidence | null {
    const key = EvidenceCache.key(target, headSha);
    const hit = this.entries.get(key);
    if (!hit) return null;
    if (this.clock() - (this.stored.get(key) ?? 0) > this.maxAgeMs) {
      this.entries.delete(key);
      this.stored.delete(key);
      return null;
    }
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
    this.stored.set(key, this.clock());
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
      this.stored.delete(oldest);
    }
  }

  /** Drops every change request's evidence at `headSha`. */
  forget(headSha: string): void {
    const suffix = `@${headSha}`;
    for (const key of [...this.entries.keys()]) {
      if (!key.endsWith(suffix)) continue;
      this.entries.delete(key);
      this.stored.delete(key);
    }
  }
}
