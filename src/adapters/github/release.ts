/**
 * The GitHub side of the release gate (ReleaseForge) over one installation's Octokit: evidence
 * from the REST API (CONTRACT.md "Release gate"), the `gatehouse/release-gate` check run, release
 * notes, follow-up issues. Every response field read is parsed with zod (the schemas are in schema.ts).
 *
 * Evidence sources are read concurrently; a paginated source reads its first page, then, when the
 * page count is known (`total_count` or a `Link: rel="last"`), the remaining pages a few at a
 * time. One source's failure becomes an `errors[]` entry; the others are still read.
 *
 * Each check carries its producer (what `gate.sources` pins): a check run its App, and, when a kind
 * pins workflows, the workflow file of its suite (one listing of the head's workflow runs, which
 * needs the App's Actions read permission); a commit status its creator, when a kind pins status
 * creators (the statuses are then listed with their creators rather than combined). The changed
 * files are checked against the pull request's `changed_files`: at GitHub's 3,000-file cap or
 * more than listed, the listing is truncated evidence.
 */
import type { z } from 'zod';
import type { ApprovalEvidence, CheckEvidence, EvidenceError, Finding, ReleaseEvidence, Severity } from '../../core/gate/evidence.ts';
import type { ChangeRequestSnapshot, IssueRef, RepoRef } from '../../core/model.ts';
import { GATE_CHECK_NAME } from '../../core/gate/actions.ts';
import { defaultScanPatterns, scanKindOf, type ScanPatterns } from '../../core/gate/scan-patterns.ts';
import { issueMarker, spliceSection } from '../../core/workflows/sections.ts';
import type { CollectOptions, GateCheck, NewIssue, ReleaseForge, ReleaseNoteOutcome } from '../../ports/release.ts';
import { EvidenceCache, PER_PAGE, readPages, SourceError, toEvidenceError } from '../evidence.ts';
import type { GitHubRequester } from './forge.ts';
import {
  alertsSchema,
  checkRunSchema,
  checkRunsSchema,
  combinedStatusSchema,
  commitAccountsSchema,
  createdIssueSchema,
  pullFilesSchema,
  issueListSchema,
  labelsSchema,
  permissionSchema,
  pullFilesCountSchema,
  pullsSchema,
  releaseSchema,
  reviewsSchema,
  statusListSchema,
  tagCommitSchema,
  workflowRunsSchema,
} from './schema.ts';

const DEFAULT_MAX_PAGES = 50;
/** GitHub lists at most this many files of a pull request (`GET /pulls/{n}/files`). */
export const GITHUB_FILES_CAP = 3000;
const GITHUB_ACTIONS_APP_ID = 15368;
const SUMMARY_MAX = 65_535;

const WRITE_PERMISSIONS = new Set(['admin', 'maintain', 'write']);
/** Approvers whose write access is read per evaluation, at most; more is an incomplete read (a block). */
export const MAX_APPROVER_LOOKUPS = 20;

// --- helpers ----------------------------------------------------------------------------------

const split = (fullName: string): { owner: string; repo: string } => {
  const i = fullName.indexOf('/');
  return { owner: fullName.slice(0, i), repo: fullName.slice(i + 1) };
};

const statusOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : undefined;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The `rel="last"` page of a Link header, or null. */
export function lastPageOf(headers: Record<string, unknown> | undefined): number | null {
  const link = headers?.['link'];
  if (typeof link !== 'string') return null;
  for (const part of link.split(',')) {
    if (!/rel="last"/.test(part)) continue;
    const url = /<([^>]+)>/.exec(part)?.[1];
    if (!url) continue;
    const page = Number(new URL(url, 'https://api.github.com').searchParams.get('page'));
    if (Number.isInteger(page) && page > 0) return page;
  }
  return null;
}

export function checkRunState(status: string, conclusion: string | null | undefined): CheckEvidence['state'] {
  if (status !== 'completed') return 'pending';
  switch (conclusion) {
    case 'success':
      return 'success';
    case 'neutral':
      return 'neutral';
    case 'skipped':
      return 'skipped';
    case 'cancelled':
    case 'stale':
      return 'cancelled';
    case null:
    case undefined:
      return 'pending';
    default:
      // failure, timed_out, action_required, startup_failure, and anything new
      return 'failure';
  }
}

