/** The GitHub forge: the Forge port over one installation's Octokit. */
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
} from '../../ports/forge.ts';
import { readSection, withSections, type BodySection } from '../../core/workflows/sections.ts';
import { currentSlot } from '../../ports/work-slot.ts';
import {
  lastPage,
  STICKY_HEAD_PAGES,
  STICKY_PAGE_SIZE,
  STICKY_TAIL_PAGES,
  type StickyComments,
  type StickyLog,
} from '../sticky-comments.ts';
import {
  commentSchema,
  commentsSchema,
  commitsSchema,
  fileContentSchema,
  createdCommentSchema,
  pullFilesSchema,
  issueBodySchema,
  issueEventsSchema,
  issueSchema,
  labelsSchema,
} from './schema.ts';

/** The part of Octokit we use: `request(route, params)`. */
export interface GitHubRequester {
  request(route: string, params?: Record<string, unknown>): Promise<{ status: number; data: unknown; headers?: Record<string, unknown> }>;
}

type Comment = z.infer<typeof commentSchema>;

const statusOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : undefined;

const split = (fullName: string): { owner: string; repo: string } => {
  const i = fullName.indexOf('/');
  return { owner: fullName.slice(0, i), repo: fullName.slice(i + 1) };
};

export interface GitHubForgeOptions {
  /** Ids of our sticky comments, shared by the forges of one process (none: every write lists). */
  stickies?: StickyComments;
  /** Where a sticky comment not found within the listing's bound is reported. */
  logger?: StickyLog;
}

export class GitHubForge implements Forge {
  readonly platform = 'github' as const;

  constructor(
    private readonly octokit: GitHubRequester,
    /** Our bot's login (`name[bot]`), when known: only its comments are ever edited. */
    private readonly botLogin: string | null,
    private readonly options: GitHubForgeOptions = {},
  ) {}

