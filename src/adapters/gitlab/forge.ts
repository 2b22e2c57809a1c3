/**
 * The GitLab forge: the Forge port over gitbeaker (with our safe requester, see requester.ts).
 * Issues and merge requests are told apart by the ref's mark (target.ts).
 */
import { GitbeakerTimeoutError } from '@gitbeaker/rest';
import type { z } from 'zod';
import type { IssueRef, RepoRef } from '../../core/model.ts';
import {
  lastLabelActor,
  LABEL_EVENT_PAGES,
  type CommentOutcome,
  type CommitAuthor,
  type Forge,
  type IssueState,
  type LabelActor,
  type LabelEvent,
} from '../../ports/forge.ts';
import { readSection, withSections, type BodySection } from '../../core/workflows/sections.ts';
import type { GitLabApi } from './client.ts';
import { statusOf } from './requester.ts';
import { isMergeRequest, projectOf } from './target.ts';
import { STICKY_HEAD_PAGES, STICKY_PAGE_SIZE, STICKY_TAIL_PAGES, type StickyComments, type StickyLog } from '../sticky-comments.ts';
import {
  assigneesSchema,
  commitsSchema,
  createdNoteSchema,
  descriptionSchema,
  diffsSchema,
  issueSchema,
  labelEventsSchema,
  mergeRequestReviewersSchema,
  noteSchema,
  notesSchema,
  rawFileSchema,
  userListSchema,
} from './schema.ts';

type Note = z.infer<typeof noteSchema>;

export interface GitLabForgeOptions {
  /** POSTs of a note in all, when earlier ones failed without a clear answer (5xx, timeout). */
  createAttempts?: number;
  /** Wait before re-reading the notes after such a failure. */
  recheckDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Ids of our sticky notes, shared by the forges of one process (none: every write lists). */
  stickies?: StickyComments;
  /** Where a sticky note not found within the listing's bound is reported. */
  logger?: StickyLog;
}

/** A failure after which GitLab may or may not have carried the write out. */
function uncertain(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return status >= 500;
  return (
    err instanceof GitbeakerTimeoutError ||
    err instanceof TypeError ||
    (err instanceof Error && /timeout|abort|ECONNRESET|socket/i.test(`${err.name} ${err.message}`))
  );
}

export class GitLabForge implements Forge {
  readonly platform = 'gitlab' as const;
  private readonly createAttempts: number;
  private readonly recheckDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly stickies: StickyComments | undefined;
  private readonly logger: StickyLog | undefined;

  constructor(
    private readonly api: GitLabApi,
    /** The token's user: only its notes are ever edited. */
    private readonly botUsername: string,
    options: GitLabForgeOptions = {},
  ) {
    this.createAttempts = options.createAttempts ?? 3;
    this.recheckDelayMs = options.recheckDelayMs ?? 1_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.stickies = options.stickies;
    this.logger = options.logger;
  }

  /** One PUT: GitLab adds and removes in the same request; absent labels are ignored by GitLab. */
  async ensureLabels(target: IssueRef, add: readonly string[], remove: readonly string[]): Promise<void> {
    if (add.length === 0 && remove.length === 0) return;
    const project = projectOf(target.repo);
    const body = { addLabels: add.length > 0 ? add.join(',') : undefined, removeLabels: remove.length > 0 ? remove.join(',') : undefined };
    if (isMergeRequest(target)) await this.api.mergeRequests.edit(project, target.number, body);
    else await this.api.issues.edit(project, target.number, body);
  }

