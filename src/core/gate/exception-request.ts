/**
 * The exception register's intake: an "Exception request" issue (GitHub issue form / GitLab
 * description template, rendered from `exceptionFormView` with the intake templates) is parsed
 * into a register entry; a policy-named approver approves it by adding the approval label. The
 * plan works from the request as it is now (body, labels and author read from the platform's API
 * by the shell) and from who added the label (the platform's label events), never from the
 * delivery that triggered it, so a replayed old `labeled` delivery approves nothing.
 *
 * An approval is bound to the digest of the terms (exception-terms.ts) that Gatehouse registered
 * and showed: it is refused when the approver is not a global-policy approver, is the requester,
 * or approves an exception for another repository without being a cross-repository approver, and
 * when the request changed since Gatehouse last read it. Any change of terms after the approval
 * withdraws it (the label removed, the sticky comment says which terms changed, the Slack notice
 * is updated in place with an Approve button for the new terms). Every refusal is audited with its
 * actor. A renewal, or a category that several repositories keep asking exceptions for, raises the
 * `repeated-exception` escalation.
 */
import { withholdConfidential } from '../chat/confidential.ts';
import type { Action } from '../actions.ts';
import { globProblem } from '../policy/glob.ts';
import { noticeChannel } from '../chat/route.ts';
import type { IntakeFormView } from '../intake/form.ts';
import { parseIntake, sectionsOf } from '../intake/parse.ts';
import { issueKey, type IssueEvent } from '../model.ts';
import type { IntakeField, Policy } from '../policy/schema.ts';
import { neutralizeMentions, tableCell, textLimit } from '../text.ts';
import { changedTerms, shortDigest, termsDigest } from './exception-terms.ts';
import { approvalRefusal, requestRepoOf, type ExceptionStatus, type GateException } from './exceptions.ts';

export const EXCEPTION_MARKER = '<!-- gatehouse:exception -->';
const DAY_MS = 86_400_000;

const lower = (s: string): string => s.trim().toLowerCase();

/** The form's fields, in order. Field ids are what the parser reports problems by. */
export function exceptionFields(policy: Pick<Policy, 'gate'>): IntakeField[] {
  const kinds = [...Object.keys(policy.gate.scans), 'rollback', 'other'];
  return [
    {
      id: 'finding',
      label: 'Finding or control',
      kind: 'text',
      description:
        'The rule id (e.g. js/sql-injection), the finding id (e.g. code-scanning:42) or a control: control:<scan kind> (control:provenance) or control:rollback.',
      placeholder: 'js/sql-injection',
      required: true,
    },
    { id: 'category', label: 'Category', kind: 'choice', description: 'The kind of finding or control.', options: kinds, required: true },
    {
      id: 'repository',
      label: 'Repository',
      kind: 'text',
      description: 'Where it applies: owner/name (GitHub) or group/project (GitLab).',
      placeholder: 'acme/payments-api',
      required: true,
    },
    {
      id: 'paths',
      label: 'Paths',
      kind: 'text',
      description: 'Optional: path globs the exception is limited to, comma-separated (e.g. src/legacy/**). Empty: the whole repository.',
      required: false,
    },
    {
      id: 'controls',
      label: 'Compensating controls',
      kind: 'longtext',
      description: 'What reduces the risk while the exception stands.',
      required: true,
    },
    {
      id: 'owner',
      label: 'Business owner',
      kind: 'text',
      description: 'Who accepts the risk.',
      placeholder: '@handle',
      format: 'handle',
      required: true,
    },
    {
      id: 'expiry',
      label: 'Requested expiry',
      kind: 'text',
      description: `YYYY-MM-DD, at most ${policy.gate.exceptions.maxExpiryDays} days after the request.`,
      placeholder: 'YYYY-MM-DD',
      format: 'date',
      required: true,
    },
    {
      id: 'renews',
      label: 'Renews',
      kind: 'text',
      description: 'Optional: the earlier exception request this one renews (#number).',
      required: false,
    },
  ];
}

/** The view the intake templates render (the same templates as the security-review form). */
export function exceptionFormView(policy: Pick<Policy, 'gate'>): IntakeFormView {
  const fields = exceptionFields(policy);
  const GITHUB_TYPE = { text: 'input', longtext: 'textarea', choice: 'dropdown', checkboxes: 'checkboxes' } as const;
  return {
    title: 'Exception request',
    description: 'Ask for a time-bounded exception to a release gate rule: one finding or control, in one repository.',
    intakeLabel: policy.gate.exceptions.requestLabel,
    intro:
      'An approved exception waives exactly this finding or control, in this scope, until its expiry; then the release gate blocks again. ' +
      `An exception approver approves it by adding the ${policy.gate.exceptions.approvedLabel} label.`,
    fields: fields.map((f) => ({
      id: f.id,
      label: f.label,
      description: f.description,
      placeholder: f.placeholder ?? null,
      githubType: GITHUB_TYPE[f.kind],
      options: f.options ?? [],
      required: f.required,
      hint: [f.description, f.kind === 'choice' ? 'Tick exactly one.' : '', f.required ? 'Required.' : 'Optional.']
        .filter(Boolean)
        .join(' '),
    })),
  };
}

