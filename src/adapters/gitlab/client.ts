/**
 * The gitbeaker resources Gatehouse uses, on one GitLab instance and token, over our own
 * requester (no replayed POSTs; Retry-After obeyed; writes take the instance's turns). Only these resources are built: the
 * all-in-one `Gitlab` class builds some two hundred.
 */
import {
  Commits,
  IssueNotes,
  Issues,
  MergeRequestApprovals,
  MergeRequestNotes,
  MergeRequests,
  RepositoryFiles,
  Users,
} from '@gitbeaker/rest';
import type { RequesterType } from '@gitbeaker/requester-utils';
import { createSafeRequesterFn, type RetryPolicy } from './requester.ts';
import type { PlatformCircuit } from '../circuit.ts';
import type { WriteTurns } from '../write-turns.ts';

export interface GitLabApi {
  issues: InstanceType<typeof Issues>;
  issueNotes: InstanceType<typeof IssueNotes>;
  mergeRequests: InstanceType<typeof MergeRequests>;
  mergeRequestNotes: InstanceType<typeof MergeRequestNotes>;
  mergeRequestApprovals: InstanceType<typeof MergeRequestApprovals>;
  repositoryFiles: InstanceType<typeof RepositoryFiles>;
  commits: InstanceType<typeof Commits>;
  users: InstanceType<typeof Users>;
  /**
   * The same requester, for endpoints read page by page or counted (the release gate): paths
   * relative to `/api/v4/`, e.g. `rest.get('projects/1/pipelines/2/jobs', { searchParams: { page: 2 } })`.
   */
  rest: RequesterType;
}

export interface GitLabApiOptions {
  /** The instance, e.g. `https://gitlab.example.com` (the API is `${url}/api/v4`). */
  url: string;
  token: string;
  retry?: Partial<RetryPolicy>;
  /** GitLab reachable or not, shared by the process's clients (see ../circuit.ts). */
  circuit?: PlatformCircuit;
  /** Write turns of the instance, shared by the process's clients (see ../write-turns.ts). */
  turns?: WriteTurns;
}

export function createGitLabApi({ url, token, retry, circuit, turns }: GitLabApiOptions): GitLabApi {
  // queryTimeout null: gitbeaker's one signal would span every retry; the requester times each attempt.
  const options = { host: url.replace(/\/+$/, ''), token, requesterFn: createSafeRequesterFn(retry, circuit, turns), queryTimeout: null };
  const commits = new Commits(options);
  return {
    issues: new Issues(options),
    issueNotes: new IssueNotes(options),
    mergeRequests: new MergeRequests(options),
    mergeRequestNotes: new MergeRequestNotes(options),
    mergeRequestApprovals: new MergeRequestApprovals(options),
    repositoryFiles: new RepositoryFiles(options),
    commits,
    users: new Users(options),
    rest: commits.requester,
  };
}