function statusState(state: string): CheckEvidence['state'] {
  if (state === 'success') return 'success';
  if (state === 'pending') return 'pending';
  return 'failure'; // failure, error
}

/**
 * A check run's producer: its App, and for a GitHub Actions run the workflow file behind its check
 * suite (null when the workflow runs were read and none matches; absent when they were not read).
 */
export function checkRunProducer(
  c: z.infer<typeof checkRunSchema>,
  workflowPaths: ReadonlyMap<number, string> | null,
): CheckEvidence['producer'] {
  if (!c.app) return {};
  const producer: NonNullable<CheckEvidence['producer']> = { app: { id: c.app.id, slug: c.app.slug ?? null } };
  if (workflowPaths && c.app.id === GITHUB_ACTIONS_APP_ID)
    producer.workflowPath = (c.check_suite && workflowPaths.get(c.check_suite.id)) ?? null;
  return producer;
}

/** Code-scanning severity: `security_severity_level` first, else `severity` (error→high, warning→medium, note→low). */
export function alertSeverity(rule: { severity?: string | null; security_severity_level?: string | null }): Severity {
  const level = rule.security_severity_level?.toLowerCase();
  if (level === 'critical' || level === 'high' || level === 'medium' || level === 'low') return level;
  switch (rule.severity?.toLowerCase()) {
    case 'error':
      return 'high';
    case 'warning':
      return 'medium';
    case 'note':
      return 'low';
    case 'none':
      return 'info';
    default:
      return 'unknown';
  }
}

/** Latest decisive review per reviewer (COMMENTED and PENDING change nothing; DISMISSED clears). */
export function reviewOutcome(
  reviews: z.infer<typeof reviewsSchema>,
  headSha: string,
): { approvals: ApprovalEvidence[]; changesRequestedBy: string[] } {
  const latest = new Map<string, { state: string; commit: string | null; bot: boolean }>();
  for (const r of reviews) {
    if (!r.user) continue;
    const state = r.state.toUpperCase();
    if (state === 'APPROVED' || state === 'CHANGES_REQUESTED')
      latest.set(r.user.login, { state, commit: r.commit_id ?? null, bot: r.user.type === 'Bot' });
    else if (state === 'DISMISSED') latest.delete(r.user.login);
  }
  const approvals: ApprovalEvidence[] = [];
  const changesRequestedBy: string[] = [];
  for (const [login, { state, commit, bot }] of latest) {
    // Write access and the last pusher are read afterwards (approverFacts), for the approvals that could count.
    if (state === 'APPROVED')
      approvals.push({ login, atHead: commit === headSha, commitSha: commit, bot, canWrite: null, lastPusher: false });
    else changesRequestedBy.push(login);
  }
  return { approvals, changesRequestedBy };
}

type Get = (route: string, params: Record<string, unknown>) => Promise<{ data: unknown }>;

/**
 * The facts an approval needs beyond the review, read for the approvals that could count (at the
 * head, not a bot), each login once: write access (`GET …/collaborators/{username}/permission`:
 * admin, maintain or write; 404 is no access) and whether the account authored or committed the
 * head commit (`GET …/commits/{sha}`, the GitHub accounts of its author and committer): GitHub's
 * rule that the last pusher cannot approve, as far as the commit shows it. More approvers than
 * MAX_APPROVER_LOOKUPS is an incomplete read.
 */
