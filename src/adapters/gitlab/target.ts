/** Addressing GitLab objects from the core's refs. */
import type { IssueRef, RepoRef } from '../../core/model.ts';

export function mergeRequestRef(repo: RepoRef, iid: number): IssueRef {
  return { repo, number: iid, kind: 'change' };
}

/** GitLab numbers issues and merge requests separately: the ref's kind picks the endpoints. */
export const isMergeRequest = (ref: IssueRef): boolean => ref.kind === 'change';

/** The project as GitLab's API addresses it: its numeric id, else its URL-encoded path (gitbeaker encodes). */
export const projectOf = (repo: RepoRef): string | number => repo.id ?? repo.fullName;
