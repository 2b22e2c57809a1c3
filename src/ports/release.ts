/**
 * The ReleaseForge port: what the release gate needs from GitHub or GitLab, beyond the Forge port
 * (labels and the sticky comment stay on `Forge`). Implemented by src/adapters/github/release.ts
 * and src/adapters/gitlab/release.ts.
 *
 * Failure rules, the same on both platforms:
 * - `collectEvidence` never throws for one source's API failure (500, timeout, 403/404 such as
 *   "code scanning not enabled"): that source goes into `evidence.errors` and the other sources are
 *   still read. The gate treats any error as "evidence incomplete" (pending + retry), never a pass.
 *   It throws only when nothing at all can be read about the change request (e.g. it does not exist).
 * - The write methods throw on failure; the job queue retries them.
 */
import type { ReleaseEvidence } from '../core/gate/evidence.ts';
import type { ScanSources } from '../core/gate/policy.ts';
import type { ScanPatterns } from '../core/gate/scan-patterns.ts';
import type { ChangeRequestSnapshot, IssueRef, RepoRef } from '../core/model.ts';

export interface CollectOptions {
  scanPatterns?: ScanPatterns;
  /**
   * The policy's `gate.sources`: which producers the adapter must identify. GitHub reads the
   * workflow runs of the head (one listing) only when some kind names `workflows`, and the commit
   * statuses with their creators only when some kind names `statusCreators`; GitLab reads the
   * project's CI config path only when some kind names `jobs`.
   */
  sources?: Readonly<Record<string, ScanSources>>;
  /** Upper bound on pages read per paginated source (100 items a page); default 50. Hitting it is an evidence error. */
  maxPages?: number;
}

/** `pending` → GitHub `in_progress`, GitLab `pending`; `neutral` (advisory mode) → GitHub `neutral`, GitLab `success` marked advisory. */
export type GateConclusion = 'success' | 'failure' | 'neutral' | 'pending';

export interface GateCheck {
  conclusion: GateConclusion;
  /** One line (GitHub check title; start of the GitLab status description). */
  title: string;
  /** Markdown (GitHub check summary, cut at 65,535 characters; GitLab keeps only the 255-character description). */
  summary: string;
  /** Where the check links to (the sticky comment, the decision record). */
  detailsUrl?: string | null;
}

export interface NewIssue {
  title: string;
  body: string;
  labels: string[];
  /** `YYYY-MM-DD`. GitLab sets the issue's due date; GitHub has none, so a `Due: …` line is added to the body. */
  dueDate?: string;
}

export type ReleaseNoteOutcome = 'updated' | 'unchanged' | 'no-release';

export interface ReleaseForge {
  /**
   * Everything the gate reads about a change request at `headSha`: checks (our own
   * `gatehouse/release-gate` excluded), approvals, changes requested, changed paths, open findings.
   * Results without errors are cached per (change request, head sha); see `forget`.
   * `target` is the pull request (GitHub) / merge request (GitLab, `kind: 'change'`).
   */
  collectEvidence(target: IssueRef, headSha: string, opts?: CollectOptions): Promise<ReleaseEvidence>;

  /**
   * Drops cached evidence for this head commit (every change request at it): call it when a check
   * run, status, pipeline or job on that commit changes, or a review is submitted, before collecting again.
   */
  forget(headSha: string): void;

  /** The change request's labels as they are now, read from the API (payload labels may be stale). */
  currentLabels(target: IssueRef): Promise<string[]>;

  /**
   * Our check run (GitHub: created once per sha, then updated in place — found by name) or commit
   * status (GitLab: `pending` / `success` / `failed`) named `gatehouse/release-gate` on `headSha`.
   */
  setGateCheck(target: IssueRef, headSha: string, check: GateCheck): Promise<void>;

  /**
   * Opens an issue once per `key`: the body carries `<!-- gatehouse:issue:<key> -->`, and our own
   * open issues are searched for it first; an existing one is returned as is.
   */
  openIssue(repo: RepoRef, key: string, issue: NewIssue): Promise<{ number: number; url: string }>;

  /**
   * Our section of the release notes of `tag`, between `<!-- <marker> -->` and `<!-- /<marker> -->`:
   * replaced in place, or appended when absent. `no-release` when the tag has no release.
   */
  addReleaseNote(repo: RepoRef, tag: string, marker: string, text: string): Promise<ReleaseNoteOutcome>;

  /** The open change requests whose head commit is `sha`: what a check or pipeline event on `sha` re-evaluates. */
  changeRequestsForCommit(repo: RepoRef, sha: string): Promise<ChangeRequestSnapshot[]>;

  /** The commit a tag points at (a release event may name only the tag or a branch); null when the tag is unknown. */
  tagCommit(repo: RepoRef, tag: string): Promise<string | null>;
}
