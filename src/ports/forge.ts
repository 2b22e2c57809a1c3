/** The Forge port: what the core's actions need from GitHub or GitLab. Every method is an "ensure". */
import type { IssueRef, RepoRef } from '../core/model.ts';
import type { BodySection } from '../core/workflows/sections.ts';

export type CommentOutcome = 'created' | 'updated' | 'unchanged';

/** Who added a label, as the platform's own label events say (never the webhook payload). */
export interface LabelActor {
  /** GitHub login, GitLab username. */
  login: string;
  /** ISO-8601, when the label was added. */
  at: string;
  /** The account is a bot (GitHub `type: Bot`; GitLab `bot: true` when the API says so). */
  bot: boolean;
}

/** An issue as the platform's API shows it now (not as a delivery's payload said it was). */
export interface IssueState {
  body: string;
  labels: string[];
  /** The author's login / username; null when the platform shows none (a deleted account). */
  author: string | null;
  state: 'open' | 'closed';
}

/**
 * Who made the newest commit touching a file on the default branch, as the platform's commits API
 * says. Commit metadata is written by whoever pushes: this attributes, it does not prove.
 */
export interface CommitAuthor {
  /** The commit's SHA. */
  sha: string;
  /** GitHub: the account GitHub links to the commit (author, else committer); GitLab: null (its commits API names no account). */
  login: string | null;
  /** The git author's name and email as written in the commit. */
  name: string | null;
  email: string | null;
  /** True only when `login` is an account the platform linked to the commit; false: git's own name and email, which anyone can set. */
  verified: boolean;
  /** ISO-8601, the commit's date. */
  at: string | null;
}

export interface Forge {
  readonly platform: 'github' | 'gitlab';
  /** Adds the missing labels and removes the listed ones; removing an absent label is not an error. */
  ensureLabels(target: IssueRef, add: readonly string[], remove: readonly string[]): Promise<void>;
  /**
   * The one comment carrying `marker`, written by us: created, edited to `body`, or left alone. The
   * comment becomes `body` whole: nothing of the comment as read (which anyone with write access may
   * have edited) is carried over.
   */
  ensureComment(target: IssueRef, marker: string, body: string): Promise<CommentOutcome>;
  /** A file's text on the default branch, or null when it does not exist. */
  readFile(repo: RepoRef, path: string): Promise<string | null>;
  /** Every path a pull/merge request changes (both sides of a rename). */
  listChangedPaths(target: IssueRef): Promise<string[]>;
  /** Asks these reviewers (GitHub: logins or `org/team`; GitLab: usernames) to review; keeps existing ones. */
  requestReview(target: IssueRef, reviewers: readonly string[]): Promise<void>;
  /** Adds this account (GitHub login, GitLab username) to the item's assignees; keeps the others. */
  assign?(target: IssueRef, login: string): Promise<void>;
  /**
   * Who last added `label` to the issue or change request, read from the platform's label events
   * (GitHub issue events, GitLab resource label events); null when the label is not on it now or no
   * event within the bounded read attributes it. Authority decisions take the actor from here.
   */
  labelAddedBy(target: IssueRef, label: string): Promise<LabelActor | null>;
  /**
   * The newest commit on the default branch that touched `path` (GitHub `GET /repos/{owner}/{repo}/commits?path=`,
   * GitLab `GET /projects/:id/repository/commits?path=`), or null when none did.
   */
  lastCommitter?(repo: RepoRef, path: string): Promise<CommitAuthor | null>;
  /** The issue's description as it is now. */
  readBody?(target: IssueRef): Promise<string>;
  /** The issue (not a change request) as it is now: description, labels, author, state. */
  readIssue?(target: IssueRef): Promise<IssueState>;
  /**
   * The description's `<!-- gatehouse:<name>:start -->` … `:end -->` blocks set to their text
   * (appended in order when absent), the rest of the description kept as it is: one read, then one
   * edit, or none when every block is as it should be. `created` when a block was appended.
   */
  ensureBodySection?(target: IssueRef, sections: readonly BodySection[]): Promise<CommentOutcome>;
}

/** Pages of 100 label events read at most; an item with more events than that is unattributable. */
export const LABEL_EVENT_PAGES = 10;

/** Label events as the adapters read them (ordered by time here). */
export interface LabelEvent {
  action: 'add' | 'remove';
  label: string;
  /** null: the platform shows no actor (a deleted account). */
  login: string | null;
  at: string;
  bot: boolean;
}

/**
 * The actor of the newest `add` of `label` (case-insensitive) that no later `remove` undid; null
 * when the label was removed since, never added, or added by an account the platform no longer shows.
 */
export function lastLabelActor(events: readonly LabelEvent[], label: string): LabelActor | null {
  const want = label.trim().toLowerCase();
  let found: LabelActor | null = null;
  const ordered = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const e of ordered) {
    if (e.label.trim().toLowerCase() !== want) continue;
    found = e.action === 'add' && e.login !== null ? { login: e.login, at: e.at, bot: e.bot } : null;
  }
  return found;
}
