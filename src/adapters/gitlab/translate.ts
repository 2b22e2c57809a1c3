/**
 * GitLab webhook payloads → the core's platform-neutral events. Only the fields we read are parsed.
 * Project and group webhooks send the same payloads; system hooks say what they carry in
 * `object_kind` / `event_name`.
 *
 * Issue, merge request (approvals included), push, pipeline (the release gate re-evaluates when
 * one concludes) and release hooks become events; a note on an issue whose first line is a
 * `/gatehouse` command becomes a comment event, other notes are parsed and ignored with the reason.
 *
 * Confidential issues come as `Confidential Issue Hook` (and their notes, and internal notes, as
 * `Confidential Note Hook`): handled as issues and notes are, the issue marked `confidential` so
 * that nothing of its content leaves the platform (see core/chat/confidential.ts).
 */
import type { z } from 'zod';
import type { Actor, ChangeRequestAction, IssueAction, RepoRef } from '../../core/model.ts';
import type { Translation } from '../../ports/platform.ts';
import { OVERRIDE_PATHS } from '../../core/policy/tighten.ts';
import { mergeRequestRef } from './target.ts';
import { issueHook, mergeRequestHook, noteHook, pipelineHook, pushHook, releaseHook, type HookProject, type HookUser } from './schema.ts';

/** A note whose first non-empty line is a `/gatehouse …` command. */
export const isCommand = (body: string): boolean =>
  /^\s*\/gatehouse\b/i.test(
    body
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '',
  );

const ISSUE_ACTIONS: Record<string, IssueAction> = { open: 'opened', update: 'edited', reopen: 'reopened', close: 'closed' };

/** `X-Gitlab-Event` of project/group hooks, by a system hook's `object_kind`. */
const SYSTEM_KINDS: Record<string, string> = {
  push: 'Push Hook',
  tag_push: 'Tag Push Hook',
  merge_request: 'Merge Request Hook',
  issue: 'Issue Hook',
  work_item: 'Issue Hook',
  note: 'Note Hook',
  pipeline: 'Pipeline Hook',
  release: 'Release Hook',
};

function repoRef(p: HookProject): RepoRef {
  return { platform: 'gitlab', fullName: p.path_with_namespace, id: p.id, defaultBranch: p.default_branch ?? null };
}

