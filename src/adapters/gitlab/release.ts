/**
 * The GitLab side of the release gate (ReleaseForge), over GitLabApi's requester (`api.rest`, the
 * safe requester of requester.ts: 429 Retry-After obeyed, GETs retried, POSTs never replayed).
 *
 * Evidence for a merge request at `headSha`:
 * - the pipeline: the MR's `head_pipeline` when it ran on `headSha`, else the newest MR pipeline
 *   on `headSha`; its jobs (latest attempts, paginated) are the checks. No pipeline on the head is
 *   not an error: the checks are simply missing (the gate says which);
 * - other commit statuses on `headSha` (external CI, signing or provenance services), jobs' own
 *   statuses and ours (`gatehouse/release-gate`) left out;
 * - approvals (`approved_by`); one is at the head when GitLab dates it (`approved_at`) after the
 *   push that made `headSha` the head (MR versions), or, without dates, when the project removes
 *   approvals on push (`reset_approvals_on_push`); when neither can be read, it is counted as stale;
 * - reviewers who requested changes (GitLab 17.x reviewer states; an older GitLab without the
 *   endpoint answers 404, read as nobody);
 * - changed paths (MR diffs), checked against the MR's `changes_count`: `"1000+"` (GitLab's diff
 *   limits) or more than listed is a truncated listing (incomplete evidence, never taken as whole);
 * - the producer of each check (what `gate.sources` pins): a status's author, and, when a kind
 *   pins jobs, each job's name and the project's pipeline configuration file (`ci_config_path`);
 * - findings from the security reports the finished jobs publish: artifacts of a security file
 *   type (sast, secret_detection, dependency_scanning, container_scanning, dast…), and for jobs
 *   whose name matches a scan pattern, `gl-<kind>-report.json` when the job has it. GitLab
 *   security reports and SARIF are both read (security-report.ts).
 */
import type { z } from 'zod';
import type { ApprovalEvidence, CheckEvidence, EvidenceError, Finding, ReleaseEvidence } from '../../core/gate/evidence.ts';
import type { ChangeRequestSnapshot, IssueRef, RepoRef } from '../../core/model.ts';
import { GATE_CHECK_NAME } from '../../core/gate/actions.ts';
import { defaultScanPatterns, scanKindOf, type ScanPatterns } from '../../core/gate/scan-patterns.ts';
import { issueMarker, spliceSection } from '../../core/workflows/sections.ts';
import type { CollectOptions, GateCheck, NewIssue, ReleaseForge, ReleaseNoteOutcome } from '../../ports/release.ts';
import { EvidenceCache, PER_PAGE, readPages, SourceError, toEvidenceError, type Page } from '../evidence.ts';
import type { GitLabApi } from './client.ts';
import { statusOf } from './requester.ts';
import { categoryOfReportType, parseSecurityReport, SECURITY_REPORT_TYPES } from './security-report.ts';
import { isMergeRequest, projectOf } from './target.ts';
import {
  commitMergeRequestsSchema,
  datedApprovalsSchema,
  diffsSchema,
  followUpIssueSchema,
  followUpIssuesSchema,
  gateMergeRequestSchema,
  jobsSchema,
  labelsOnlySchema,
  memberSchema,
  pipelinesSchema,
  projectApprovalsSchema,
  projectCiConfigSchema,
  releaseSchema,
  reviewersSchema,
  statusesSchema,
  tagSchema,
  versionsSchema,
} from './schema.ts';

const DEFAULT_MAX_PAGES = 50;
/** Report downloads in flight at once. */
const REPORT_CONCURRENCY = 4;

const DEVELOPER = 30;
/** Approvers whose membership is read per evaluation, at most; more is an incomplete read (a block). */
export const MAX_APPROVER_LOOKUPS = 20;

type Job = z.infer<typeof jobsSchema>[number];

/** Report file names GitLab's analyzers write, per scan kind (for jobs recognised by name only). */
const REPORT_FILE: Record<string, string> = {
  secrets: 'gl-secret-detection-report.json',
  sast: 'gl-sast-report.json',
  dependencies: 'gl-dependency-scanning-report.json',
  container: 'gl-container-scanning-report.json',
};

export function jobState(status: string, allowFailure: boolean): CheckEvidence['state'] {
  switch (status) {
    case 'success':
      return 'success';
    case 'failed':
      return allowFailure ? 'neutral' : 'failure';
    case 'canceled':
    case 'canceling':
      return 'cancelled';
    case 'skipped':
    case 'manual':
      return 'skipped';
    default:
      // created, pending, running, preparing, scheduled, waiting_for_resource, waiting_for_callback
      return 'pending';
  }
}