export async function approverFacts(get: Get, approvals: readonly ApprovalEvidence[], headSha: string): Promise<ApprovalEvidence[]> {
  const candidates = [...new Set(approvals.filter((a) => a.atHead && !a.bot).map((a) => a.login))];
  if (candidates.length === 0) return [...approvals];
  if (candidates.length > MAX_APPROVER_LOOKUPS)
    throw new SourceError({
      source: 'reviews',
      kind: 'truncated',
      message: `${candidates.length} approvers at the head, more than the ${MAX_APPROVER_LOOKUPS} whose write access is read`,
    });
  const permissionOf = async (login: string): Promise<[string, boolean]> => {
    try {
      const p = permissionSchema.parse(
        (await get('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { username: login })).data,
      );
      return [login, WRITE_PERMISSIONS.has(p.permission) || WRITE_PERMISSIONS.has(p.role_name ?? '')];
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      return [login, false];
    }
  };
  const [commitRes, ...permissions] = await Promise.all([
    get('GET /repos/{owner}/{repo}/commits/{ref}', { ref: headSha }),
    ...candidates.map(permissionOf),
  ]);
  const commit = commitAccountsSchema.parse(commitRes.data);
  const pushers = new Set([commit.author?.login, commit.committer?.login].filter((l): l is string => !!l).map((l) => l.toLowerCase()));
  const canWrite = new Map(permissions);
  return approvals.map((a) =>
    canWrite.has(a.login) ? { ...a, canWrite: canWrite.get(a.login)!, lastPusher: pushers.has(a.login.toLowerCase()) } : a,
  );
}

export interface GitHubReleaseOptions {
  /** Our bot's login (`slug[bot]`): whose issues `openIssue` searches. */
  botLogin: string | null;
  /** Our GitHub App's id: only its check runs are updated. */
  appId?: number | null;
  /** Shared across instances (the worker builds a client per job); a private one otherwise. */
  cache?: EvidenceCache;
  now?: () => Date;
}

export class GitHubReleaseForge implements ReleaseForge {
  private readonly cache: EvidenceCache;
  private readonly now: () => Date;

  constructor(
    private readonly octokit: GitHubRequester,
    private readonly options: GitHubReleaseOptions,
  ) {
    this.cache = options.cache ?? new EvidenceCache();
    this.now = options.now ?? (() => new Date());
  }

  forget(headSha: string): void {
    this.cache.forget(headSha);
  }

  async collectEvidence(target: IssueRef, headSha: string, opts: CollectOptions = {}): Promise<ReleaseEvidence> {
    const cached = this.cache.get(target, headSha);
    if (cached) return cached;

    const { owner, repo } = split(target.repo.fullName);
    const n = target.number;
    const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
    const patterns = opts.scanPatterns ?? defaultScanPatterns;
    let apiCalls = 0;
    const get = async (route: string, params: Record<string, unknown>): Promise<{ data: unknown; headers?: Record<string, unknown> }> => {
      apiCalls++;
      return this.octokit.request(route, { owner, repo, ...params });
    };
    const errors: EvidenceError[] = [];
    const read = async <T>(source: EvidenceError['source'], what: string, fn: () => Promise<T>, empty: T): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        errors.push(this.describeError(source, what, err, n));
        return empty;
      }
    };

    const sources = Object.values(opts.sources ?? {});
    const pinsWorkflows = sources.some((s) => s.github.workflows.length > 0);
    const pinsStatusCreators = sources.some((s) => s.github.statusCreators.length > 0);

    const [checkRuns, statuses, reviews, files, alerts, workflowPaths] = await Promise.all([
      read(
        'checks',
        'check runs',
        () =>
          readPages('checks', 'check runs', maxPages, async (page) => {
            const res = await get('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { ref: headSha, per_page: PER_PAGE, page });
            const data = checkRunsSchema.parse(res.data);
            return { items: data.check_runs, last: Math.max(1, Math.ceil(data.total_count / PER_PAGE)) };
          }),
        [],
      ),
      read(
        'statuses',
        'commit statuses',
        async (): Promise<{ context: string; state: string; target_url?: string | null; creator?: string | null }[]> => {
          if (pinsStatusCreators) {
            // Every status with its creator, newest first: the first of each context is its current state.
            const all = await readPages('statuses', 'commit statuses', maxPages, async (page) => {
              const res = await get('GET /repos/{owner}/{repo}/commits/{ref}/statuses', { ref: headSha, per_page: PER_PAGE, page });
              return { items: statusListSchema.parse(res.data), last: lastPageOf(res.headers) };
            });
            const latest = new Map<string, (typeof all)[number]>();
            for (const st of all) if (!latest.has(st.context)) latest.set(st.context, st);
            return [...latest.values()].map((st) => ({
              context: st.context,
              state: st.state,
              target_url: st.target_url ?? null,
              creator: st.creator?.login ?? null,
            }));
          }
          return readPages('statuses', 'commit statuses', maxPages, async (page) => {
            const res = await get('GET /repos/{owner}/{repo}/commits/{ref}/status', { ref: headSha, per_page: PER_PAGE, page });
            const data = combinedStatusSchema.parse(res.data);
            return {
              items: data.statuses,
              last: data.total_count !== undefined ? Math.max(1, Math.ceil(data.total_count / PER_PAGE)) : lastPageOf(res.headers),
            };
          });
        },
        [],
      ),
      read(
        'reviews',
        'reviews',
        () =>
          readPages('reviews', 'reviews', maxPages, async (page) => {
            const res = await get('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', { pull_number: n, per_page: PER_PAGE, page });
            return { items: reviewsSchema.parse(res.data), last: lastPageOf(res.headers) };
          }),
        null,
      ),
      read(
        'files',
        'changed files',
        // GitHub lists at most 3,000 files of a pull request: the pull request's own count tells
        // whether the listing is whole. A padded pull request must not hide its high-risk paths.
        async () => {
          const [pull, listed] = await Promise.all([
            get('GET /repos/{owner}/{repo}/pulls/{pull_number}', { pull_number: n }).then((res) => pullFilesCountSchema.parse(res.data)),
            readPages('files', 'changed files', Math.min(maxPages, GITHUB_FILES_CAP / PER_PAGE), async (page) => {
              const res = await get('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { pull_number: n, per_page: PER_PAGE, page });
              return { items: pullFilesSchema.parse(res.data), last: lastPageOf(res.headers) };
            }),
          ]);
          if (pull.changed_files >= GITHUB_FILES_CAP || (pull.head.sha === headSha && pull.changed_files > listed.length)) {
            throw new SourceError({
              source: 'files',
              kind: 'truncated',
              message: `changed files: the pull request changes ${pull.changed_files} file(s) and ${listed.length} were listed; GitHub lists at most ${GITHUB_FILES_CAP} files of a pull request, so its paths (and release class) cannot be known in full`,
            });
          }
          return listed;
        },
        [],
      ),
      read(
        'findings',
        'code scanning alerts',
        () =>
          readPages('findings', 'code scanning alerts', maxPages, async (page) => {
            const res = await get('GET /repos/{owner}/{repo}/code-scanning/alerts', {
              ref: `refs/pull/${n}/head`,
              state: 'open',
              per_page: PER_PAGE,
              page,
            });
            return { items: alertsSchema.parse(res.data), last: lastPageOf(res.headers) };
          }),
        [],
      ),
      // Which workflow file each Actions check suite ran: one listing, only when a kind pins workflows.
      pinsWorkflows
        ? read(
            'checks',
            'workflow runs',
            async () => {
              const runs = await readPages('checks', 'workflow runs', maxPages, async (page) => {
                const res = await get('GET /repos/{owner}/{repo}/actions/runs', { head_sha: headSha, per_page: PER_PAGE, page });
                const data = workflowRunsSchema.parse(res.data);
                return { items: data.workflow_runs, last: Math.max(1, Math.ceil(data.total_count / PER_PAGE)) };
              });
              return new Map(
                runs.filter((r) => r.head_sha === headSha && r.check_suite_id != null).map((r) => [r.check_suite_id!, r.path]),
              );
            },
            null,
          )
        : Promise.resolve(null),
    ]);

    const checks: CheckEvidence[] = [
      ...checkRuns
        .filter((c) => c.name !== GATE_CHECK_NAME)
        .map((c): CheckEvidence => ({
          name: c.name,
          state: checkRunState(c.status, c.conclusion),
          source: 'check-run',
          url: c.html_url ?? c.details_url ?? null,
          producer: checkRunProducer(c, workflowPaths),
        })),
      ...statuses
        .filter((s) => s.context !== GATE_CHECK_NAME)
        .map((s): CheckEvidence => ({
          name: s.context,
          state: statusState(s.state),
          source: 'status',
          url: s.target_url ?? null,
          ...('creator' in s ? { producer: { statusCreator: s.creator ?? null } } : {}),
        })),
    ];
    const outcome = reviews ? reviewOutcome(reviews, headSha) : { approvals: [], changesRequestedBy: [] };
    const { changesRequestedBy } = outcome;
    const approvals = await read(
      'reviews',
      "approvers' write access and the head commit",
      () => approverFacts(get, outcome.approvals, headSha),
      outcome.approvals,
    );
    const changedPaths = [...new Set(files.flatMap((f) => [f.filename, ...(f.previous_filename ? [f.previous_filename] : [])]))];
    const findings = alerts.map((a) => this.finding(a, patterns));

    const evidence: ReleaseEvidence = {
      headSha,
      collectedAt: this.now().toISOString(),
      checks,
      approvals,
      changesRequestedBy,
      changedPaths,
      findings,
      errors,
      stats: { apiCalls, checkRuns: checkRuns.length, findings: findings.length, statuses: statuses.length },
    };
    this.cache.set(target, evidence);
    return evidence;
  }

  private describeError(source: EvidenceError['source'], what: string, err: unknown, n: number): EvidenceError {
    if (source === 'findings' && !(err instanceof SourceError)) {
      const status = statusOf(err);
      const text = messageOf(err);
      if (status === 404 && /no analysis found/i.test(text)) {
        return {
          source,
          kind: 'no-analysis',
          status,
          message: `code scanning: no analysis found for refs/pull/${n}/head (no scan has uploaded results for this pull request)`,
        };
      }
      if (status === 403 && /not enabled|advanced security|not available/i.test(text)) {
        return { source, kind: 'not-enabled', status, message: `code scanning is not enabled for this repository (HTTP 403: ${text})` };
      }
    }
    return toEvidenceError(source, what, err, statusOf(err));
  }

  private finding(a: z.infer<typeof alertsSchema>[number], patterns: ScanPatterns): Finding {
    const tool = a.tool?.name ?? 'code scanning';
    const kind = scanKindOf(tool, patterns);
    return {
      id: `code-scanning:${a.number}`,
      ruleId: a.rule.id ?? a.rule.name ?? `alert-${a.number}`,
      category: kind && kind !== 'provenance' ? kind : 'sast',
      severity: alertSeverity(a.rule),
      title: a.rule.description ?? a.rule.name ?? a.rule.id ?? `alert ${a.number}`,
      location: a.most_recent_instance?.location?.path ?? null,
      tool,
      url: a.html_url ?? null,
    };
  }

  async currentLabels(target: IssueRef): Promise<string[]> {
    const { owner, repo } = split(target.repo.fullName);
    const labels: string[] = [];
    for (let page = 1; page <= 10; page++) {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        owner,
        repo,
        issue_number: target.number,
        per_page: PER_PAGE,
        page,
      });
      const list = labelsSchema.parse(res.data);
      labels.push(...list.map((l) => l.name));
      if (list.length < PER_PAGE) break;
    }
    return labels;
  }

  /**
   * Our check run on `headSha`, found by name (and app, when known): updated in place. GitHub does
   * not move a completed run back to in progress, so `pending` after a conclusion starts a new run
   * (GitHub and branch rules take the newest run of a name).
   */
  async setGateCheck(target: IssueRef, headSha: string, check: GateCheck): Promise<void> {
    const { owner, repo } = split(target.repo.fullName);
    const res = await this.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
      owner,
      repo,
      ref: headSha,
      check_name: GATE_CHECK_NAME,
      ...(this.options.appId ? { app_id: this.options.appId } : {}),
      per_page: PER_PAGE,
    });
    const runs = checkRunsSchema
      .parse(res.data)
      .check_runs.filter((r) => r.name === GATE_CHECK_NAME && (!this.options.appId || r.app?.id === this.options.appId));
    const existing = runs.sort((a, b) => b.id - a.id)[0];
    const pending = check.conclusion === 'pending';
    const fields = {
      ...(pending ? { status: 'in_progress' } : { status: 'completed', conclusion: check.conclusion }),
      output: {
        title: check.title.slice(0, 255),
        summary: check.summary.length > SUMMARY_MAX ? `${check.summary.slice(0, SUMMARY_MAX - 1)}…` : check.summary,
      },
      ...(check.detailsUrl ? { details_url: check.detailsUrl } : {}),
    };
    if (existing && !(pending && existing.status === 'completed')) {
      await this.octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner,
        repo,
        check_run_id: existing.id,
        ...fields,
      });
      return;
    }
    await this.octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      owner,
      repo,
      name: GATE_CHECK_NAME,
      head_sha: headSha,
      ...fields,
    });
  }

  async openIssue(repoRef: RepoRef, key: string, issue: NewIssue): Promise<{ number: number; url: string }> {
    const { owner, repo } = split(repoRef.fullName);
    const marker = issueMarker(key);
    const bot = this.options.botLogin;
    for (let page = 1; page <= 10; page++) {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues', {
        owner,
        repo,
        state: 'open',
        ...(bot ? { creator: bot } : {}),
        per_page: PER_PAGE,
        page,
        sort: 'created',
        direction: 'desc',
      });
      const list = issueListSchema.parse(res.data);
      const mine = list.find(
        (i) => i.pull_request === undefined && (i.body ?? '').includes(marker) && (bot ? i.user?.login === bot : i.user?.type === 'Bot'),
      );
      if (mine) return { number: mine.number, url: mine.html_url };
      if (list.length < PER_PAGE) break;
    }
    const due = issue.dueDate ? `\n\nDue: ${issue.dueDate}` : '';
    const res = await this.octokit.request('POST /repos/{owner}/{repo}/issues', {
      owner,
      repo,
      title: issue.title,
      body: `${issue.body.trimEnd()}${due}\n\n${marker}`,
      labels: issue.labels,
    });
    const created = createdIssueSchema.parse(res.data);
    return { number: created.number, url: created.html_url };
  }

  async addReleaseNote(repoRef: RepoRef, tag: string, marker: string, text: string): Promise<ReleaseNoteOutcome> {
    const { owner, repo } = split(repoRef.fullName);
    let release: z.infer<typeof releaseSchema>;
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner, repo, tag });
      release = releaseSchema.parse(res.data);
    } catch (err) {
      if (statusOf(err) === 404) return 'no-release';
      throw err;
    }
    const before = release.body ?? '';
    const after = spliceSection(before, marker, text);
    if (after === before) return 'unchanged';
    await this.octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', { owner, repo, release_id: release.id, body: after });
    return 'updated';
  }

  async tagCommit(repoRef: RepoRef, tag: string): Promise<string | null> {
    const { owner, repo } = split(repoRef.fullName);
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', { owner, repo, ref: `tags/${tag}` });
      return tagCommitSchema.parse(res.data).sha;
    } catch (err) {
      if (statusOf(err) === 404 || statusOf(err) === 422) return null;
      throw err;
    }
  }

  async changeRequestsForCommit(repoRef: RepoRef, sha: string): Promise<ChangeRequestSnapshot[]> {
    const { owner, repo } = split(repoRef.fullName);
    const res = await this.octokit.request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', {
      owner,
      repo,
      commit_sha: sha,
      per_page: PER_PAGE,
    });
    return pullsSchema
      .parse(res.data)
      .filter((pr) => pr.state === 'open' && pr.head.sha === sha)
      .map((pr) => {
        const author = pr.user ?? { login: 'ghost', type: 'User' };
        return {
          ref: { repo: repoRef, number: pr.number, kind: 'change' },
          title: pr.title,
          body: pr.body ?? '',
          labels: pr.labels.map((l) => l.name),
          state: 'open',
          author: { login: author.login, isBot: author.type === 'Bot' },
          url: pr.html_url,
          headSha: pr.head.sha,
          targetBranch: pr.base.ref,
          draft: pr.draft ?? false,
        };
      });
  }
}
