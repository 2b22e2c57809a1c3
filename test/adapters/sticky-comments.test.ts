/**
 * Sticky comments on busy items: the listing that finds ours is bounded (the oldest and the newest
 * pages), and the id found or created is kept per item, so a later write on the same item lists
 * nothing. GitHub and GitLab over nock: no other network, one interceptor per expected call, every
 * interceptor used.
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../../src/adapters/github/forge.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabForge } from '../../src/adapters/gitlab/forge.ts';
import { mergeRequestRef } from '../../src/adapters/gitlab/target.ts';
import { lastPage, STICKY_HEAD_PAGES, STICKY_TAIL_PAGES, StickyComments } from '../../src/adapters/sticky-comments.ts';
import type { IssueRef, RepoRef } from '../../src/core/model.ts';
import { GITLAB_API, GITLAB_BOT, GITLAB_URL } from '../support/gitlab.ts';

const GH = 'https://api.github.com';
const MARKER = '<!-- gatehouse:command-refused -->';
const BOUND = STICKY_HEAD_PAGES + STICKY_TAIL_PAGES;

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every expected call was made').toEqual([]);
});

/** A logger that keeps what is warned. */
const recorder = (): { warned: { obj: object; msg: string }[]; warn: (obj: object, msg: string) => void } => {
  const warned: { obj: object; msg: string }[] = [];
  return { warned, warn: (obj: object, msg: string) => void warned.push({ obj, msg }) };
};

describe('lastPage', () => {
  it.each([
    [
      '<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=50>; rel="last"',
      50,
    ],
    ['<https://api.github.com/x?page=3&per_page=100>; rel="last"', 3],
    ['<https://api.github.com/x?page=2>; rel="next"', null],
    [undefined, null],
  ])('%j → %j', (link, want) => {
    expect(lastPage(link)).toBe(want);
  });
});

