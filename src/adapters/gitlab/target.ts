/**
 * GitLab numbers issues and merge requests separately (issue #1 and MR !1 are different things,
 * under different endpoints), but the core's `IssueRef` does not say which one it points at.
 * Until the core carries that (see the GitLab adapter's notes: `IssueRef.kind`), the translator
 * marks merge-request refs with `noteable: 'merge_request'`; the core passes refs through to its
 * actions unchanged (and JSON keeps the field), so the forge can pick the right endpoints.
 * A ref without the mark is an issue.
 */
import type { IssueRef, RepoRef } from '../../core/model.ts';

export interface GitLabRef extends IssueRef {
  noteable?: 'issue' | 'merge_request';
}

export function mergeRequestRef(repo: RepoRef, iid: number): IssueRef {
  const ref: GitLabRef = { repo, number: iid, noteable: 'merge_request' };
  return ref;
}

export const isMergeRequest = (ref: IssueRef): boolean => (ref as GitLabRef).noteable === 'merge_request';

/** The project as GitLab's API addresses it: its numeric id, else its URL-encoded path (gitbeaker encodes). */
export const projectOf = (repo: RepoRef): string | number => repo.id ?? repo.fullName;
