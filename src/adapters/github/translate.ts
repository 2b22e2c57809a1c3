/** GitHub webhook payloads → the core's platform-neutral events. Only the fields we read are parsed. */
import type { z } from 'zod';
import type { ChangeRequestAction, IssueAction, IssueSnapshot, RepoRef } from '../../core/model.ts';
import type { Translation } from '../../ports/platform.ts';
import { GATE_CHECK_NAME } from '../../core/gate/actions.ts';
import {
  checkRunPayload,
  checkSuitePayload,
  issueCommentPayload,
  issuesPayload,
  pullRequestPayload,
  pushPayload,
  releasePayload,
  reviewPayload,
  statusPayload,
  type PayloadRepository,
} from './schema.ts';

/** A comment whose first non-empty line is a `/gatehouse …` command. */
const isCommand = (body: string): boolean =>
  /^\s*\/gatehouse\b/i.test(
    body
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '',
  );

const SHA = /^[0-9a-f]{40}$/i;

/** The issue as the core sees it, from an `issues` or `issue_comment` payload. */
function issueSnapshot(issue: z.infer<typeof issuesPayload>['issue'], repo: PayloadRepository): IssueSnapshot {
  const author = issue.user ?? { login: 'ghost', type: 'User' };
  return {
    ref: { repo: repoRef(repo), number: issue.number },
    title: issue.title,
    body: issue.body ?? '',
    labels: issue.labels.map((l) => (typeof l === 'string' ? l : l.name)),
    state: issue.state,
    author: { login: author.login, isBot: author.type === 'Bot' },
    assignees: (issue.assignees ?? []).map((a) => a.login),
    url: issue.html_url,
    createdAt: issue.created_at,
  };
}

const CHANGE_ACTIONS: readonly ChangeRequestAction[] = ['opened', 'synchronize', 'reopened', 'edited', 'labeled', 'unlabeled', 'closed'];

const ISSUE_ACTIONS: readonly IssueAction[] = ['opened', 'edited', 'reopened', 'closed', 'labeled', 'unlabeled', 'assigned', 'unassigned'];

function repoRef(r: PayloadRepository): RepoRef {
  return { platform: 'github', fullName: r.full_name, id: r.id, defaultBranch: r.default_branch ?? null };
}