describe('GitHub: comments of an issue', () => {
  const ref: IssueRef = { repo: { platform: 'github', fullName: 'acme/shop', id: null, defaultBranch: 'main' }, number: 7 };
  const COMMENTS = '/repos/acme/shop/issues/7/comments';
  const octokit = (): InstanceType<typeof ProbotOctokit> =>
    new ProbotOctokit({ auth: { token: 'ghs_test' }, retry: { enabled: false }, throttle: { enabled: false } });
  const bot = { login: 'gatehouse[bot]', type: 'Bot' };
  const someone = { login: 'someone', type: 'User' };
  /** Page `page` (of 100) of an issue with `total` comments, none ours unless `ours` says where. */
  const page = (page: number, total: number, ours?: { page: number; id: number; body: string }): object[] =>
    Array.from({ length: Math.max(0, Math.min(100, total - (page - 1) * 100)) }, (_, i) => {
      const id = (page - 1) * 100 + i + 1;
      return ours && ours.page === page && i === 50
        ? { id: ours.id, body: ours.body, user: bot }
        : { id, body: `+1 (${id})`, user: someone };
    });
  const links = (total: number): Record<string, string> => {
    const last = Math.ceil(total / 100);
    return {
      link: `<${GH}/repositories/1/issues/7/comments?per_page=100&page=2>; rel="next", <${GH}/repositories/1/issues/7/comments?per_page=100&page=${last}>; rel="last"`,
    };
  };
  /** Expects a GET of each page, in order; returns how many list requests were expected. */
  const listPages = (pages: number[], total: number, ours?: { page: number; id: number; body: string }): number => {
    for (const p of pages)
      nock(GH)
        .get(COMMENTS)
        .query({ per_page: 100, page: p })
        .reply(200, page(p, total, ours), p === 1 ? links(total) : {});
    return pages.length;
  };

  it(`an issue with 5,000 comments costs at most ${BOUND} list requests; the comment then made is edited by id, without listing`, async () => {
    const stickies = new StickyComments();
    const log = recorder();
    const forge = new GitHubForge(octokit(), 'gatehouse[bot]', { stickies, logger: log });
    // The oldest pages, then the newest (the last page GitHub names first).
    const lists = listPages([1, 2, 3, 4, 5, 50, 49, 48, 47, 46], 5000);
    expect(lists).toBeLessThanOrEqual(BOUND);
    nock(GH)
      .post(COMMENTS, { body: `${MARKER}\nfirst` })
      .reply(201, { id: 90001, body: `${MARKER}\nfirst`, user: bot });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nfirst`)).toBe('created');
    expect(log.warned).toHaveLength(1);
    expect(log.warned[0]!.obj).toMatchObject({ repo: 'acme/shop', number: 7, marker: MARKER, pagesRead: 10, lastPage: 50 });

    // The second write on the same item lists nothing: the comment is read and edited by its id.
    nock(GH)
      .get('/repos/acme/shop/issues/comments/90001')
      .reply(200, { id: 90001, body: `${MARKER}\nfirst`, user: bot });
    nock(GH)
      .patch('/repos/acme/shop/issues/comments/90001', { body: `${MARKER}\nsecond` })
      .reply(200, { id: 90001 });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nsecond`)).toBe('updated');
    // Another forge of the same process (the next delivery) shares the ids; an unchanged body writes nothing.
    nock(GH)
      .get('/repos/acme/shop/issues/comments/90001')
      .reply(200, { id: 90001, body: `${MARKER}\nsecond`, user: bot });
    expect(await new GitHubForge(octokit(), 'gatehouse[bot]', { stickies }).ensureComment(ref, MARKER, `${MARKER}\nsecond`)).toBe(
      'unchanged',
    );
  });

  it('finds our comment among the newest pages of a busy issue, and keeps its id', async () => {
    const stickies = new StickyComments();
    const log = recorder();
    const forge = new GitHubForge(octokit(), 'gatehouse[bot]', { stickies, logger: log });
    const ours = { page: 48, id: 4750, body: `${MARKER}\nold` };
    listPages([1, 2, 3, 4, 5, 50, 49, 48], 5000, ours);
    nock(GH)
      .patch('/repos/acme/shop/issues/comments/4750', { body: `${MARKER}\nnew` })
      .reply(200, { id: 4750 });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nnew`)).toBe('updated');
    expect(log.warned).toEqual([]);
    expect(stickies.get(ref, MARKER)).toBe(4750);
  });

  it('a small issue is read whole, as before: one page, and nothing is logged', async () => {
    const stickies = new StickyComments();
    const log = recorder();
    nock(GH).get(COMMENTS).query({ per_page: 100, page: 1 }).reply(200, page(1, 3));
    nock(GH).post(COMMENTS).reply(201, { id: 11, body: 'x', user: bot });
    expect(await new GitHubForge(octokit(), 'gatehouse[bot]', { stickies, logger: log }).ensureComment(ref, MARKER, `${MARKER}\nx`)).toBe(
      'created',
    );
    expect(log.warned).toEqual([]);
    expect(stickies.get(ref, MARKER)).toBe(11);
  });

  it('a kept id whose comment is gone (404 on read or on edit) is dropped, and the item is listed again', async () => {
    const stickies = new StickyComments();
    stickies.set(ref, MARKER, 500);
    const forge = new GitHubForge(octokit(), 'gatehouse[bot]', { stickies });
    nock(GH).get('/repos/acme/shop/issues/comments/500').reply(404, { message: 'Not Found' });
    nock(GH)
      .get(COMMENTS)
      .query({ per_page: 100, page: 1 })
      .reply(200, [{ id: 501, body: `${MARKER}\nold`, user: bot }]);
    nock(GH)
      .patch('/repos/acme/shop/issues/comments/501', { body: `${MARKER}\nnew` })
      .reply(200, { id: 501 });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nnew`)).toBe('updated');
    expect(stickies.get(ref, MARKER)).toBe(501);

    // Deleted between the read and the edit.
    nock(GH)
      .get('/repos/acme/shop/issues/comments/501')
      .reply(200, { id: 501, body: `${MARKER}\nnew`, user: bot });
    nock(GH).patch('/repos/acme/shop/issues/comments/501').reply(404, { message: 'Not Found' });
    nock(GH).get(COMMENTS).query({ per_page: 100, page: 1 }).reply(200, []);
    nock(GH)
      .post(COMMENTS, { body: `${MARKER}\nnewer` })
      .reply(201, { id: 502, body: `${MARKER}\nnewer`, user: bot });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nnewer`)).toBe('created');
    expect(stickies.get(ref, MARKER)).toBe(502);
  });

  it('a kept id whose comment lost the marker or is not ours is not edited: the item is listed again', async () => {
    const stickies = new StickyComments();
    stickies.set(ref, MARKER, 600);
    nock(GH).get('/repos/acme/shop/issues/comments/600').reply(200, { id: 600, body: 'edited away', user: bot });
    nock(GH).get(COMMENTS).query({ per_page: 100, page: 1 }).reply(200, []);
    nock(GH).post(COMMENTS).reply(201, { id: 601, body: 'x', user: bot });
    expect(await new GitHubForge(octokit(), 'gatehouse[bot]', { stickies }).ensureComment(ref, MARKER, `${MARKER}\nx`)).toBe('created');
    expect(stickies.get(ref, MARKER)).toBe(601);
  });

  it('without a cache every write lists, within the same bound', async () => {
    const forge = new GitHubForge(octokit(), 'gatehouse[bot]');
    const ours = { page: 2, id: 150, body: `${MARKER}\nold` };
    listPages([1, 2], 5000, ours);
    nock(GH).patch('/repos/acme/shop/issues/comments/150').reply(200, { id: 150 });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nnew`)).toBe('updated');
    listPages([1, 2], 5000, { ...ours, body: `${MARKER}\nnew` });
    expect(await forge.ensureComment(ref, MARKER, `${MARKER}\nnew`)).toBe('unchanged');
  });
});

