/** Platform-neutral model of Gatehouse: events in, actions out. Pure data, no I/O. */

export type Platform = 'github' | 'gitlab' | 'slack';

export type Tier = 0 | 1 | 2 | 3;

/** Why a rule fired: the rule's name and the answers that made it fire. */
export interface Reason {
  rule: string;
  summary: string;
  /** `Label = value` pieces the rule looked at. */
  evidence: string[];
  tier: Tier | null;
  route: string | null;
}

export interface RepoRef {
  platform: Platform;
  /** `owner/name` on GitHub, the project path on GitLab. */
  fullName: string;
  /** Numeric id where the platform has one (GitLab project id, GitHub repository id). */
  id: number | null;
  defaultBranch: string | null;
}

export interface IssueRef {
  repo: RepoRef;
  number: number;
  /**
   * What the number points at. GitLab numbers issues and merge requests separately (#1 and !1
   * are different objects); absent means an issue.
   */
  kind?: 'issue' | 'change';
}

export interface Actor {
  login: string;
  isBot: boolean;
}

export interface IssueSnapshot {
  ref: IssueRef;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  author: Actor;
  assignees: string[];
  url: string;
  createdAt: string;
  /**
   * Visible only to the project's members (a GitLab confidential issue, or an internal note on
   * one): its title and content never go to chat.
   */
  confidential?: boolean;
}

export type IssueAction = 'opened' | 'edited' | 'reopened' | 'closed' | 'labeled' | 'unlabeled' | 'assigned' | 'unassigned';

export interface IssueEvent {
  kind: 'issue';
  action: IssueAction;
  deliveryId: string;
  actor: Actor;
  issue: IssueSnapshot;
  /** The label added or removed, for `labeled` / `unlabeled`. */
  label?: string;
}

/** A pull request (GitHub) or merge request (GitLab). `ref.number` is its number / iid. */
export interface ChangeRequestSnapshot {
  ref: IssueRef;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed' | 'merged';
  author: Actor;
  url: string;
  headSha: string | null;
  targetBranch: string;
  draft: boolean;
}

/** opened, new commits (`synchronize`), reopened, description edited, labels changed, closed; `reviewed`: a review or approval changed. */
export type ChangeRequestAction = 'opened' | 'synchronize' | 'reopened' | 'edited' | 'labeled' | 'unlabeled' | 'closed' | 'reviewed';

export interface ChangeRequestEvent {
  kind: 'change';
  action: ChangeRequestAction;
  deliveryId: string;
  actor: Actor;
  change: ChangeRequestSnapshot;
  /** The label added, for `labeled`. */
  label?: string;
}

/** A push that may change a repository's policy override. */
export interface PushEvent {
  kind: 'push';
  deliveryId: string;
  repo: RepoRef;
  ref: string;
  changedPaths: string[];
}

/**
 * A check run, check suite, commit status or pipeline on a commit concluded: the release gate
 * re-evaluates the open change requests whose head it is (their labels are read from the API).
 */
export interface CommitChecksEvent {
  kind: 'checks';
  action: 'completed';
  deliveryId: string;
  repo: RepoRef;
  sha: string;
  /** What concluded: `check_suite`, `check_run`, `status`, `pipeline`. */
  source: string;
  /** Change requests the payload names (GitHub check suites, GitLab pipelines), when it does. */
  changeNumbers: number[];
}

/** A release was published: its notes get the release gate's verdict of the tagged commit. */
export interface ReleaseEvent {
  kind: 'release';
  action: string;
  deliveryId: string;
  repo: RepoRef;
  tag: string;
  /** The tagged commit, when the payload gives it. */
  sha: string | null;
}

/** A comment was posted on an issue (GitHub `issue_comment.created`, GitLab issue note): command comments. */
export interface IssueCommentEvent {
  kind: 'comment';
  action: 'created';
  deliveryId: string;
  actor: Actor;
  issue: IssueSnapshot;
  comment: { id: number; body: string };
}

export type GatehouseEvent = IssueEvent | ChangeRequestEvent | PushEvent | CommitChecksEvent | ReleaseEvent | IssueCommentEvent;

export const issueKey = (ref: IssueRef): string => `${ref.repo.platform}:${ref.repo.fullName}#${ref.number}`;

/** Pull/merge requests are keyed apart from issues (GitLab numbers them separately). */
export const changeKey = (ref: IssueRef): string => `${ref.repo.platform}:${ref.repo.fullName}!${ref.number}`;