  async ensureLabels(target: IssueRef, add: readonly string[], remove: readonly string[]): Promise<void> {
    const { owner, repo } = split(target.repo.fullName);
    if (currentSlot()?.ranBefore && add.length + remove.length > 0) {
      // The job ran before, handed back while waiting for a write turn: the labels
      // planned from the payload may be set already; only what is missing (or still there) is written.
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        owner,
        repo,
        issue_number: target.number,
        per_page: 100,
      });
      const now = new Set(labelsSchema.parse(res.data).map((l) => l.name.toLowerCase()));
      add = add.filter((l) => !now.has(l.toLowerCase()));
      remove = remove.filter((l) => now.has(l.toLowerCase()));
    }
    if (add.length > 0) {
      await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        owner,
        repo,
        issue_number: target.number,
        labels: [...add],
      });
    }
    for (const name of remove) {
      try {
        await this.octokit.request('DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}', {
          owner,
          repo,
          issue_number: target.number,
          name,
        });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
  }

  async ensureComment(target: IssueRef, marker: string, body: string): Promise<CommentOutcome> {
    const { owner, repo } = split(target.repo.fullName);
    const { stickies } = this.options;
    const cached = stickies?.get(target, marker);
    if (cached !== undefined) {
      const outcome = await this.editById(owner, repo, cached, marker, body);
      if (outcome !== 'gone') return outcome;
      stickies?.forget(target, marker);
    }
    const existing = await this.findComment(owner, repo, target.number, marker);
    if (!existing) {
      const res = await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: target.number,
        body,
      });
      const id = createdCommentSchema.safeParse(res.data).data?.id;
      if (id !== undefined) stickies?.set(target, marker, id);
      return 'created';
    }
    stickies?.set(target, marker, existing.id);
    if (existing.body === body) return 'unchanged';
    await this.octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { owner, repo, comment_id: existing.id, body });
    return 'updated';
  }

  /**
   * Our sticky comment by its known id: read (the body may have been edited by someone else), edited
   * when it differs. `gone`: deleted (404), or no longer ours with the marker: the item is listed again.
   */
  private async editById(owner: string, repo: string, id: number, marker: string, body: string): Promise<CommentOutcome | 'gone'> {
    let current: Comment;
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/comments/{comment_id}', { owner, repo, comment_id: id });
      current = commentSchema.parse(res.data);
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw err;
    }
    if (!(current.body ?? '').includes(marker) || !this.isOurs(current.user)) return 'gone';
    if (current.body === body) return 'unchanged';
    try {
      await this.octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { owner, repo, comment_id: id, body });
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw err;
    }
    return 'updated';
  }

  async labelAddedBy(target: IssueRef, label: string): Promise<LabelActor | null> {
    const { owner, repo } = split(target.repo.fullName);
    const events: { action: 'add' | 'remove'; label: string; login: string | null; at: string; bot: boolean }[] = [];
    for (let page = 1; page <= LABEL_EVENT_PAGES; page++) {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/events', {
        owner,
        repo,
        issue_number: target.number,
        per_page: 100,
        page,
      });
      const batch = issueEventsSchema.parse(res.data);
      for (const e of batch) {
        if ((e.event !== 'labeled' && e.event !== 'unlabeled') || !e.label) continue;
        events.push({
          action: e.event === 'labeled' ? 'add' : 'remove',
          label: e.label.name,
          login: e.actor?.login ?? null,
          at: e.created_at,
          bot: e.actor?.type === 'Bot',
        });
      }
      if (batch.length < 100) return lastLabelActor(events, label);
    }
    // More events than read: the newest may be unread, so nothing is attributed.
    return null;
  }

  /**
   * Our comment carrying the marker, within the listing's bound: the oldest pages, then (when the
   * item has more comments than they hold) the newest pages, newest first. Null when not found there.
   */
  private async findComment(owner: string, repo: string, issueNumber: number, marker: string): Promise<Comment | null> {
    const list = async (page: number): Promise<{ comments: Comment[]; last: number | null }> => {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: issueNumber,
        per_page: STICKY_PAGE_SIZE,
        page,
      });
      return { comments: commentsSchema.parse(res.data), last: lastPage(res.headers?.['link']) };
    };
    const mine = (comments: readonly Comment[]): Comment | undefined =>
      comments.find((c) => (c.body ?? '').includes(marker) && this.isOurs(c.user));
    let last: number | null = null;
    for (let page = 1; page <= STICKY_HEAD_PAGES; page++) {
      const read = await list(page);
      const found = mine(read.comments);
      if (found) return found;
      if (read.comments.length < STICKY_PAGE_SIZE) return null;
      if (page === 1) last = read.last;
    }
    // More comments than the head holds: the newest pages (from the last one GitHub names), newest first.
    const stop = Math.max(STICKY_HEAD_PAGES, (last ?? 0) - STICKY_TAIL_PAGES);
    for (let page = last ?? 0; page > stop; page--) {
      const found = mine((await list(page)).comments);
      if (found) return found;
    }
    if (last !== null && last <= STICKY_HEAD_PAGES) return null; // every page was read
    this.options.logger?.warn(
      {
        repo: `${owner}/${repo}`,
        number: issueNumber,
        marker,
        pagesRead: STICKY_HEAD_PAGES + Math.max(0, (last ?? 0) - stop),
        lastPage: last,
      },
      'sticky comment not found within the oldest and newest pages read (an item with this many comments is not read whole): a new one is created (and kept from now on)',
    );
    return null;
  }

  private isOurs(user: { login: string; type: string } | null): boolean {
    if (!user) return false;
    return this.botLogin ? user.login === this.botLogin : user.type === 'Bot';
  }

  async readFile(repoRef: RepoRef, path: string): Promise<string | null> {
    const { owner, repo } = split(repoRef.fullName);
    try {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { owner, repo, path });
      const file = fileContentSchema.parse(res.data);
      return file.encoding === 'base64' ? Buffer.from(file.content, 'base64').toString('utf8') : file.content;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async lastCommitter(repoRef: RepoRef, path: string): Promise<CommitAuthor | null> {
    const { owner, repo } = split(repoRef.fullName);
    const res = await this.octokit.request('GET /repos/{owner}/{repo}/commits', { owner, repo, path, per_page: 1 });
    const c = commitsSchema.parse(res.data)[0];
    if (!c) return null;
    const login = c.author?.login ?? c.committer?.login ?? null;
    const git = c.commit.author;
    return { sha: c.sha, login, name: git?.name ?? null, email: git?.email ?? null, verified: login !== null, at: git?.date ?? null };
  }

  async listChangedPaths(target: IssueRef): Promise<string[]> {
    const { owner, repo } = split(target.repo.fullName);
    const paths: string[] = [];
    // GitHub lists at most 3,000 files of a pull request, 100 a page.
    for (let page = 1; page <= 30; page++) {
      const res = await this.octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', {
        owner,
        repo,
        pull_number: target.number,
        per_page: 100,
        page,
      });
      const files = pullFilesSchema.parse(res.data);
      for (const f of files) paths.push(f.filename, ...(f.previous_filename ? [f.previous_filename] : []));
      if (files.length < 100) break;
    }
    return [...new Set(paths)];
  }

  async assign(target: IssueRef, login: string): Promise<void> {
    const { owner, repo } = split(target.repo.fullName);
    await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/assignees', {
      owner,
      repo,
      issue_number: target.number,
      assignees: [login.replace(/^@/, '')],
    });
  }

  async readBody(target: IssueRef): Promise<string> {
    const { owner, repo } = split(target.repo.fullName);
    const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', { owner, repo, issue_number: target.number });
    return issueBodySchema.parse(res.data).body ?? '';
  }

  async readIssue(target: IssueRef): Promise<IssueState> {
    const { owner, repo } = split(target.repo.fullName);
    const res = await this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', { owner, repo, issue_number: target.number });
    const issue = issueSchema.parse(res.data);
    return {
      body: issue.body ?? '',
      labels: issue.labels.map((l) => (typeof l === 'string' ? l : l.name)),
      author: issue.user?.login ?? null,
      state: issue.state,
    };
  }

  async ensureBodySection(target: IssueRef, sections: readonly BodySection[]): Promise<CommentOutcome> {
    const { owner, repo } = split(target.repo.fullName);
    const current = await this.readBody(target);
    const next = withSections(current, sections);
    if (next === current) return 'unchanged';
    await this.octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
      owner,
      repo,
      issue_number: target.number,
      body: next,
    });
    return sections.some((s) => readSection(current, s.name) === null) ? 'created' : 'updated';
  }

  async requestReview(target: IssueRef, reviewers: readonly string[]): Promise<void> {
    const { owner, repo } = split(target.repo.fullName);
    const teams = reviewers.filter((r) => r.includes('/')).map((r) => r.slice(r.indexOf('/') + 1));
    const users = reviewers.filter((r) => !r.includes('/')).map((r) => r.replace(/^@/, ''));
    await this.octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
      owner,
      repo,
      pull_number: target.number,
      reviewers: users,
      team_reviewers: teams,
    });
  }
}
