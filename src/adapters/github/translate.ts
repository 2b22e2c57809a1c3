/** GitHub webhook payloads → the core's platform-neutral events. Only the fields we read are parsed. */
import { z } from 'zod';
import type { ChangeRequestAction, IssueAction, RepoRef } from '../../core/model.ts';
import type { Translation } from '../../ports/platform.ts';

const user = z.object({ login: z.string(), type: z.string().default('User') });
const repository = z.object({ id: z.number(), full_name: z.string().min(3), default_branch: z.string().optional() });

const issuesPayload = z.object({
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string().nullable().optional(),
    labels: z.array(z.union([z.object({ name: z.string() }), z.string()])).default([]),
    state: z.enum(['open', 'closed']),
    user: user.nullable(),
    assignees: z.array(z.object({ login: z.string() })).nullable().default([]),
    html_url: z.string(),
    created_at: z.string(),
    pull_request: z.unknown().optional(),
  }),
  label: z.object({ name: z.string() }).optional(),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});

const pullRequestPayload = z.object({
  action: z.string(),
  pull_request: z.object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string().nullable().optional(),
    labels: z.array(z.object({ name: z.string() })).default([]),
    state: z.enum(['open', 'closed']),
    merged: z.boolean().nullable().optional(),
    draft: z.boolean().optional(),
    user: user.nullable(),
    html_url: z.string(),
    head: z.object({ sha: z.string() }),
    base: z.object({ ref: z.string() }),
  }),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});

const CHANGE_ACTIONS: readonly ChangeRequestAction[] = ['opened', 'synchronize', 'reopened', 'edited', 'labeled', 'unlabeled', 'closed'];

const pushPayload = z.object({
  ref: z.string(),
  repository,
  commits: z.array(z.object({ added: z.array(z.string()).default([]), modified: z.array(z.string()).default([]), removed: z.array(z.string()).default([]) })).default([]),
  installation: z.object({ id: z.number() }).optional(),
});


const ISSUE_ACTIONS: readonly IssueAction[] = ['opened', 'edited', 'reopened', 'closed', 'labeled', 'unlabeled', 'assigned', 'unassigned'];

function repoRef(r: z.infer<typeof repository>): RepoRef {
  return { platform: 'github', fullName: r.full_name, id: r.id, defaultBranch: r.default_branch ?? null };
}

function describe(err: z.ZodError): string {
  return err.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
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
    const author = p.issue.user ?? { login: 'ghost', type: 'User' };
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'issue',
        action: p.action as IssueAction,
        deliveryId,
        actor: { login: p.sender.login, isBot: p.sender.type === 'Bot' },
        label: p.label?.name,
        issue: {
          ref: { repo: repoRef(p.repository), number: p.issue.number },
          title: p.issue.title,
          body: p.issue.body ?? '',
          labels: p.issue.labels.map((l) => (typeof l === 'string' ? l : l.name)),
          state: p.issue.state,
          author: { login: author.login, isBot: author.type === 'Bot' },
          assignees: (p.issue.assignees ?? []).map((a) => a.login),
          url: p.issue.html_url,
          createdAt: p.issue.created_at,
        },
      },
    };
  }
  if (eventName === 'pull_request') {
    const parsed = pullRequestPayload.safeParse(payload);
    if (!parsed.success) return { kind: 'invalid', reason: `pull_request payload: ${describe(parsed.error)}` };
    const p = parsed.data;
    if (botLogin && p.sender.login === botLogin) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (!(CHANGE_ACTIONS as readonly string[]).includes(p.action)) return { kind: 'ignored', reason: `pull_request.${p.action} is not handled` };
    const pr = p.pull_request;
    const author = pr.user ?? { login: 'ghost', type: 'User' };
    return {
      kind: 'event',
      installationId: p.installation?.id ?? null,
      event: {
        kind: 'change',
        action: p.action as ChangeRequestAction,
        deliveryId,
        actor: { login: p.sender.login, isBot: p.sender.type === 'Bot' },
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