/** An issue is an exception request when it has the request label or the form's first heading. */
export function isExceptionRequest(issue: { body: string; labels: readonly string[] }, policy: Pick<Policy, 'gate'>): boolean {
  if (issue.labels.some((l) => lower(l) === lower(policy.gate.exceptions.requestLabel))) return true;
  const [first] = exceptionFields(policy);
  return sectionsOf(issue.body, [first!]).has(first!.id);
}

export interface ParsedException {
  /** The entry, status `requested`, when the request is complete and valid. */
  exception: GateException | null;
  problems: { label: string; message: string }[];
}

const REPO = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)+$/;

export function parseExceptionRequest(issue: IssueEvent['issue'], policy: Pick<Policy, 'gate'>, now: Date): ParsedException {
  const fields = exceptionFields(policy);
  const record = parseIntake(issue.body, fields, textLimit(issue.ref.repo.platform));
  const problems = record.problems.map((p) => ({ label: p.label, message: p.message }));
  const text = (id: string): string => {
    const v = record.answers[id];
    return typeof v === 'string' ? v.trim() : '';
  };
  const repository = text('repository');
  if (repository && !REPO.test(repository))
    problems.push({ label: 'Repository', message: `"${repository}" is not owner/name or group/project` });
  const expiry = text('expiry');
  let expiresAt: Date | null = null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(expiry)) {
    // The exception holds through the requested day (UTC).
    expiresAt = new Date(Date.parse(`${expiry}T00:00:00.000Z`) + DAY_MS);
    const requested = Date.parse(issue.createdAt);
    const max = (Number.isNaN(requested) ? now.getTime() : requested) + policy.gate.exceptions.maxExpiryDays * DAY_MS;
    if (Number.isNaN(expiresAt.getTime())) problems.push({ label: 'Requested expiry', message: `${expiry} is not a date` });
    else if (expiresAt.getTime() > max + DAY_MS)
      problems.push({
        label: 'Requested expiry',
        message: `${expiry} is later than the policy allows (${policy.gate.exceptions.maxExpiryDays} days after the request: ${new Date(max).toISOString().slice(0, 10)})`,
      });
  }
  // The paths are globs matched against every finding's location: one that would take too long to match is refused here.
  for (const glob of text('paths')
    .split(',')
    .map((p) => p.trim())) {
    const problem = glob === '' ? null : globProblem(glob);
    if (problem !== null)
      problems.push({
        label: 'Paths',
        message: `the glob "${glob.length > 80 ? `${glob.slice(0, 80)}…` : glob}" would take too long to match: ${problem}`,
      });
  }
  const renews = text('renews').replace(/^_no response_$/i, '');
  const renewal = /^#?(\d+)$/.exec(renews) ?? /\/(?:issues|-\/issues)\/(\d+)\/?$/.exec(renews);
  if (renews && !renewal) problems.push({ label: 'Renews', message: `"${renews}" is not an issue number (#12) or issue URL` });
  if (problems.length > 0 || !expiresAt) return { exception: null, problems };
  const platform = issue.ref.repo.platform === 'gitlab' ? 'gitlab' : 'github';
  return {
    exception: {
      id: issueKey(issue.ref),
      findingRef: text('finding'),
      category: text('category') || null,
      scope: {
        repo: `${platform}:${repository}`,
        paths: text('paths')
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '' && !/^_no response_$/i.test(p)),
      },
      status: 'requested',
      approvedBy: null,
      approvedAt: null,
      approvedDigest: null,
      expiresAt,
      requestedBy: issue.author.login,
      requestedAt: Number.isNaN(Date.parse(issue.createdAt)) ? now : new Date(issue.createdAt),
      businessOwner: text('owner'),
      compensatingControls: text('controls'),
      renewalOf: renewal ? `${platform}:${issue.ref.repo.fullName}#${renewal[1]}` : null,
    },
    problems: [],
  };
}

export interface ExceptionPlanInput {
  /**
   * The trigger. Its `issue` must be the request as the platform's API shows it now (body, labels,
   * author): the shell reads it; nothing in the delivery's payload is taken as authority.
   */
  event: IssueEvent;
  /** The register's entry for this request, when there is one. */
  stored: GateException | null;
  /** Distinct repositories that asked for an exception of this category within the policy's window (before this request). */
  categoryCount: number;
  /**
   * Who added the approval label now on the request, from the platform's label events; null when
   * the label is not on it or no event attributes it.
   */
  labelActor: { login: string; at: string; bot: boolean } | null;
}