  async ensureComment(target: IssueRef, marker: string, body: string): Promise<CommentOutcome> {
    const cached = this.stickies?.get(target, marker);
    if (cached !== undefined) {
      const outcome = await this.editById(target, cached, marker, body);
      if (outcome !== 'gone') return outcome;
      this.stickies?.forget(target, marker);
    }
    const existing = await this.findNote(target, marker);
    if (existing) {
      this.stickies?.set(target, marker, existing.id);
      return this.editIfNeeded(target, existing, body, 'updated');
    }
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.createAttempts; attempt++) {
      try {
        const created: unknown = await this.notes(target).create(projectOf(target.repo), target.number, body);
        const id = createdNoteSchema.safeParse(created).data?.id;
        if (id !== undefined) this.stickies?.set(target, marker, id);
        return 'created';
      } catch (err) {
        if (!uncertain(err)) throw err;
        lastError = err;
      }
      // The POST may have been carried out: look again before creating another note.
      await this.sleep(this.recheckDelayMs * attempt);
      const created = await this.findNote(target, marker);
      if (created) {
        this.stickies?.set(target, marker, created.id);
        return this.editIfNeeded(target, created, body, 'created');
      }
    }
    throw lastError;
  }

  private async editIfNeeded(target: IssueRef, note: Note, body: string, outcome: 'created' | 'updated'): Promise<CommentOutcome> {
    if ((note.body ?? '') === body) return outcome === 'created' ? 'created' : 'unchanged';
    await this.notes(target).edit(projectOf(target.repo), target.number, note.id, { body });
    return outcome;
  }

  private notes(target: IssueRef): GitLabApi['issueNotes'] | GitLabApi['mergeRequestNotes'] {
    return isMergeRequest(target) ? this.api.mergeRequestNotes : this.api.issueNotes;
  }

  /**
   * Our sticky note by its known id: read (someone may have edited it), edited when it differs.
   * `gone`: deleted (404), or no longer ours with the marker: the item is listed again.
   */
  private async editById(target: IssueRef, id: number, marker: string, body: string): Promise<CommentOutcome | 'gone'> {
    let note: Note;
    try {
      note = noteSchema.parse(await this.notes(target).show(projectOf(target.repo), target.number, id));
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw err;
    }
    if (note.system || !(note.body ?? '').includes(marker) || note.author?.username !== this.botUsername) return 'gone';
    try {
      return await this.editIfNeeded(target, note, body, 'updated');
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw err;
    }
  }

  /**
   * Our note carrying the marker, within the listing's bound (see ../sticky-comments.ts): the oldest
   * pages (the oldest such note), then, when the item has more notes than they hold, the newest pages
   * (the newest such note). Null when not found there.
   */
  private async findNote(target: IssueRef, marker: string): Promise<Note | null> {
    const mine = (n: Note): boolean => !n.system && (n.body ?? '').includes(marker) && n.author?.username === this.botUsername;
    // One page a request: gitbeaker reads only the page it is given (page 1: at most one page, no `page` sent).
    const read = async (sort: 'asc' | 'desc', page: number): Promise<Note[]> =>
      notesSchema.parse(
        await this.notes(target).all(projectOf(target.repo), target.number, {
          perPage: STICKY_PAGE_SIZE,
          sort,
          orderBy: 'created_at',
          ...(page === 1 ? { maxPages: 1 } : { page }),
        }),
      );
    let notesRead = 0;
    for (let page = 1; page <= STICKY_HEAD_PAGES; page++) {
      const notes = await read('asc', page);
      notesRead += notes.length;
      const found = notes.find(mine);
      if (found) return found;
      if (notes.length < STICKY_PAGE_SIZE) return null;
    }
    // More notes than the head holds: the newest pages, newest first.
    for (let page = 1; page <= STICKY_TAIL_PAGES; page++) {
      const notes = await read('desc', page);
      notesRead += notes.length;
      const found = notes.find(mine);
      if (found) return found;
      if (notes.length < STICKY_PAGE_SIZE) break;
    }
    this.logger?.warn(
      { project: target.repo.fullName, number: target.number, mergeRequest: isMergeRequest(target), marker, notesRead },
      'sticky note not found within the oldest and newest pages read (an item with this many notes is not read whole): a new one is created (and kept from now on)',
    );
    return null;
  }

  async labelAddedBy(target: IssueRef, label: string): Promise<LabelActor | null> {
    const path = `projects/${encodeURIComponent(projectOf(target.repo))}/${isMergeRequest(target) ? 'merge_requests' : 'issues'}/${target.number}/resource_label_events`;
    const events: LabelEvent[] = [];
    for (let page = 1; page <= LABEL_EVENT_PAGES; page++) {
      const res = await this.api.rest.get(path, { searchParams: { perPage: 100, page } });
      const batch = labelEventsSchema.parse(res.body);
      for (const e of batch) {
        if ((e.action !== 'add' && e.action !== 'remove') || !e.label) continue;
        events.push({
          action: e.action,
          label: e.label.name,
          login: e.user?.username ?? null,
          at: e.created_at,
          bot: e.user?.bot === true,
        });
      }
      if (batch.length < 100) return lastLabelActor(events, label);
    }
    return null;
  }

  async readFile(repo: RepoRef, path: string): Promise<string | null> {
    try {
      const raw: unknown = await this.api.repositoryFiles.showRaw(projectOf(repo), path, repo.defaultBranch ?? 'HEAD');
      const file = rawFileSchema.parse(raw);
      return typeof file === 'string' ? file : await file.text();
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  /** GitLab's commits API gives the git author's name and email, never a username: unverified. */
  async lastCommitter(repo: RepoRef, path: string): Promise<CommitAuthor | null> {
    const searchParams: Record<string, string | number> = { path, perPage: 1 };
    if (repo.defaultBranch) searchParams['refName'] = repo.defaultBranch;
    const res = await this.api.rest.get(`projects/${encodeURIComponent(projectOf(repo))}/repository/commits`, { searchParams });
    const c = commitsSchema.parse(res.body)[0];
    if (!c) return null;
    return {
      sha: c.id,
      login: null,
      name: c.author_name ?? null,
      email: c.author_email ?? null,
      verified: false,
      at: c.authored_date ?? null,
    };
  }

  async listChangedPaths(target: IssueRef): Promise<string[]> {
    const raw: unknown = await this.api.mergeRequests.allDiffs(projectOf(target.repo), target.number, { perPage: 100, maxPages: 30 });
    return [...new Set(diffsSchema.parse(raw).flatMap((d) => [d.new_path, d.old_path]))];
  }

  /** Adds the user (by username) to the assignees, keeping the others; an unknown username is an error. */
  async assign(target: IssueRef, login: string): Promise<void> {
    const project = projectOf(target.repo);
    const name = login.replace(/^@/, '');
    const user = userListSchema
      .parse(await this.api.users.all({ username: name, maxPages: 1 }))
      .find((u) => u.username.toLowerCase() === name.toLowerCase());
    if (!user) throw new Error(`GitLab has no user ${name}`);
    const shown = assigneesSchema.parse(
      isMergeRequest(target)
        ? await this.api.mergeRequests.show(project, target.number)
        : await this.api.issues.show(target.number, { projectId: project }),
    );
    const current = (shown.assignees ?? []).map((a) => a.id);
    if (current.includes(user.id)) return;
    const assigneeIds = [...current, user.id];
    if (isMergeRequest(target)) await this.api.mergeRequests.edit(project, target.number, { assigneeIds });
    else await this.api.issues.edit(project, target.number, { assigneeIds });
  }

  async readBody(target: IssueRef): Promise<string> {
    const project = projectOf(target.repo);
    const raw: unknown = isMergeRequest(target)
      ? await this.api.mergeRequests.show(project, target.number)
      : await this.api.issues.show(target.number, { projectId: project });
    return descriptionSchema.parse(raw).description ?? '';
  }

  async readIssue(target: IssueRef): Promise<IssueState> {
    const raw: unknown = await this.api.issues.show(target.number, { projectId: projectOf(target.repo) });
    const issue = issueSchema.parse(raw);
    return {
      body: issue.description ?? '',
      labels: issue.labels,
      author: issue.author?.username ?? null,
      state: issue.state === 'closed' ? 'closed' : 'open',
    };
  }

  async ensureBodySection(target: IssueRef, sections: readonly BodySection[]): Promise<CommentOutcome> {
    const project = projectOf(target.repo);
    const current = await this.readBody(target);
    const next = withSections(current, sections);
    if (next === current) return 'unchanged';
    if (isMergeRequest(target)) await this.api.mergeRequests.edit(project, target.number, { description: next });
    else await this.api.issues.edit(project, target.number, { description: next });
    return sections.some((s) => readSection(current, s.name) === null) ? 'created' : 'updated';
  }

  /** Adds reviewers by username; unknown usernames are skipped; existing reviewers are kept. */
  async requestReview(target: IssueRef, reviewers: readonly string[]): Promise<void> {
    const project = projectOf(target.repo);
    const wanted = new Map<number, string>();
    for (const name of reviewers.map((r) => r.replace(/^@/, '')).filter((r) => r && !r.includes('/'))) {
      const raw: unknown = await this.api.users.all({ username: name, maxPages: 1 });
      const user = userListSchema.parse(raw).find((u) => u.username.toLowerCase() === name.toLowerCase());
      if (user) wanted.set(user.id, user.username);
    }
    if (wanted.size === 0) return;
    const mr = mergeRequestReviewersSchema.parse(await this.api.mergeRequests.show(project, target.number));
    const current = (mr.reviewers ?? []).map((r) => r.id);
    const next = [...new Set([...current, ...wanted.keys()])];
    if (next.length === current.length) return;
    await this.api.mergeRequests.edit(project, target.number, { reviewerIds: next });
  }
}
