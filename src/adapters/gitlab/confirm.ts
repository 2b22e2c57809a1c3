/**
 * What a GitLab payload says, checked against GitLab's API before anyone's authority is used.
 * A webhook's body is only as trustworthy as whoever holds its secret token, so:
 * - a `/gatehouse` command's author and text are read back from the note itself
 *   (`GET /projects/:id/issues/:iid/notes/:note_id`), never taken from the payload's `user`;
 * - the project is read from its id (`GET /projects/:id`) and its path must be the payload's
 *   (the path is what the webhook secret was matched against), and the default branch is the API's.
 *   This is done for every delivery when secrets are per project or group, and for every command.
 */
import type { GatehouseEvent, RepoRef } from '../../core/model.ts';
import type { Confirmation } from '../../ports/platform.ts';
import type { GitLabApi } from './client.ts';
import { statusOf } from './requester.ts';
import { isCommand, looksLikeBot } from './translate.ts';
import { commandNoteSchema, projectIdentitySchema } from './schema.ts';

const encode = (project: string | number): string => encodeURIComponent(String(project));

export interface ConfirmOptions {
  api: GitLabApi;
  /** Our own username (known before anything is confirmed). */
  botUsername: string;
  /** Check the project of every delivery (secrets per project or group), not only of commands. */
  everyProject: boolean;
  now: () => Date;
  /** How long a project's path and default branch are remembered. Default 5 minutes. */
  projectTtlMs?: number;
}

const repoOf = (event: GatehouseEvent): RepoRef =>
  event.kind === 'change' ? event.change.ref.repo : event.kind === 'issue' || event.kind === 'comment' ? event.issue.ref.repo : event.repo;

function withRepo(event: GatehouseEvent, repo: RepoRef): GatehouseEvent {
  switch (event.kind) {
    case 'change':
      return { ...event, change: { ...event.change, ref: { ...event.change.ref, repo } } };
    case 'issue':
    case 'comment':
      return { ...event, issue: { ...event.issue, ref: { ...event.issue.ref, repo } } } as GatehouseEvent;
    default:
      return { ...event, repo };
  }
}

export function gitlabConfirmer(opts: ConfirmOptions): (event: GatehouseEvent) => Promise<Confirmation> {
  const ttl = opts.projectTtlMs ?? 5 * 60_000;
  const projects = new Map<number, { path: string; defaultBranch: string | null; at: number }>();

  const project = async (id: number): Promise<{ path: string; defaultBranch: string | null } | null> => {
    const cached = projects.get(id);
    if (cached && opts.now().getTime() - cached.at < ttl) return cached;
    let body: unknown;
    try {
      body = (await opts.api.rest.get(`projects/${id}`)).body;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
    const p = projectIdentitySchema.parse(body);
    const found = { path: p.path_with_namespace, defaultBranch: p.default_branch ?? null, at: opts.now().getTime() };
    projects.set(id, found);
    return found;
  };

  return async (event) => {
    let checked = event;
    if (opts.everyProject || event.kind === 'comment') {
      const repo = repoOf(event);
      if (repo.id === undefined || repo.id === null) return { kind: 'refused', reason: 'the payload names no project id', actor: null };
      const p = await project(repo.id);
      if (!p) return { kind: 'refused', reason: `project ${repo.id} does not exist or the token cannot read it`, actor: null };
      if (p.path.toLowerCase() !== repo.fullName.toLowerCase()) {
        return { kind: 'refused', reason: `the payload's project ${repo.fullName} is not project ${repo.id} (${p.path})`, actor: null };
      }
      checked = withRepo(event, { ...repo, fullName: p.path, defaultBranch: p.defaultBranch });
    }
    if (checked.kind !== 'comment') return { kind: 'event', event: checked };

    const ref = checked.issue.ref;
    const path = `projects/${encode(ref.repo.id ?? ref.repo.fullName)}/issues/${ref.number}/notes/${checked.comment.id}`;
    let body: unknown;
    try {
      body = (await opts.api.rest.get(path)).body;
    } catch (err) {
      if (statusOf(err) === 404)
        return {
          kind: 'refused',
          reason: `note ${checked.comment.id} is not on issue #${ref.number} (GET ${path} answered 404)`,
          actor: null,
        };
      throw err;
    }
    const note = commandNoteSchema.parse(body);
    const author = note.author.username;
    if (note.system === true) return { kind: 'ignored', reason: `note ${note.id} is a system note` };
    if (author === opts.botUsername) return { kind: 'ignored', reason: 'caused by Gatehouse itself' };
    if (!isCommand(note.body)) return { kind: 'ignored', reason: `note ${note.id} is no longer a /gatehouse command` };
    const claimed = checked.actor.login;
    return {
      kind: 'event',
      event: { ...checked, actor: { login: author, isBot: looksLikeBot(author) }, comment: { id: note.id, body: note.body } },
      ...(claimed !== author ? { mismatch: `the payload names ${claimed} as the note's author; GitLab says ${author}` } : {}),
    };
  };
}
