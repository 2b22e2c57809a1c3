/**
 * An in-memory Forge: issues with labels and comments, files, changed paths and reviewers, and a
 * log of the writes made. Behaves like the real forges (the shared forge suite proves it), so
 * other tests can use it instead of intercepting HTTP.
 */
import type { IssueRef, RepoRef } from '../../src/core/model.ts';
import type { CommentOutcome, CommitAuthor, Forge, IssueState, LabelActor } from '../../src/ports/forge.ts';

export interface FakeComment {
  id: number;
  author: string;
  body: string;
}

export interface FakeIssue {
  labels: string[];
  comments: FakeComment[];
  reviewers: string[];
  changedPaths: string[];
  /** Who added each label (lower-cased name), as the platform's label events would say. */
  labelActors: Map<string, LabelActor>;
  body?: string;
  author?: string;
}

export type FakeWrite =
  | { op: 'addLabels' | 'removeLabels'; key: string; labels: string[] }
  | { op: 'createComment' | 'editComment'; key: string; id: number }
  | { op: 'requestReview'; key: string; reviewers: string[] };

const issueKeyOf = (ref: IssueRef): string => `${ref.repo.fullName}#${ref.number}`;
const fileKeyOf = (repo: RepoRef, path: string): string => `${repo.fullName}:${path}`;
const same = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

export class FakeForge implements Forge {
  readonly issues = new Map<string, FakeIssue>();
  readonly files = new Map<string, string>();
  readonly writes: FakeWrite[] = [];
  /** The newest commit touching each file (`fullName:path`), as the commits API would say. */
  readonly commits = new Map<string, CommitAuthor>();
  private nextId = 1;

  constructor(
    readonly platform: 'github' | 'gitlab' = 'github',
    /** Whose comments are ours. */
    readonly botLogin = 'gatehouse-bot',
  ) {}

  issue(ref: IssueRef): FakeIssue {
    const key = issueKeyOf(ref);
    let issue = this.issues.get(key);
    if (!issue) {
      issue = { labels: [], comments: [], reviewers: [], changedPaths: [], labelActors: new Map() };
      this.issues.set(key, issue);
    }
    return issue;
  }

  /** Seeds an issue's labels and comments (author `null`: ours). */
  seed(ref: IssueRef, spec: { labels?: string[]; comments?: { author: string | null; body: string }[]; changedPaths?: string[] }): void {
    const issue = this.issue(ref);
    issue.labels.push(...(spec.labels ?? []));
    for (const c of spec.comments ?? []) issue.comments.push({ id: this.nextId++, author: c.author ?? this.botLogin, body: c.body });
    issue.changedPaths.push(...(spec.changedPaths ?? []));
  }

  setFile(repo: RepoRef, path: string, text: string | null): void {
    if (text === null) this.files.delete(fileKeyOf(repo, path));
    else this.files.set(fileKeyOf(repo, path), text);
  }

  async ensureLabels(target: IssueRef, add: readonly string[], remove: readonly string[]): Promise<void> {
    const issue = this.issue(target);
    const added = add.filter((l) => !issue.labels.some((x) => same(x, l)));
    if (added.length > 0) {
      issue.labels.push(...added);
      for (const l of added)
        issue.labelActors.set(l.trim().toLowerCase(), { login: this.botLogin, at: new Date(0).toISOString(), bot: true });
      this.writes.push({ op: 'addLabels', key: issueKeyOf(target), labels: added });
    }
    const removed = issue.labels.filter((x) => remove.some((l) => same(x, l)));
    if (removed.length > 0) {
      issue.labels = issue.labels.filter((x) => !removed.includes(x));
      this.writes.push({ op: 'removeLabels', key: issueKeyOf(target), labels: removed });
    }
  }

  /** Records that `login` added `label` (the label events' answer); the label itself is added when absent. */
  labelAdded(
    ref: IssueRef,
    label: string,
    login: string,
    { bot = false, at = new Date(0).toISOString() }: { bot?: boolean; at?: string } = {},
  ): void {
    const issue = this.issue(ref);
    if (!issue.labels.some((x) => same(x, label))) issue.labels.push(label);
    issue.labelActors.set(label.trim().toLowerCase(), { login, at, bot });
  }

  async readIssue(target: IssueRef): Promise<IssueState> {
    const issue = this.issue(target);
    return { body: issue.body ?? '', labels: [...issue.labels], author: issue.author ?? null, state: 'open' };
  }

  async labelAddedBy(target: IssueRef, label: string): Promise<LabelActor | null> {
    const issue = this.issue(target);
    if (!issue.labels.some((x) => same(x, label))) return null;
    return issue.labelActors.get(label.trim().toLowerCase()) ?? null;
  }

  async ensureComment(target: IssueRef, marker: string, body: string): Promise<CommentOutcome> {
    const issue = this.issue(target);
    const mine = issue.comments.find((c) => c.author === this.botLogin && c.body.includes(marker));
    if (!mine) {
      const id = this.nextId++;
      issue.comments.push({ id, author: this.botLogin, body });
      this.writes.push({ op: 'createComment', key: issueKeyOf(target), id });
      return 'created';
    }
    if (mine.body === body) return 'unchanged';
    mine.body = body;
    this.writes.push({ op: 'editComment', key: issueKeyOf(target), id: mine.id });
    return 'updated';
  }

  async readFile(repo: RepoRef, path: string): Promise<string | null> {
    return this.files.get(fileKeyOf(repo, path)) ?? null;
  }

  async lastCommitter(repo: RepoRef, path: string): Promise<CommitAuthor | null> {
    return this.commits.get(fileKeyOf(repo, path)) ?? null;
  }

  async listChangedPaths(target: IssueRef): Promise<string[]> {
    return [...new Set(this.issue(target).changedPaths)];
  }

  async requestReview(target: IssueRef, reviewers: readonly string[]): Promise<void> {
    const issue = this.issue(target);
    const added = reviewers.filter((r) => !issue.reviewers.includes(r));
    issue.reviewers.push(...added);
    if (added.length > 0) this.writes.push({ op: 'requestReview', key: issueKeyOf(target), reviewers: added });
  }
}