function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`)
    .join('; ');
}

/** A pull request (or review) payload as a change request event. */
function changeEvent(p: z.infer<typeof pullRequestPayload>, action: ChangeRequestAction, deliveryId: string): Translation {
  const pr = p.pull_request;
  const author = pr.user ?? { login: 'ghost', type: 'User' };
  return {
    kind: 'event',
    installationId: p.installation?.id ?? null,
    event: {
      kind: 'change',
      action,
      deliveryId,
      actor: { login: p.sender.login, isBot: p.sender.type === 'Bot' },
      ...(action === 'labeled' && p.label ? { label: p.label.name } : {}),
      change: {
        ref: { repo: repoRef(p.repository), number: pr.number, kind: 'change' },
        title: pr.title,
        body: pr.body ?? '',
        labels: pr.labels.map((l) => l.name),
        state: pr.merged ? 'merged' : pr.state,
        author: { login: author.login, isBot: author.type === 'Bot' },
        url: pr.html_url,
        headSha: pr.head.sha,
        targetBranch: pr.base.ref,
        draft: pr.draft ?? false,
      },
    },
  };
}

/**
 * @param botLogin our own account (`slug[bot]`): its events are ignored, so our own label and
 * comment changes never trigger another round.
 */
export function translateGitHub(eventName: string, deliveryId: string, payload: unknown, botLogin: string | null): Translation {
  if (eventName === 'issues') {
    const parsed = issuesPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `issues payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (botLogin && p.sender.login === botLogin) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (!(ISSUE_ACTIONS as readonly string[]).includes(p.action)) return { kind: 'ignored', reason: `issues.${p.action} is not handled` };
    if (p.issue.pull_request !== undefined) return { kind: 'ignored', reason: 'pull request, not an issue' };
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'issue',
        action: p.action as IssueAction,
        deliveryId,
        actor: { login: p.sender.login, isBot: p.sender.type === 'Bot' },
        label: p.label?.name,
        issue: issueSnapshot(p.issue, p.repository),
      },
    };
  }
  if (eventName === 'issue_comment') {
    const parsed = issueCommentPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `issue_comment payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (botLogin && p.sender.login === botLogin) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (p.action !== 'created') return { kind: 'ignored', reason: `issue_comment.${p.action} is not handled` };
    if (p.issue.pull_request !== undefined) return { kind: 'ignored', reason: 'a comment on a pull request: commands are taken on issues' };
    const body = p.comment.body ?? '';
    if (!isCommand(body)) return { kind: 'ignored', reason: 'a comment that is no /gatehouse command' };
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'comment',
        action: 'created',
        deliveryId,
        actor: { login: p.sender.login, isBot: p.sender.type === 'Bot' },
        comment: { id: p.comment.id, body },
        issue: issueSnapshot(p.issue, p.repository),
      },
    };
  }
  if (eventName === 'pull_request') {
    const parsed = pullRequestPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `pull_request payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (botLogin && p.sender.login === botLogin) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (!(CHANGE_ACTIONS as readonly string[]).includes(p.action))
      return { kind: 'ignored', reason: `pull_request.${p.action} is not handled` };
    return changeEvent(p, p.action as ChangeRequestAction, deliveryId);
  }
  if (eventName === 'pull_request_review') {
    const parsed = reviewPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `pull_request_review payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (botLogin && p.sender.login === botLogin) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (!['submitted', 'dismissed', 'edited'].includes(p.action))
      return { kind: 'ignored', reason: `pull_request_review.${p.action} is not handled` };
    return changeEvent(p, 'reviewed', deliveryId);
  }
  if (eventName === 'check_suite' || eventName === 'check_run') {
    const parsed = eventName === 'check_suite' ? checkSuitePayload.safeParse(payload) : checkRunPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `${eventName} payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    const item = 'check_suite' in p ? p.check_suite : p.check_run;
    if (p.action !== 'completed')
      return { kind: 'ignored', reason: `${eventName}.${p.action}: the release gate re-evaluates when checks complete` };
    if ((botLogin && p.sender.login === botLogin) || (botLogin && item.app?.slug && `${item.app.slug}[bot]` === botLogin))
      return { kind: 'ignored', reason: 'our own check' };
    if ('check_run' in p && p.check_run.name === GATE_CHECK_NAME) return { kind: 'ignored', reason: 'our own check' };
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'checks',
        action: 'completed',
        deliveryId,
        repo: repoRef(p.repository),
        sha: item.head_sha,
        source: eventName,
        changeNumbers: item.pull_requests.map((x) => x.number),
      },
    };
  }
  if (eventName === 'status') {
    const parsed = statusPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `status payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (p.context === GATE_CHECK_NAME || (botLogin && p.sender.login === botLogin)) return { kind: 'ignored', reason: 'our own status' };
    if (p.state === 'pending') return { kind: 'ignored', reason: 'status pending: the release gate re-evaluates when statuses conclude' };
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'checks',
        action: 'completed',
        deliveryId,
        repo: repoRef(p.repository),
        sha: p.sha,
        source: 'status',
        changeNumbers: [],
      },
    };
  }
  if (eventName === 'release') {
    const parsed = releasePayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `release payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (botLogin && p.sender.login === botLogin) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (p.action !== 'published') return { kind: 'ignored', reason: `release.${p.action} is not handled` };
    const target = p.release.target_commitish ?? '';
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'release',
        action: p.action,
        deliveryId,
        repo: repoRef(p.repository),
        tag: p.release.tag_name,
        sha: SHA.test(target) ? target.toLowerCase() : null,
      },
    };
  }
  if (eventName === 'push') {
    const parsed = pushPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `push payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'push',
        deliveryId,
        repo: repoRef(p.repository),
        ref: p.ref,
        changedPaths: [...new Set(p.commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed]))],
      },
    };
  }
  return { kind: 'ignored', reason: `${eventName} events are not handled` };
}