function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`)
    .join('; ');
}

/** GitLab writes `2013-12-03T17:15:43Z` in some hooks and `2015-04-12 14:53:17 UTC` in others. */
function isoTime(value: string): string | null {
  const normal = value
    .replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ?(?:UTC)?$/, '$1T$2Z')
    .replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2}:?\d{2})$/, '$1T$2$3');
  const ms = Date.parse(normal);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** Project and group access tokens act as bot users named `project_<id>_bot…` / `group_<id>_bot…`. */
export const looksLikeBot = (username: string): boolean => /^(project|group)_\d+_bot/.test(username);

function actor(u: HookUser, botUsername: string | null): Actor {
  return { login: u.username, isBot: u.username === botUsername || looksLikeBot(u.username) };
}

/** The hooks carry only the author's id; its username is known when the author is the one acting. */
function author(u: HookUser, authorId: number | undefined, botUsername: string | null): Actor {
  if (authorId === undefined || u.id === undefined || u.id === authorId) return actor(u, botUsername);
  return { login: `gitlab-user-${authorId}`, isBot: false };
}

/** The first label a `labels` change added. */
function addedLabel(p: z.infer<typeof mergeRequestHook>): string | undefined {
  const change = (p.changes?.['labels'] ?? {}) as { previous?: { title?: string }[]; current?: { title?: string }[] };
  const before = new Set((change.previous ?? []).map((l) => l.title));
  return (change.current ?? []).map((l) => l.title).find((t): t is string => typeof t === 'string' && !before.has(t));
}

/** Pipeline states that are final: the release gate re-evaluates on them. */
const PIPELINE_DONE = new Set(['success', 'failed', 'canceled', 'skipped', 'manual']);

function mergeRequestAction(action: string | undefined, p: z.infer<typeof mergeRequestHook>): ChangeRequestAction | null {
  switch (action) {
    case 'open':
      return 'opened';
    case 'reopen':
      return 'reopened';
    case 'close':
    case 'merge':
      return 'closed';
    case 'update': {
      if (p.object_attributes.oldrev) return 'synchronize'; // new commits
      const changed = Object.keys(p.changes ?? {}).filter(
        (k) => !['updated_at', 'updated_by_id', 'last_edited_at', 'last_edited_by_id'].includes(k),
      );
      if (changed.length === 1 && changed[0] === 'labels') {
        const change = (p.changes?.['labels'] ?? {}) as { previous?: { title?: string }[]; current?: { title?: string }[] };
        const before = new Set((change.previous ?? []).map((l) => l.title));
        return (change.current ?? []).some((l) => !before.has(l.title)) ? 'labeled' : 'unlabeled';
      }
      return 'edited';
    }
    case 'approved':
    case 'unapproved':
    case 'approval':
    case 'unapproval':
      return 'reviewed';
    default:
      return null;
  }
}

/**
 * @param botUsername the token's user: events it caused are ignored, so our own label and note
 * changes never trigger another round.
 */
export function translateGitLab(eventName: string, deliveryId: string, payload: unknown, botUsername: string | null): Translation {
  let event = eventName;
  if (eventName === 'System Hook') {
    const kind =
      typeof payload === 'object' && payload !== null
        ? ((payload as Record<string, unknown>)['object_kind'] ?? (payload as Record<string, unknown>)['event_name'])
        : undefined;
    const mapped = typeof kind === 'string' ? SYSTEM_KINDS[kind] : undefined;
    if (!mapped)
      return { kind: 'ignored', reason: `System Hook ${typeof kind === 'string' ? kind : '(no object_kind)'} events are not handled` };
    event = mapped;
  }

  switch (event) {
    case 'Issue Hook':
    case 'Confidential Issue Hook': {
      const parsed = issueHook.safeParse(payload);
      if (!parsed.success) return { kind: 'invalid', reason: `${event} payload: ${describe(parsed.error)}` };
      const p = parsed.data;
      const a = p.object_attributes;
      if (botUsername && p.user.username === botUsername) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
      if (a.type && !['Issue', 'Incident'].includes(a.type))
        return { kind: 'ignored', reason: `work items of type ${a.type} are not handled` };
      const action = a.action ? ISSUE_ACTIONS[a.action] : undefined;
      if (!action) return { kind: 'ignored', reason: `Issue Hook action ${a.action ?? '(none)'} is not handled` };
      const createdAt = isoTime(a.created_at);
      if (!createdAt)
        return { kind: 'invalid', reason: `Issue Hook payload: object_attributes.created_at: not a time (${a.created_at.slice(0, 40)})` };
      return {
        kind: 'event',
        installationId: null,
        event: {
          kind: 'issue',
          action,
          deliveryId,
          actor: actor(p.user, botUsername),
          issue: {
            ref: { repo: repoRef(p.project), number: a.iid },
            title: a.title,
            body: a.description ?? '',
            labels: (p.labels ?? a.labels ?? []).map((l) => l.title),
            state: a.state === 'closed' ? 'closed' : 'open',
            author: author(p.user, a.author_id, botUsername),
            assignees: (p.assignees ?? []).map((x) => x.username),
            url: a.url,
            createdAt,
            ...(event === 'Confidential Issue Hook' || a.confidential === true ? { confidential: true } : {}),
          },
        },
      };
    }
    case 'Merge Request Hook': {
      const parsed = mergeRequestHook.safeParse(payload);
      if (!parsed.success) return { kind: 'invalid', reason: `Merge Request Hook payload: ${describe(parsed.error)}` };
      const p = parsed.data;
      const a = p.object_attributes;
      if (botUsername && p.user.username === botUsername) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
      const action = mergeRequestAction(a.action, p);
      if (!action) return { kind: 'ignored', reason: `Merge Request Hook action ${a.action ?? '(none)'} is not handled` };
      const repo = repoRef(p.project);
      return {
        kind: 'event',
        installationId: null,
        event: {
          kind: 'change',
          action,
          deliveryId,
          actor: actor(p.user, botUsername),
          ...(action === 'labeled' && addedLabel(p) ? { label: addedLabel(p) } : {}),
          change: {
            ref: mergeRequestRef(repo, a.iid),
            title: a.title,
            body: a.description ?? '',
            labels: (p.labels ?? a.labels ?? []).map((l) => l.title),
            state: a.state === 'merged' ? 'merged' : a.state === 'closed' ? 'closed' : 'open',
            author: author(p.user, a.author_id, botUsername),
            url: a.url,
            headSha: a.last_commit?.id ?? null,
            targetBranch: a.target_branch,
            draft: a.draft ?? a.work_in_progress ?? false,
          },
        },
      };
    }
    case 'Note Hook':
    case 'Confidential Note Hook': {
      const parsed = noteHook.safeParse(payload);
      if (!parsed.success) return { kind: 'invalid', reason: `${event} payload: ${describe(parsed.error)}` };
      const p = parsed.data;
      if (botUsername && p.user.username === botUsername) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
      const on = p.issue
        ? `issue #${p.issue.iid}`
        : p.merge_request
          ? `merge request !${p.merge_request.iid}`
          : p.object_attributes.noteable_type;
      const a = p.object_attributes;
      if (!p.issue || a.noteable_type !== 'Issue' || a.system === true || !isCommand(a.note)) {
        return { kind: 'ignored', reason: `Note Hook on ${on}: only /gatehouse commands on issues are acted on` };
      }
      // GitLab sends a note hook for an edit too: only a new note runs its command (an edit of an
      // old command, or a replayed one, must not run it again).
      const edited =
        a.action !== undefined
          ? a.action !== 'create'
          : a.created_at !== undefined && a.updated_at !== undefined && isoTime(a.created_at) !== isoTime(a.updated_at);
      if (edited)
        return {
          kind: 'ignored',
          reason: `Note Hook on ${on}: note ${a.id} was edited (${a.action ?? 'updated_at'}); commands run when posted, not when edited`,
        };
      const issue = p.issue;
      const createdAt = isoTime(issue.created_at ?? '');
      if (issue.title === undefined || !createdAt)
        return { kind: 'invalid', reason: 'Note Hook payload: issue.title and issue.created_at are needed for a command' };
      return {
        kind: 'event',
        installationId: null,
        event: {
          kind: 'comment',
          action: 'created',
          deliveryId,
          actor: actor(p.user, botUsername),
          comment: { id: a.id, body: a.note },
          issue: {
            ref: { repo: repoRef(p.project), number: issue.iid },
            title: issue.title,
            body: issue.description ?? '',
            labels: (issue.labels ?? []).map((l) => l.title),
            state: issue.state === 'closed' ? 'closed' : 'open',
            author: author(p.user, issue.author_id, botUsername),
            assignees: [],
            url: (a.url ?? '').replace(/#note_\d+$/, ''),
            createdAt,
            // A confidential issue's note, or an internal note: its content stays on the platform too.
            ...(event === 'Confidential Note Hook' || issue.confidential === true || a.internal === true || a.confidential === true
              ? { confidential: true }
              : {}),
          },
        },
      };
    }
    case 'Pipeline Hook': {
      const parsed = pipelineHook.safeParse(payload);
      if (!parsed.success) return { kind: 'invalid', reason: `Pipeline Hook payload: ${describe(parsed.error)}` };
      const p = parsed.data;
      const a = p.object_attributes;
      if (botUsername && p.user?.username === botUsername) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
      if (!PIPELINE_DONE.has(a.status))
        return {
          kind: 'ignored',
          reason: `Pipeline Hook ${a.status} for ${a.sha.slice(0, 12)}: the release gate re-evaluates when the pipeline concludes`,
        };
      return {
        kind: 'event',
        installationId: null,
        event: {
          kind: 'checks',
          action: 'completed',
          deliveryId,
          repo: repoRef(p.project),
          sha: a.sha,
          source: 'pipeline',
          changeNumbers: p.merge_request ? [p.merge_request.iid] : [],
        },
      };
    }
    case 'Release Hook': {
      const parsed = releaseHook.safeParse(payload);
      if (!parsed.success) return { kind: 'invalid', reason: `Release Hook payload: ${describe(parsed.error)}` };
      const p = parsed.data;
      if (p.action !== 'create')
        return { kind: 'ignored', reason: `Release Hook ${p.action} ${p.tag}: only new releases get the gate's verdict` };
      return {
        kind: 'event',
        installationId: null,
        event: { kind: 'release', action: p.action, deliveryId, repo: repoRef(p.project), tag: p.tag, sha: p.commit?.id ?? null },
      };
    }
    case 'Push Hook': {
      const parsed = pushHook.safeParse(payload);
      if (!parsed.success) return { kind: 'invalid', reason: `Push Hook payload: ${describe(parsed.error)}` };
      const p = parsed.data;
      const paths = new Set(p.commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed]));
      // GitLab lists at most 20 commits: a longer push may have touched the policy override unseen.
      if ((p.total_commits_count ?? 0) > p.commits.length) paths.add(OVERRIDE_PATHS.gitlab);
      return {
        kind: 'event',
        installationId: null,
        event: { kind: 'push', deliveryId, repo: repoRef(p.project), ref: p.ref, changedPaths: [...paths] },
      };
    }
    default:
      return { kind: 'ignored', reason: `${event} events are not handled` };
  }
}