const FINISHED = new Set(['success', 'failed']);

interface ReportRef {
  job: Job;
  path: string;
  reportType?: string;
  category: string;
  /** Recognised by the job's name only: a missing file is not an error. */
  optional: boolean;
}

/** Which report files to read from which jobs. */
export function reportsToRead(jobs: readonly Job[], patterns: ScanPatterns): ReportRef[] {
  const refs: ReportRef[] = [];
  for (const job of jobs) {
    if (!FINISHED.has(job.status)) continue;
    const artifacts = job.artifacts ?? [];
    const typed = artifacts.filter((a) => SECURITY_REPORT_TYPES.has(a.file_type) && a.filename);
    for (const a of typed)
      refs.push({
        job,
        path: a.filename!,
        reportType: a.file_type,
        category: categoryOfReportType(a.file_type) ?? a.file_type,
        optional: false,
      });
    if (typed.length > 0) continue;
    const kind = scanKindOf(job.name, patterns);
    const file = kind ? REPORT_FILE[kind] : undefined;
    if (kind && file && artifacts.some((a) => a.file_type === 'archive')) refs.push({ job, path: file, category: kind, optional: true });
  }
  return refs;
}

const encode = (project: string | number): string => encodeURIComponent(String(project));

/**
 * The repository file of the project's pipeline configuration from its `ci_config_path`: empty is
 * `.gitlab-ci.yml`; a file in another project (`path@group/project`) or a URL is outside the
 * repository (null): a merge request cannot change it.
 */
