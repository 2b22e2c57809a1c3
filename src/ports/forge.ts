/** The Forge port: what the core's actions need from GitHub or GitLab. Every method is an "ensure". */
import type { IssueRef, RepoRef } from '../core/model.ts';

export type CommentOutcome = 'created' | 'updated' | 'unchanged';

export interface Forge {
  readonly platform: 'github' | 'gitlab';
  /** Adds the missing labels and removes the listed ones; removing an absent label is not an error. */
  ensureLabels(target: IssueRef, add: readonly string[], remove: readonly string[]): Promise<void>;
  /** The one comment carrying `marker`, written by us: created, edited to `body`, or left alone. */
  ensureComment(target: IssueRef, marker: string, body: string): Promise<CommentOutcome>;
  /** A file's text on the default branch, or null when it does not exist. */
  readFile(repo: RepoRef, path: string): Promise<string | null>;
  /** Every path a pull/merge request changes (both sides of a rename). */
  listChangedPaths(target: IssueRef): Promise<string[]>;
  /** Asks these reviewers (GitHub: logins or `org/team`; GitLab: usernames) to review; keeps existing ones. */
  requestReview(target: IssueRef, reviewers: readonly string[]): Promise<void>;
  /** Adds this account (GitHub login, GitLab username) to the item's assignees; keeps the others. */
  assign?(target: IssueRef, login: string): Promise<void>;
  /** The issue's description as it is now. */
  readBody?(target: IssueRef): Promise<string>;
  /**
   * The description's `<!-- gatehouse:<section>:start -->` … `:end -->` block set to `text`
   * (appended when absent); the rest of the description is kept as it is.
   */
  ensureBodySection?(target: IssueRef, section: string, text: string): Promise<CommentOutcome>;
}