describe('GitLab: notes of an issue or merge request', () => {
  const repo: RepoRef = { platform: 'gitlab', fullName: 'gitlabhq/gitlab-test', id: 1, defaultBranch: 'master' };
  const issue: IssueRef = { repo, number: 23 };
  const NOTES = '/projects/1/issues/23/notes';
  const api = () => createGitLabApi({ url: GITLAB_URL, token: 'glpat-test', retry: { attempts: 1 } });
  const author = (username: string) => ({ id: username === GITLAB_BOT ? 99 : 1, username });
  /** Page `page` (of 100) of `total` notes in this order, none ours unless `ours` says where. */
  const notes = (
    sort: 'asc' | 'desc',
    page: number,
    total: number,
    ours?: { id: number; body: string; sort: 'asc' | 'desc'; page: number },
  ): object[] =>
    Array.from({ length: Math.max(0, Math.min(100, total - (page - 1) * 100)) }, (_, i) => {
      const n = (page - 1) * 100 + i;
      const id = sort === 'asc' ? n + 1 : total - n;
      return ours && ours.sort === sort && ours.page === page && i === 10
        ? { id: ours.id, body: ours.body, system: false, author: author(GITLAB_BOT) }
        : { id, body: `+1 (${id})`, system: false, author: author('someone') };
    });
  /** Expects GETs of pages 1…`pages` in this order (gitbeaker follows `Link: rel="next"`). */
  const listPages = (
    path: string,
    sort: 'asc' | 'desc',
    pages: number,
    total: number,
    ours?: { id: number; body: string; sort: 'asc' | 'desc'; page: number },
  ): number => {
    for (let p = 1; p <= pages; p++) {
      const query = { per_page: '100', sort, order_by: 'created_at', ...(p > 1 ? { page: String(p) } : {}) };
      const next = `${GITLAB_API}${path}?per_page=100&sort=${sort}&order_by=created_at&page=${p + 1}`;
      nock(GITLAB_API)
        .get(path)
        .query(query)
        .reply(
          200,
          notes(sort, p, total, ours),
          p * 100 < total
            ? {
                link: `<${next}>; rel="next"`,
                'x-next-page': String(p + 1),
                'x-page': String(p),
                'x-per-page': '100',
                'x-total': String(total),
              }
            : {},
        );
    }
    return pages;
  };

  it(`an issue with 5,000 notes costs at most ${BOUND} list requests; the note then made is edited by id, without listing`, async () => {
    const stickies = new StickyComments();
    const log = recorder();
    const forge = new GitLabForge(api(), GITLAB_BOT, { stickies, logger: log });
    const lists = listPages(NOTES, 'asc', STICKY_HEAD_PAGES, 5000) + listPages(NOTES, 'desc', STICKY_TAIL_PAGES, 5000);
    expect(lists).toBeLessThanOrEqual(BOUND);
    nock(GITLAB_API)
      .post(NOTES, { body: `${MARKER}\nfirst` })
      .reply(201, { id: 90001, body: `${MARKER}\nfirst`, system: false, author: author(GITLAB_BOT) });
    expect(await forge.ensureComment(issue, MARKER, `${MARKER}\nfirst`)).toBe('created');
    expect(log.warned).toHaveLength(1);
    expect(log.warned[0]!.obj).toMatchObject({ project: 'gitlabhq/gitlab-test', number: 23, marker: MARKER, notesRead: 1000 });

    nock(GITLAB_API)
      .get(`${NOTES}/90001`)
      .reply(200, { id: 90001, body: `${MARKER}\nfirst`, system: false, author: author(GITLAB_BOT) });
    nock(GITLAB_API)
      .put(`${NOTES}/90001`, { body: `${MARKER}\nsecond` })
      .reply(200, { id: 90001 });
    expect(await forge.ensureComment(issue, MARKER, `${MARKER}\nsecond`)).toBe('updated');
    nock(GITLAB_API)
      .get(`${NOTES}/90001`)
      .reply(200, { id: 90001, body: `${MARKER}\nsecond`, system: false, author: author(GITLAB_BOT) });
    expect(await new GitLabForge(api(), GITLAB_BOT, { stickies }).ensureComment(issue, MARKER, `${MARKER}\nsecond`)).toBe('unchanged');
  });

  it('finds our note among the newest of a busy merge request, and keeps its id apart from the issue of the same number', async () => {
    const stickies = new StickyComments();
    const mr = mergeRequestRef(repo, 23);
    const path = '/projects/1/merge_requests/23/notes';
    listPages(path, 'asc', STICKY_HEAD_PAGES, 5000);
    listPages(path, 'desc', 2, 5000, { id: 4900, body: `${MARKER}\nold`, sort: 'desc', page: 2 });
    nock(GITLAB_API)
      .put(`${path}/4900`, { body: `${MARKER}\nnew` })
      .reply(200, { id: 4900 });
    expect(await new GitLabForge(api(), GITLAB_BOT, { stickies }).ensureComment(mr, MARKER, `${MARKER}\nnew`)).toBe('updated');
    expect(stickies.get(mr, MARKER)).toBe(4900);
    expect(stickies.get(issue, MARKER)).toBeUndefined();
  });

  it('a kept id whose note is gone (404 on read or on edit) is dropped, and the item is listed again', async () => {
    const stickies = new StickyComments();
    stickies.set(issue, MARKER, 500);
    const forge = new GitLabForge(api(), GITLAB_BOT, { stickies });
    nock(GITLAB_API).get(`${NOTES}/500`).reply(404, { message: '404 Not found' });
    nock(GITLAB_API)
      .get(NOTES)
      .query(true)
      .reply(200, [{ id: 501, body: `${MARKER}\nold`, system: false, author: author(GITLAB_BOT) }]);
    nock(GITLAB_API)
      .put(`${NOTES}/501`, { body: `${MARKER}\nnew` })
      .reply(200, { id: 501 });
    expect(await forge.ensureComment(issue, MARKER, `${MARKER}\nnew`)).toBe('updated');
    expect(stickies.get(issue, MARKER)).toBe(501);

    nock(GITLAB_API)
      .get(`${NOTES}/501`)
      .reply(200, { id: 501, body: `${MARKER}\nnew`, system: false, author: author(GITLAB_BOT) });
    nock(GITLAB_API).put(`${NOTES}/501`).reply(404, { message: '404 Not found' });
    nock(GITLAB_API).get(NOTES).query(true).reply(200, []);
    nock(GITLAB_API)
      .post(NOTES, { body: `${MARKER}\nnewer` })
      .reply(201, { id: 502, body: `${MARKER}\nnewer`, system: false, author: author(GITLAB_BOT) });
    expect(await forge.ensureComment(issue, MARKER, `${MARKER}\nnewer`)).toBe('created');
    expect(stickies.get(issue, MARKER)).toBe(502);
  });
});

describe('StickyComments', () => {
  const ref = (n: number): IssueRef => ({
    repo: { platform: 'github', fullName: 'acme/shop', id: null, defaultBranch: 'main' },
    number: n,
  });
  it('keeps at most its size, dropping the least recently used', () => {
    const s = new StickyComments(2);
    s.set(ref(1), MARKER, 1);
    s.set(ref(2), MARKER, 2);
    expect(s.get(ref(1), MARKER)).toBe(1);
    s.set(ref(3), MARKER, 3);
    expect([s.get(ref(1), MARKER), s.get(ref(2), MARKER), s.get(ref(3), MARKER)]).toEqual([1, undefined, 3]);
  });
});