export function pipelineConfigFile(ciConfigPath: string | null | undefined): string | null {
  const path = (ciConfigPath ?? '').trim();
  if (path === '') return '.gitlab-ci.yml';
  if (path.includes('@') || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return null;
  return path.replace(/^\.?\//, '');
}

async function pool<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return out;
}

export interface GitLabReleaseOptions {
  /** The token's user: whose issues `openIssue` searches. */
  botUsername: string;
  cache?: EvidenceCache;
  now?: () => Date;
}

export class GitLabReleaseForge implements ReleaseForge {
  private readonly cache: EvidenceCache;
  private readonly now: () => Date;

  constructor(
    private readonly api: GitLabApi,
    private readonly options: GitLabReleaseOptions,
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

    const p = `projects/${encode(projectOf(target.repo))}`;
    const mr = `${p}/merge_requests/${target.number}`;
    const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
    const patterns = opts.scanPatterns ?? defaultScanPatterns;
    let apiCalls = 0;
    const get = async (
      path: string,
      searchParams: Record<string, unknown> = {},
    ): Promise<{ body: unknown; headers: Record<string, string> }> => {
      apiCalls++;
      const res = await this.api.rest.get(path, { searchParams });
      return { body: res.body, headers: res.headers };
    };
    const page =
      <T>(schema: z.ZodType<T[]>, path: string, params: Record<string, unknown> = {}) =>
      async (n: number): Promise<Page<T>> => {
        const res = await get(path, { ...params, perPage: PER_PAGE, page: n });
        const total = Number(res.headers['x-total-pages']);
        return { items: schema.parse(res.body), last: Number.isInteger(total) && total > 0 ? total : null };
      };
    const errors: EvidenceError[] = [];
    const fail = (source: EvidenceError['source'], what: string, err: unknown): void => {
      errors.push(toEvidenceError(source, what, err, statusOf(err)));
    };
    const read = async <T>(source: EvidenceError['source'], what: string, fn: () => Promise<T>, empty: T): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        fail(source, what, err);
        return empty;
      }
    };

    const pinsJobs = Object.values(opts.sources ?? {}).some((s) => s.gitlab.jobs.length > 0);
    // The merge request, read once: its head pipeline and its count of changed files.
    const mergeRequest = get(mr).then((res) => gateMergeRequestSchema.parse(res.body));
    mergeRequest.catch(() => undefined);
    const mrOnce = (): Promise<z.infer<typeof gateMergeRequestSchema>> => mergeRequest;

    const pipelineAndReports = async (): Promise<{ jobs: Job[]; findings: Finding[] }> => {
      const pipeline = await read(
        'pipeline',
        'merge request pipeline',
        async () => {
          const m = await mergeRequest;
          if (m.head_pipeline && m.head_pipeline.sha === headSha) return m.head_pipeline;
          const list = pipelinesSchema.parse((await get(`${mr}/pipelines`, { perPage: PER_PAGE })).body);
          return list.filter((x) => x.sha === headSha).sort((a, b) => b.id - a.id)[0] ?? null;
        },
        null,
      );
      if (!pipeline) return { jobs: [], findings: [] };
      const jobs = await read(
        'checks',
        `jobs of pipeline ${pipeline.id}`,
        () => readPages('checks', `jobs of pipeline ${pipeline.id}`, maxPages, page(jobsSchema, `${p}/pipelines/${pipeline.id}/jobs`)),
        [],
      );
      const refs = reportsToRead(jobs, patterns);
      const parsed = await pool(refs, REPORT_CONCURRENCY, async (ref) => {
        const what = `${ref.path} of job ${ref.job.name} (#${ref.job.id})`;
        try {
          const res = await get(`${p}/jobs/${ref.job.id}/artifacts/${ref.path.split('/').map(encodeURIComponent).join('/')}`);
          const doc: unknown = typeof res.body === 'string' ? JSON.parse(res.body) : res.body;
          const out = await parseSecurityReport(doc, {
            reportType: ref.reportType,
            fallbackCategory: ref.category,
            url: ref.job.web_url ?? null,
          });
          if (out.problems.length > 0) {
            errors.push({
              source: 'reports',
              kind: 'invalid',
              message: `${what}: ${out.problems.length} entr${out.problems.length === 1 ? 'y' : 'ies'} not read (${out.problems.slice(0, 3).join('; ')})`,
            });
          }
          return out.findings;
        } catch (err) {
          const status = statusOf(err);
          if (ref.optional && status === 404) return [];
          if (status === 404) {
            // Declared by the job but not readable: retrying will not help, and it is no pass.
            errors.push({
              source: 'reports',
              kind: 'invalid',
              status,
              message: `${what}: not in the job's artifacts archive (GitLab keeps report artifacts apart: add the file to artifacts:paths)`,
            });
          } else if (err instanceof SyntaxError) {
            errors.push({ source: 'reports', kind: 'invalid', message: `${what}: not JSON (${err.message})` });
          } else fail('reports', what, err);
          return [];
        }
      });
      return { jobs, findings: parsed.flat() };
    };

    // The MR's author, from the API (merge request hooks name only who acted): their approval never counts.
    let authorLogin: string | null = null;
    const approvals = async (): Promise<ApprovalEvidence[]> => {
      const list = datedApprovalsSchema.parse((await get(`${mr}/approvals`)).body).approved_by;
      if (list.length === 0) return [];
      const m = await mrOnce();
      if (!m.author)
        throw new SourceError({
          source: 'approvals',
          kind: 'invalid',
          message: 'the merge request shows no author: approvals cannot be told apart from self-approval',
        });
      authorLogin = m.author.username;
      // The MR's latest version is its head push: an approval given after it approves that head.
      const versions = versionsSchema
        .parse((await get(`${mr}/versions`, { perPage: PER_PAGE })).body)
        .map((v) => ({ ...v, at: Date.parse(v.created_at) }));
      versions.sort((a, b) => a.at - b.at || (a.id ?? 0) - (b.id ?? 0));
      const newest = versions.at(-1) ?? null;
      const headIsNewest = newest !== null && newest.head_commit_sha === headSha;
      let resetOnPush: boolean | null = null;
      if (list.some((a) => !a.approved_at)) {
        try {
          resetOnPush = projectApprovalsSchema.parse((await get(`${p}/approvals`)).body).reset_approvals_on_push ?? false;
        } catch (err) {
          // Without the project's approval settings (a tier without them answers 403/404) an
          // undated approval cannot be shown to be at the head: counted as stale.
          const status = statusOf(err);
          if (status !== 403 && status !== 404) throw err;
          resetOnPush = false;
        }
      }
      const evidence = list.map((a): ApprovalEvidence & { userId?: number } => {
        const bot = a.user.bot === true || a.user.username === this.options.botUsername;
        const base = { login: a.user.username, bot, canWrite: null, lastPusher: false, userId: a.user.id };
        if (!a.approved_at)
          return {
            ...base,
            atHead: headIsNewest && resetOnPush === true,
            commitSha: headIsNewest && resetOnPush === true ? headSha : null,
          };
        const at = Date.parse(a.approved_at);
        const approvedVersion = versions.filter((v) => v.at <= at).at(-1) ?? null;
        return { ...base, atHead: headIsNewest && at >= newest.at, commitSha: approvedVersion?.head_commit_sha ?? null };
      });
      // Membership (access level) of the approvers that could count, each once.
      const candidates = [
        ...new Map(evidence.filter((a) => a.atHead && !a.bot && a.userId !== undefined).map((a) => [a.userId!, a])).values(),
      ];
      if (candidates.length > MAX_APPROVER_LOOKUPS)
        throw new SourceError({
          source: 'approvals',
          kind: 'truncated',
          message: `${candidates.length} approvers at the head, more than the ${MAX_APPROVER_LOOKUPS} whose access level is read`,
        });
      const access = new Map<number, { canWrite: boolean; bot: boolean }>();
      for (const a of candidates) {
        try {
          const member = memberSchema.parse((await get(`${p}/members/all/${a.userId!}`)).body);
          access.set(a.userId!, { canWrite: member.access_level >= DEVELOPER, bot: member.bot === true });
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
          access.set(a.userId!, { canWrite: false, bot: false });
        }
      }
      return evidence.map(({ userId, ...a }) => {
        const found = userId !== undefined ? access.get(userId) : undefined;
        return found ? { ...a, canWrite: found.canWrite, bot: a.bot || found.bot } : a;
      });
    };

    const changesRequested = async (): Promise<string[]> => {
      try {
        const list = reviewersSchema.parse((await get(`${mr}/reviewers`)).body);
        return list.filter((r) => r.state === 'requested_changes').map((r) => r.user.username);
      } catch (err) {
        if (statusOf(err) === 404) return [];
        throw err;
      }
    };

    const changedFiles = async (): Promise<z.infer<typeof diffsSchema>> => {
      const [m, listed] = await Promise.all([
        mergeRequest,
        readPages('files', 'changed files', maxPages, page(diffsSchema, `${mr}/diffs`)),
      ]);
      // GitLab's diff limits cut the diffs listing short; the merge request's count says so ("1000+").
      const count = m.changes_count?.trim() ?? null;
      const capped = count !== null && count.endsWith('+');
      if (capped || (count !== null && /^\d+$/.test(count) && Number(count) > listed.length)) {
        throw new SourceError({
          source: 'files',
          kind: 'truncated',
          message: `changed files: the merge request changes ${count} file(s) and ${listed.length} were listed; ${capped ? `GitLab lists at most ${count.slice(0, -1)} files of a merge request (its diff limits)` : 'the listing is not whole'}, so its paths (and release class) cannot be known in full`,
        });
      }
      return listed;
    };

    const [{ jobs, findings }, approved, changesRequestedBy, diffs, statuses, configFile] = await Promise.all([
      pipelineAndReports(),
      read('approvals', 'approvals', approvals, []),
      read('reviews', 'reviewers', changesRequested, []),
      read('files', 'changed files', changedFiles, []),
      read(
        'statuses',
        'commit statuses',
        () => readPages('statuses', 'commit statuses', maxPages, page(statusesSchema, `${p}/repository/commits/${headSha}/statuses`)),
        [],
      ),
      // Only when a kind pins jobs: which file is the pipeline configuration a merge request must not change.
      pinsJobs
        ? read(
            'pipeline',
            'project CI configuration path',
            async () => ({ path: pipelineConfigFile(projectCiConfigSchema.parse((await get(p)).body).ci_config_path) }),
            undefined,
          )
        : Promise.resolve(undefined),
    ]);

    const jobNames = new Set(jobs.map((j) => j.name));
    const checks: CheckEvidence[] = [
      ...jobs.map((j): CheckEvidence => ({
        name: j.name,
        state: jobState(j.status, j.allow_failure),
        source: 'job',
        url: j.web_url ?? null,
        ...(pinsJobs ? { producer: { jobName: j.name, ...(configFile ? { pipelineConfigPath: configFile.path } : {}) } } : {}),
      })),
      ...statuses
        .filter((s) => s.name !== GATE_CHECK_NAME && !jobNames.has(s.name))
        .map((s): CheckEvidence => ({
          name: s.name,
          state: jobState(s.status, s.allow_failure ?? false),
          source: 'status',
          url: s.target_url ?? null,
          ...(s.author ? { producer: { statusCreator: s.author.username } } : {}),
        })),
    ];
    const evidence: ReleaseEvidence = {
      headSha,
      collectedAt: this.now().toISOString(),
      checks,
      approvals: approved,
      authorLogin,
      changesRequestedBy,
      changedPaths: [...new Set(diffs.flatMap((d) => [d.new_path, d.old_path]))],
      findings,
      errors,
      stats: { apiCalls, checkRuns: jobs.length, findings: findings.length, statuses: statuses.length },
    };
    this.cache.set(target, evidence);
    return evidence;
  }

  async currentLabels(target: IssueRef): Promise<string[]> {
    const p = `projects/${encode(projectOf(target.repo))}`;
    const res = await this.api.rest.get(`${p}/${isMergeRequest(target) ? 'merge_requests' : 'issues'}/${target.number}`);
    return labelsOnlySchema.parse(res.body).labels;
  }

  /**
   * Our commit status on `headSha`, attached to the MR's head pipeline when it ran on that commit.
   * `neutral` (advisory mode) is `success` with a description that says so. GitLab refuses to
   * "transition" a status to the state it already has (400): that is taken as done.
   */
  async setGateCheck(target: IssueRef, headSha: string, check: GateCheck): Promise<void> {
    const project = projectOf(target.repo);
    const state = check.conclusion === 'pending' ? 'pending' : check.conclusion === 'failure' ? 'failed' : 'success';
    const description = (check.conclusion === 'neutral' ? `advisory (not enforced): ${check.title}` : check.title).slice(0, 255);
    let pipelineId: number | undefined;
    if (isMergeRequest(target)) {
      try {
        const m = gateMergeRequestSchema.parse(
          (await this.api.rest.get(`projects/${encode(project)}/merge_requests/${target.number}`)).body,
        );
        if (m.head_pipeline?.sha === headSha) pipelineId = m.head_pipeline.id;
      } catch {
        /* without the pipeline id GitLab picks the commit's latest pipeline */
      }
    }
    try {
      await this.api.commits.editStatus(project, headSha, state, {
        name: GATE_CHECK_NAME,
        description,
        ...(check.detailsUrl ? { targetUrl: check.detailsUrl } : {}),
        ...(pipelineId !== undefined ? { pipelineId } : {}),
      });
    } catch (err) {
      if (statusOf(err) === 400 && err instanceof Error && /cannot transition status/i.test(err.message)) return;
      throw err;
    }
  }

  async openIssue(repo: RepoRef, key: string, issue: NewIssue): Promise<{ number: number; url: string }> {
    const p = `projects/${encode(projectOf(repo))}`;
    const marker = issueMarker(key);
    const found = await this.api.rest.get(`${p}/issues`, {
      searchParams: {
        state: 'opened',
        authorUsername: this.options.botUsername,
        search: `gatehouse:issue:${key}`,
        in: 'description',
        perPage: PER_PAGE,
      },
    });
    const mine = followUpIssuesSchema
      .parse(found.body)
      .find((i) => (i.description ?? '').includes(marker) && i.author?.username === this.options.botUsername);
    if (mine) return { number: mine.iid, url: mine.web_url };
    const res = await this.api.rest.post(`${p}/issues`, {
      body: {
        title: issue.title,
        description: `${issue.body.trimEnd()}\n\n${marker}`,
        labels: issue.labels.join(','),
        ...(issue.dueDate ? { due_date: issue.dueDate } : {}),
      },
    });
    const created = followUpIssueSchema.parse(res.body);
    return { number: created.iid, url: created.web_url };
  }

  async addReleaseNote(repo: RepoRef, tag: string, marker: string, text: string): Promise<ReleaseNoteOutcome> {
    const path = `projects/${encode(projectOf(repo))}/releases/${encodeURIComponent(tag)}`;
    let release: z.infer<typeof releaseSchema>;
    try {
      release = releaseSchema.parse((await this.api.rest.get(path)).body);
    } catch (err) {
      if (statusOf(err) === 404) return 'no-release';
      throw err;
    }
    const before = release.description ?? '';
    const after = spliceSection(before, marker, text);
    if (after === before) return 'unchanged';
    await this.api.rest.put(path, { body: { description: after } });
    return 'updated';
  }

  async tagCommit(repo: RepoRef, tag: string): Promise<string | null> {
    try {
      const res = await this.api.rest.get(`projects/${encode(projectOf(repo))}/repository/tags/${encodeURIComponent(tag)}`);
      return tagSchema.parse(res.body).commit.id;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async changeRequestsForCommit(repo: RepoRef, sha: string): Promise<ChangeRequestSnapshot[]> {
    const res = await this.api.rest.get(`projects/${encode(projectOf(repo))}/repository/commits/${sha}/merge_requests`, {
      searchParams: { perPage: PER_PAGE },
    });
    return commitMergeRequestsSchema
      .parse(res.body)
      .filter((m) => m.state === 'opened' && m.sha === sha)
      .map((m) => ({
        ref: { repo, number: m.iid, kind: 'change' },
        title: m.title,
        body: m.description ?? '',
        labels: m.labels,
        state: 'open',
        author: { login: m.author?.username ?? 'ghost', isBot: m.author?.username === this.options.botUsername },
        url: m.web_url,
        headSha: m.sha ?? null,
        targetBranch: m.target_branch,
        draft: m.draft ?? m.work_in_progress ?? false,
      }));
  }
}
