/**
 * The exception register's intake: an "Exception request" issue (GitHub issue form / GitLab
 * description template, rendered from `exceptionFormView` with the intake templates) is parsed
 * into a register entry; a policy-named approver approves it by adding the approval label. Anyone
 * else adding it is refused (the label removed, the comment says why). Editing an approved
 * request's finding, scope or expiry withdraws the approval. A renewal, or a category that several
 * repositories keep asking exceptions for, raises the `repeated-exception` escalation.
 */
import type { Action } from '../actions.ts';
import { noticeChannel } from '../chat/route.ts';
import type { IntakeFormView } from '../intake/form.ts';
import { parseIntake, sectionsOf } from '../intake/parse.ts';
import { issueKey, type IssueEvent } from '../model.ts';
import type { IntakeField, Policy } from '../policy/schema.ts';
import { neutralizeMentions, tableCell } from '../text.ts';
import type { ExceptionStatus, GateException } from './exceptions.ts';

export const EXCEPTION_MARKER = '<!-- gatehouse:exception -->';
const DAY_MS = 86_400_000;

const lower = (s: string): string => s.trim().toLowerCase();

/** The form's fields, in order. Field ids are what the parser reports problems by. */
export function exceptionFields(policy: Pick<Policy, 'gate'>): IntakeField[] {
  const kinds = [...Object.keys(policy.gate.scans), 'rollback', 'other'];
  return [
    { id: 'finding', label: 'Finding or control', kind: 'text', description: 'The rule id (e.g. js/sql-injection), the finding id (e.g. code-scanning:42) or a control: control:<scan kind> (control:provenance) or control:rollback.', placeholder: 'js/sql-injection', required: true },
    { id: 'category', label: 'Category', kind: 'choice', description: 'The kind of finding or control.', options: kinds, required: true },
    { id: 'repository', label: 'Repository', kind: 'text', description: 'Where it applies: owner/name (GitHub) or group/project (GitLab).', placeholder: 'acme/payments-api', required: true },
    { id: 'paths', label: 'Paths', kind: 'text', description: 'Optional: path globs the exception is limited to, comma-separated (e.g. src/legacy/**). Empty: the whole repository.', required: false },
    { id: 'controls', label: 'Compensating controls', kind: 'longtext', description: 'What reduces the risk while the exception stands.', required: true },
    { id: 'owner', label: 'Business owner', kind: 'text', description: 'Who accepts the risk.', placeholder: '@handle', format: 'handle', required: true },
    { id: 'expiry', label: 'Requested expiry', kind: 'text', description: `YYYY-MM-DD, at most ${policy.gate.exceptions.maxExpiryDays} days after the request.`, placeholder: 'YYYY-MM-DD', format: 'date', required: true },
    { id: 'renews', label: 'Renews', kind: 'text', description: 'Optional: the earlier exception request this one renews (#number).', required: false },
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
      hint: [f.description, f.kind === 'choice' ? 'Tick exactly one.' : '', f.required ? 'Required.' : 'Optional.'].filter(Boolean).join(' '),
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
  const record = parseIntake(issue.body, fields);
  const problems = record.problems.map((p) => ({ label: p.label, message: p.message }));
  const text = (id: string): string => {
    const v = record.answers[id];
    return typeof v === 'string' ? v.trim() : '';
  };
  const repository = text('repository');
  if (repository && !REPO.test(repository)) problems.push({ label: 'Repository', message: `"${repository}" is not owner/name or group/project` });
  const expiry = text('expiry');
  let expiresAt: Date | null = null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(expiry)) {
    // The exception holds through the requested day (UTC).
    expiresAt = new Date(Date.parse(`${expiry}T00:00:00.000Z`) + DAY_MS);
    const requested = Date.parse(issue.createdAt);
    const max = (Number.isNaN(requested) ? now.getTime() : requested) + policy.gate.exceptions.maxExpiryDays * DAY_MS;
    if (Number.isNaN(expiresAt.getTime())) problems.push({ label: 'Requested expiry', message: `${expiry} is not a date` });
    else if (expiresAt.getTime() > max + DAY_MS) problems.push({ label: 'Requested expiry', message: `${expiry} is later than the policy allows (${policy.gate.exceptions.maxExpiryDays} days after the request: ${new Date(max).toISOString().slice(0, 10)})` });
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
  event: IssueEvent;
  /** The register's entry for this request, when there is one. */
  stored: GateException | null;
  /** Distinct repositories that asked for an exception of this category within the policy's window (before this request). */
  categoryCount: number;
}

export interface ExceptionContext {
  policy: Policy;
  now: Date;
  render: (name: 'comments/exception.md', view: object) => string;
}

const sameTerms = (a: GateException, b: GateException): boolean =>
  lower(a.findingRef) === lower(b.findingRef) &&
  lower(a.scope.repo) === lower(b.scope.repo) &&
  a.scope.paths.join('\n') === b.scope.paths.join('\n') &&
  a.expiresAt.getTime() === b.expiresAt.getTime() &&
  (a.category ?? '') === (b.category ?? '');

const EVENTS = new Set(['opened', 'edited', 'reopened', 'labeled', 'unlabeled']);

/** The actions for an exception request issue event, or null when the issue is none. */
export function planExceptionRequest(input: ExceptionPlanInput, ctx: ExceptionContext): { actions: Action[]; note: string } | null {
  const { event, stored } = input;
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
  const actions: Action[] = [];
  const notes: string[] = [];
  let refusal: string | null = null;
  let status: ExceptionStatus = stored?.status === 'rejected' ? 'rejected' : 'requested';
  let approvedBy: string | null = null;
  let approvedAt: Date | null = null;

  const approving = event.action === 'labeled' && lower(event.label ?? '') === lower(approvedLabel);
  if (approving) {
    if (!approvers.includes(lower(event.actor.login))) refusal = `${event.actor.login} is not an exception approver (${approvers.length > 0 ? approvers.join(', ') : 'the policy names none: gate.exceptions.approvers'}); the approval label was removed.`;
    else if (!parsed.exception) refusal = 'The request is incomplete or invalid (below); the approval label was removed.';
    else {
      status = 'approved';
      approvedBy = event.actor.login;
      approvedAt = now;
    }
  } else if (stored?.status === 'approved' && parsed.exception) {
    if (!hasApproval) {
      status = 'revoked';
      notes.push('approval label removed: revoked');
    } else if (sameTerms(stored, parsed.exception)) {
      status = 'approved';
      approvedBy = stored.approvedBy;
      approvedAt = stored.approvedAt;
    } else {
      refusal = 'The finding, scope or expiry changed after the approval: it needs approving again; the approval label was removed.';
    }
  } else if (stored?.status === 'approved' && !parsed.exception) {
    status = 'revoked';
    refusal = hasApproval ? 'The request no longer reads as a complete request; the approval was withdrawn and the label removed.' : null;
  } else if (hasApproval && stored?.status !== 'approved') {
    refusal = 'The approval label counts only when an exception approver adds it; it was removed.';
  }
  if (refusal && hasApproval) actions.push({ type: 'ensureLabels', target, add: [], remove: issue.labels.filter((l) => lower(l) === lower(approvedLabel)) });

  const entry: GateException | null = parsed.exception ? { ...parsed.exception, status, approvedBy, approvedAt } : stored && status === 'revoked' ? { ...stored, status: 'revoked' } : null;
  if (entry && (!stored || JSON.stringify(stored) !== JSON.stringify(entry))) actions.push({ type: 'saveException', target, exception: entry });

  // A new (or again requested) exception is put before the approvers, with an Approve button in Slack.
  if (entry && entry.status === 'requested' && stored?.status !== 'requested') {
    actions.push({
      type: 'notifyChat',
      key: `exception-request:${entry.id}:${entry.expiresAt.toISOString()}`,
      channel: noticeChannel(policy, 'exception-request', 'exception-board'),
      text: `Exception request: ${entry.findingRef} in ${entry.scope.repo} — ${issue.url}`,
      notice: {
        kind: 'exception-request',
        title: `Exception request: ${entry.findingRef} in ${entry.scope.repo}${entry.scope.paths.length > 0 ? ` (${entry.scope.paths.join(', ')})` : ''}`,
        reasons: [`Compensating controls: ${entry.compensatingControls}`, `Requested by ${entry.requestedBy}`, ...(entry.renewalOf ? [`Renews ${entry.renewalOf}`] : [])],
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

  // Escalations: a renewal, or a category repeated across repositories.
  if (entry && !stored) {
    const { count, windowDays } = ex.repeated;
    const reasons: string[] = [];
    if (entry.renewalOf) reasons.push(`Renews ${entry.renewalOf}`);
    if (entry.category && input.categoryCount + 1 >= count) reasons.push(`${input.categoryCount + 1} repositories asked for a ${entry.category} exception within ${windowDays} days (threshold ${count})`);
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
    status: entry?.status ?? (stored?.status ?? 'incomplete'),
    complete: parsed.exception !== null,
    problems: parsed.problems.map((p) => ({ label: p.label, message: tableCell(p.message) })),
    refusal: refusal ? neutralizeMentions(refusal) : null,
    exception: entry
      ? {
          findingRef: tableCell(entry.findingRef),
          category: tableCell(entry.category ?? ''),
          repo: tableCell(entry.scope.repo),
          paths: entry.scope.paths.length > 0 ? tableCell(entry.scope.paths.join(', ')) : 'the whole repository',
          expiresAt: entry.expiresAt.toISOString(),
          owner: tableCell(entry.businessOwner),
          approvedBy: entry.approvedBy ? tableCell(entry.approvedBy) : null,
          approvedAt: entry.approvedAt ? entry.approvedAt.toISOString() : null,
          renewalOf: entry.renewalOf,
        }
      : null,
    approvedLabel,
    approvers: approvers.map(neutralizeMentions),
    maxExpiryDays: ex.maxExpiryDays,
  });
  actions.push({ type: 'ensureComment', target, marker: EXCEPTION_MARKER, body });
  return { actions, note: `exception request ${issueKey(target)}: ${entry?.status ?? 'incomplete'}${refusal ? ' (approval refused)' : ''}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}` };
}
