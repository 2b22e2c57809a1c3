/**
 * Release evidence: what the shell collects for a release candidate's head commit, platform-neutral.
 * The gate (./evaluate.ts) turns it, with the policy and the exception register, into a verdict.
 */

/** A check run (GitHub), commit status (GitHub/GitLab), pipeline job (GitLab) on the head commit. */
export interface CheckEvidence {
  name: string;
  /** pending: queued or running; the others as the platform concluded. */
  state: 'pending' | 'success' | 'failure' | 'neutral' | 'skipped' | 'cancelled';
  source: 'check-run' | 'status' | 'job';
  url: string | null;
  /**
   * Who produced it, as read from the platform's API (never from a payload): what `gate.sources`
   * pins a scan to. Absent when the adapter could not tell; a pinned scan then ignores the check.
   */
  producer?: CheckProducer;
}

/** The producer of a check, filled by the adapters from API answers. */
export interface CheckProducer {
  /** GitHub: the App that created the check run (`app.id`, `app.slug`). */
  app?: { id: number; slug: string | null };
  /**
   * GitHub Actions: the path of the workflow file of the run behind the check run's suite
   * (`.github/workflows/security.yml`), null when no workflow run was found for the suite.
   */
  workflowPath?: string | null;
  /** A commit status: the login (GitHub) or username (GitLab) of the account that posted it. */
  statusCreator?: string | null;
  /** GitLab: the pipeline job's name. */
  jobName?: string;
  /**
   * GitLab: the project's pipeline configuration file (`.gitlab-ci.yml` or the project's
   * `ci_config_path`), null when it lives outside the repository (another project, a URL).
   */
  pipelineConfigPath?: string | null;
}

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info' | 'unknown';

/** An open finding on the head: a code-scanning alert (GitHub) or a security-report entry (GitLab). */
export interface Finding {
  /** Stable per finding: `code-scanning:<alert number>`, `gitlab:<report type>:<id or fingerprint>`. */
  id: string;
  /** The rule or identifier it breaks (CodeQL rule id, CVE, secret-detection rule…): what exceptions name. */
  ruleId: string;
  /** The scan kind it came from: `sast`, `secrets`, `dependencies`, `container`, `dast`, … */
  category: string;
  severity: Severity;
  title: string;
  /** File path (or package) it is in, when known: exceptions may be scoped by path. */
  location: string | null;
  tool: string;
  url: string | null;
}

/**
 * One approval of the change request (the latest of its account), with the facts the gate needs,
 * each read from the platform's API: the commit it approved, whether the account is a bot, has
 * write access, pushed the head.
 */
export interface ApprovalEvidence {
  login: string;
  /** It approves the head commit (GitHub: the review's `commit_id`; GitLab: given after the MR's latest version). */
  atHead: boolean;
  /** The commit it approved, when known (GitHub review `commit_id`; GitLab the MR version's head when it was given). */
  commitSha: string | null;
  /** GitHub `user.type === 'Bot'`; GitLab `bot: true` where the API says so. */
  bot: boolean;
  /** GitHub permission admin/maintain/write; GitLab access level ≥ 30 (Developer). null: could not be read. */
  canWrite: boolean | null;
  /** The account authored or committed the head commit (GitHub: the last pusher cannot approve). */
  lastPusher: boolean;
}

/** A source of evidence that could not be read (API error, timeout): the gate goes pending, never passes. */
export interface EvidenceError {
  source: 'checks' | 'statuses' | 'reviews' | 'files' | 'findings' | 'reports' | 'pipeline' | 'approvals';
  message: string;
  /** The HTTP status, when the platform answered with one. */
  status?: number;
  /**
   * What went wrong, when the adapter can tell: `api` (error answer, timeout), `not-enabled`
   * (the platform feature is off, e.g. code scanning), `no-analysis` (enabled, but nothing was
   * uploaded for this head), `truncated` (more pages than the adapter reads), `invalid` (an
   * answer or report that does not parse). Every kind means the evidence is incomplete.
   */
  kind?: 'api' | 'not-enabled' | 'no-analysis' | 'truncated' | 'invalid';
}

export interface ReleaseEvidence {
  headSha: string;
  /** ISO-8601 UTC, when the shell collected it. */
  collectedAt: string;
  checks: CheckEvidence[];
  approvals: ApprovalEvidence[];
  /** The change request's author as the platform's API answered (GitLab reads it: MR hooks name only the actor). */
  authorLogin?: string | null;
  /** Logins that requested changes and have not approved since. */
  changesRequestedBy: string[];
  changedPaths: string[];
  findings: Finding[];
  /** The sources that failed; empty when the evidence is complete. */
  errors: EvidenceError[];
  /** Counters for the decision record and bench/gate. */
  stats: {
    apiCalls: number;
    checkRuns: number;
    findings: number;
    /** Commit statuses (GitHub) / pipeline jobs (GitLab) read. */
    statuses?: number;
    /** True when this evidence was served from the adapter's per-head cache (no API call made). */
    cached?: boolean;
  };
}
