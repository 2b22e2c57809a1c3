/**
 * Finding our sticky comments (one per marker and item, edited in place) without reading every
 * comment of a busy issue: the listing is bounded, and the id of each sticky comment found or
 * created is kept per item, so a later event on the same item edits it by id and lists nothing.
 *
 * Bound: the oldest `STICKY_HEAD_PAGES` pages and the newest `STICKY_TAIL_PAGES` pages of 100
 * comments are read, no more (10 requests for an issue of 5,000 comments). Our comments are
 * written early (the intake comment on open) or, when made after the bound was hit, are among
 * the newest; a sticky comment in neither part is not seen, and a new one is created (and logged):
 * the newest one is then the one kept and edited.
 *
 * The cache is a process's memory and only saves requests: a replica that does not have the id
 * lists as before. An id whose comment is gone (404 on read or edit) or no longer carries the
 * marker is dropped and the item is listed again.
 */
import type { IssueRef } from '../core/model.ts';

/** Pages (of 100) read from the oldest comments. */
export const STICKY_HEAD_PAGES = 5;
/** Pages (of 100) read from the newest comments when there are more than the head holds. */
export const STICKY_TAIL_PAGES = 5;
export const STICKY_PAGE_SIZE = 100;

/** Where an adapter says that the bound was hit without finding the marker (a pino Logger fits). */
export interface StickyLog {
  warn(obj: object, msg: string): void;
}

/** Ids of our sticky comments per item and marker (least recently used dropped beyond `max`). */
export class StickyComments {
  private readonly ids = new Map<string, number>();

  constructor(private readonly max = 20_000) {}

  static key(target: IssueRef, marker: string): string {
    const { repo } = target;
    return `${repo.platform}:${repo.id ?? repo.fullName}${target.kind === 'change' ? '!' : '#'}${target.number}:${marker}`;
  }

  get(target: IssueRef, marker: string): number | undefined {
    const key = StickyComments.key(target, marker);
    const id = this.ids.get(key);
    if (id !== undefined) {
      // Most recently used last.
      this.ids.delete(key);
      this.ids.set(key, id);
    }
    return id;
  }

  set(target: IssueRef, marker: string, id: number): void {
    const key = StickyComments.key(target, marker);
    this.ids.delete(key);
    this.ids.set(key, id);
    while (this.ids.size > this.max) {
      const oldest = this.ids.keys().next();
      if (oldest.done) break;
      this.ids.delete(oldest.value);
    }
  }

  forget(target: IssueRef, marker: string): void {
    this.ids.delete(StickyComments.key(target, marker));
  }
}

/** The `rel="last"` page of a GitHub `Link` header, or null. */
export function lastPage(link: unknown): number | null {
  if (typeof link !== 'string') return null;
  for (const part of link.split(',')) {
    if (!/;\s*rel="last"/.test(part)) continue;
    const m = /[?&]page=(\d+)/.exec(part);
    if (m) return Number(m[1]);
  }
  return null;
}