export interface ExceptionContext {
  policy: Policy;
  now: Date;
  render: (name: 'comments/exception.md', view: object) => string;
}

const EVENTS = new Set(['opened', 'edited', 'reopened', 'labeled', 'unlabeled']);

/** The Slack notice that puts a requested exception before the approvers; one per request, updated in place. */
export const exceptionNoticeKey = (id: string): string => `exception-request:${id}`;

/** The actions for an exception request issue event, or null when the issue is none. */
export function planExceptionRequest(input: ExceptionPlanInput, ctx: ExceptionContext): { actions: Action[]; note: string } | null {
  const { event, stored, labelActor } = input;
  const { policy, now } = ctx;
  const ex = policy.gate.exceptions;
  const issue = event.issue;
  if (!isExceptionRequest(issue, policy)) return null;
  if (!EVENTS.has(event.action)) return { actions: [], note: `exception request: ${event.action} changes nothing` };
  const target = issue.ref;
  const platform = target.repo.platform === 'gitlab' ? 'gitlab' : 'github';
  const approvers = (platform === 'gitlab' ? ex.approvers.gitlab : ex.approvers.github).map(lower);
  const approvedLabel = ex.approvedLabel;
  const hasApproval = issue.labels.some((l) => lower(l) === lower(approvedLabel));
  const parsed = parseExceptionRequest(issue, policy, now);
  const digest = parsed.exception ? termsDigest(parsed.exception) : null;
  const storedDigest = stored ? termsDigest(stored) : null;
  const actions: Action[] = [];
  const notes: string[] = [];
  /** Shown in the comment; `actor` is who it is about, for the audit log. */
  let refusal: { text: string; actor: string | null } | null = null;
  let status: ExceptionStatus = stored?.status === 'rejected' ? 'rejected' : 'requested';
  let approval: Pick<GateException, 'approvedBy' | 'approvedAt' | 'approvedDigest'> = {
    approvedBy: null,
    approvedAt: null,
    approvedDigest: null,
  };
  const wasApproved = stored?.status === 'approved';

  if (wasApproved && parsed.exception && hasApproval && stored.approvedDigest === digest) {
    // Still the approved terms, the label still on: the approval stands.
    status = 'approved';
    approval = { approvedBy: stored.approvedBy, approvedAt: stored.approvedAt, approvedDigest: stored.approvedDigest };
  } else if (wasApproved && parsed.exception && stored.approvedDigest !== digest) {
    const changed = changedTerms(stored, parsed.exception);
    refusal = {
      text: `The terms changed after the approval (${changed.length > 0 ? changed.join(', ') : 'terms'}; approved ${shortDigest(stored.approvedDigest ?? '') || 'without a digest'}, now ${shortDigest(digest!)}): the approval by ${stored.approvedBy ?? 'unknown'} was withdrawn${hasApproval ? ' and the approval label removed' : ''}; it needs approving again.`,
      actor: event.actor.login,
    };
  } else if (wasApproved && !parsed.exception) {
    status = 'revoked';
    refusal = {
      text: `The request no longer reads as a complete request; the approval was withdrawn${hasApproval ? ' and the label removed' : ''}.`,
      actor: event.actor.login,
    };
  } else if (wasApproved && !hasApproval) {
    status = 'revoked';
    notes.push('approval label removed: revoked');
  } else if (hasApproval) {
    // The label is on a request that is not approved: whoever added it must be allowed to.
    const who = labelActor;
    const why = !who
      ? 'Gatehouse could not read from the platform who added the approval label (its label events do not say, or there are too many to read)'
      : who.bot
        ? `${who.login} is a bot account, and bots cannot approve exceptions`
        : !parsed.exception
          ? 'the request is incomplete or invalid (below)'
          : (approvalRefusal(parsed.exception, who.login, ex) ??
            (!stored || storedDigest !== digest
              ? `the request changed since Gatehouse last showed its terms (${storedDigest ? shortDigest(storedDigest) : 'none shown'}, now ${shortDigest(digest!)}): review the terms below and add the label again`
              : null));
    if (why) refusal = { text: `Not approved: ${why}; the approval label was removed.`, actor: who?.login ?? null };
    else {
      status = 'approved';
      approval = { approvedBy: who!.login, approvedAt: now, approvedDigest: digest };
    }
  }
  if (refusal && hasApproval)
    actions.push({ type: 'ensureLabels', target, add: [], remove: issue.labels.filter((l) => lower(l) === lower(approvedLabel)) });
  if (refusal) actions.push({ type: 'refuseExceptionApproval', target, actor: refusal.actor, reason: refusal.text, digest });

  const entry: GateException | null = parsed.exception
    ? { ...parsed.exception, status, ...approval }
    : stored && status === 'revoked'
      ? { ...stored, status: 'revoked' }
      : null;
  if (entry && (!stored || JSON.stringify(stored) !== JSON.stringify(entry)))
    actions.push({ type: 'saveException', target, exception: entry });

  // A requested exception is before the approvers in Slack: one notice per request, updated in
  // place whenever the terms (their digest, which its Approve button carries) change.
  if (entry && digest && entry.status === 'requested' && (stored?.status !== 'requested' || storedDigest !== digest)) {
    const withdrawn = wasApproved ? ['The earlier approval was withdrawn: the terms changed'] : [];
    actions.push({
      type: 'notifyChat',
      key: exceptionNoticeKey(entry.id),
      channel: noticeChannel(policy, 'exception-request', 'exception-board'),
      text: `Exception request: ${entry.findingRef} in ${entry.scope.repo} — ${issue.url}`,
      notice: {
        kind: 'exception-request',
        title: `Exception request: ${entry.findingRef} in ${entry.scope.repo}${entry.scope.paths.length > 0 ? ` (${entry.scope.paths.join(', ')})` : ''}`,
        reasons: [
          ...withdrawn,
          `Compensating controls: ${entry.compensatingControls}`,
          `Requested by ${entry.requestedBy}`,
          ...(lower(requestRepoOf(entry.id)) !== lower(entry.scope.repo)
            ? [`For another repository than the request's (${requestRepoOf(entry.id)}): only a cross-repository approver may approve`]
            : []),
          ...(entry.renewalOf ? [`Renews ${entry.renewalOf}`] : []),
          `Terms ${shortDigest(digest)}`,
        ],
        severity: entry.category,
        owner: entry.businessOwner,
        due: [{ label: 'Requested expiry', at: entry.expiresAt.toISOString() }],
        url: issue.url,
        labels: [],
        route: 'exception-board',
        itemKey: issueKey(target),
        terms: digest,
      },
    });
  }

  // Escalations: a renewal, or a category repeated across repositories.
  if (entry && !stored) {
    const { count, windowDays } = ex.repeated;
    const reasons: string[] = [];
    if (entry.renewalOf) reasons.push(`Renews ${entry.renewalOf}`);
    if (entry.category && input.categoryCount + 1 >= count)
      reasons.push(
        `${input.categoryCount + 1} repositories asked for a ${entry.category} exception within ${windowDays} days (threshold ${count})`,
      );
    if (reasons.length > 0) {
      actions.push({
        type: 'notifyChat',
        key: `repeated-exception:${entry.id}`,
        channel: noticeChannel(policy, 'repeated-exception', 'exception-board'),
        text: `Repeated exception: ${entry.findingRef} in ${entry.scope.repo} — ${issue.url}`,
        notice: {
          kind: 'repeated-exception',
          title: `Repeated exception request: ${entry.findingRef} in ${entry.scope.repo}`,
          reasons,
          severity: entry.category,
          owner: entry.businessOwner,
          due: [{ label: 'Requested expiry', at: entry.expiresAt.toISOString() }],
          url: issue.url,
          labels: [],
          route: 'exception-board',
          itemKey: issueKey(target),
        },
      });
    }
  }

  const body = ctx.render('comments/exception.md', {
    marker: EXCEPTION_MARKER,
    status: entry?.status ?? stored?.status ?? 'incomplete',
    complete: parsed.exception !== null,
    problems: parsed.problems.map((p) => ({ label: p.label, message: tableCell(p.message) })),
    refusal: refusal ? neutralizeMentions(refusal.text) : null,
    exception: entry
      ? {
          findingRef: tableCell(entry.findingRef),
          category: tableCell(entry.category ?? ''),
          repo: tableCell(entry.scope.repo),
          paths: entry.scope.paths.length > 0 ? tableCell(entry.scope.paths.join(', ')) : 'the whole repository',
          expiresAt: entry.expiresAt.toISOString(),
          owner: tableCell(entry.businessOwner),
          controls: tableCell(entry.compensatingControls),
          approvedBy: entry.approvedBy ? tableCell(neutralizeMentions(entry.approvedBy)) : null,
          approvedAt: entry.approvedAt ? entry.approvedAt.toISOString() : null,
          renewalOf: entry.renewalOf,
          digest: digest ? shortDigest(digest) : null,
          crossRepo: lower(requestRepoOf(entry.id)) !== lower(entry.scope.repo),
        }
      : null,
    approvedLabel,
    approvers: approvers.map(neutralizeMentions),
    maxExpiryDays: ex.maxExpiryDays,
  });
  actions.push({ type: 'ensureComment', target, marker: EXCEPTION_MARKER, body });
  return {
    actions: withholdConfidential(issue, actions),
    note: `exception request ${issueKey(target)}: ${entry?.status ?? 'incomplete'}${refusal ? ` (approval refused: ${refusal.text})` : ''}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
  };
}
