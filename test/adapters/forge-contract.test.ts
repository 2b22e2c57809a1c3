/**
 * The shared forge suite against the three implementations: GitHub (Octokit over nock), GitLab
 * (gitbeaker over nock) and the in-memory fake. The nock APIs are small stateful fakes; any
 * request they do not know fails the test (net connect is off, unmatched requests are recorded).
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterAll, beforeAll, expect } from 'vitest';
import { FakeForge } from '../support/fake-forge.ts';
import { GitHubForge } from '../../src/adapters/github/forge.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabForge } from '../../src/adapters/gitlab/forge.ts';
import type { RepoRef } from '../../src/core/model.ts';
import { fakeGitLabApi, GITLAB_BOT, GITLAB_URL } from '../support/gitlab.ts';
import { describeForgeContract, type ForgeWorld, type WorldComment } from './forge-contract.ts';

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

// --- GitHub -----------------------------------------------------------------------------------

const GITHUB_API = 'https://api.github.com';
const GITHUB_BOT = 'gatehouse[bot]';

function githubWorld(): ForgeWorld {
  const repo: RepoRef = { platform: 'github', fullName: 'acme/payments', id: 1, defaultBranch: 'main' };
  const labels = new Map<number, string[]>();
  const comments = new Map<number, { id: number; body: string; login: string }[]>();
  const files = new Map<string, string>();
  const unmatched: string[] = [];
  let nextId = 1;
  const base = '/repos/acme/payments';
  const scope = nock(GITHUB_API).persist();

  scope.get(new RegExp(`^${base}/issues/(\\d+)/comments(\\?.*)?$`)).reply((uri) => {
    const url = new URL(uri, GITHUB_API);
    const n = Number(/issues\/(\d+)/.exec(url.pathname)![1]);
    const perPage = Number(url.searchParams.get('per_page') ?? 30);
    const page = Number(url.searchParams.get('page') ?? 1);
    const list = (comments.get(n) ?? []).slice((page - 1) * perPage, page * perPage);
    return [200, list.map((c) => ({ id: c.id, body: c.body, user: { login: c.login, type: c.login === GITHUB_BOT ? 'Bot' : 'User' } }))];
  });
  scope.post(new RegExp(`^${base}/issues/(\\d+)/comments$`)).reply((uri, body) => {
    const n = Number(/issues\/(\d+)/.exec(uri)![1]);
    const c = { id: nextId++, body: (body as { body: string }).body, login: GITHUB_BOT };
    comments.set(n, [...(comments.get(n) ?? []), c]);
    return [201, { id: c.id, body: c.body, user: { login: GITHUB_BOT, type: 'Bot' } }];
  });
  scope.patch(new RegExp(`^${base}/issues/comments/(\\d+)$`)).reply((uri, body) => {
    const id = Number(/comments\/(\d+)$/.exec(uri)![1]);
    const c = [...comments.values()].flat().find((x) => x.id === id);
    if (!c) return [404, { message: 'Not Found' }];
    if (c.login !== GITHUB_BOT) return [403, { message: 'Forbidden' }];
    c.body = (body as { body: string }).body;
    return [200, { id }];
  });
  scope.post(new RegExp(`^${base}/issues/(\\d+)/labels$`)).reply((uri, body) => {
    const n = Number(/issues\/(\d+)/.exec(uri)![1]);
    const list = labels.get(n) ?? [];
    for (const l of (body as { labels: string[] }).labels) if (!list.includes(l)) list.push(l);
    labels.set(n, list);
    return [200, list.map((name) => ({ name }))];
  });
  scope.delete(new RegExp(`^${base}/issues/(\\d+)/labels/(.+)$`)).reply((uri) => {
    const [, n, name] = /issues\/(\d+)\/labels\/(.+)$/.exec(uri)!;
    const list = labels.get(Number(n)) ?? [];
    const label = decodeURIComponent(name!);
    if (!list.includes(label)) return [404, { message: 'Label does not exist' }];
    labels.set(
      Number(n),
      list.filter((l) => l !== label),
    );
    return [200, []];
  });
  scope.get(new RegExp(`^${base}/contents/(.+)$`)).reply((uri) => {
    const path = decodeURIComponent(/contents\/([^?]+)/.exec(uri)![1]!);
    const text = files.get(path);
    if (text === undefined) return [404, { message: 'Not Found' }];
    return [200, { type: 'file', path, encoding: 'base64', content: Buffer.from(text, 'utf8').toString('base64') }];
  });
  const onNoMatch = (req: { method?: string; href?: string; path?: string }): void =>
    void unmatched.push(`${req.method} ${req.href ?? req.path}`);
  nock.emitter.on('no match', onNoMatch);

  const octokit = new ProbotOctokit({ auth: { token: 'ghs_test' }, retry: { enabled: false }, throttle: { enabled: false } });
  return {
    forge: new GitHubForge(octokit, GITHUB_BOT),
    repo,
    seedIssue(n, spec) {
      labels.set(n, [...(spec.labels ?? [])]);
      comments.set(
        n,
        (spec.comments ?? []).map((c) => ({ id: nextId++, body: c.body, login: c.author ?? GITHUB_BOT })),
      );
    },
    seedFile: (path, text) => void files.set(path, text),
    labels: (n) => [...(labels.get(n) ?? [])],
    comments: (n): WorldComment[] =>
      (comments.get(n) ?? []).map((c) => ({ author: c.login === GITHUB_BOT ? null : c.login, body: c.body })),
    verify: () => expect(unmatched, 'requests the fake GitHub does not know').toEqual([]),
    close: () => {
      nock.emitter.removeListener('no match', onNoMatch);
      scope.persist(false);
      nock.cleanAll();
    },
  };
}

// --- GitLab -----------------------------------------------------------------------------------

function gitlabWorld(): ForgeWorld {
  const repo: RepoRef = { platform: 'gitlab', fullName: 'acme/payments', id: 42, defaultBranch: 'main' };
  const api = fakeGitLabApi();
  const forge = new GitLabForge(createGitLabApi({ url: GITLAB_URL, token: 'glpat-test', retry: { attempts: 1 } }), GITLAB_BOT);
  return {
    forge,
    repo,
    seedIssue(n, spec) {
      api.labels.set(`issues/${n}`, [...(spec.labels ?? [])]);
      api.notes.set(
        `issues/${n}`,
        (spec.comments ?? []).map((c, i) => ({ id: 100 + i, body: c.body, author: c.author ?? GITLAB_BOT, system: false })),
      );
    },
    seedFile: (path, text) => void api.files.set(path, text),
    labels: (n) => [...(api.labels.get(`issues/${n}`) ?? [])],
    comments: (n) => (api.notes.get(`issues/${n}`) ?? []).map((c) => ({ author: c.author === GITLAB_BOT ? null : c.author, body: c.body })),
    verify: () => {
      expect(api.unmatched, 'requests the fake GitLab does not know').toEqual([]);
      // Every write to GitLab's labels is one PUT per ensureLabels call (never per label).
      expect(api.requests.filter((r) => /^PUT .*\/issues\/\d+$/.test(r)).length).toBeLessThanOrEqual(4);
    },
    close: () => api.stop(),
  };
}

// --- The in-memory fake -----------------------------------------------------------------------

function fakeWorld(): ForgeWorld {
  const repo: RepoRef = { platform: 'github', fullName: 'acme/payments', id: 1, defaultBranch: 'main' };
  const forge = new FakeForge('github', 'gatehouse-bot');
  const ref = (n: number) => ({ repo, number: n });
  return {
    forge,
    repo,
    seedIssue: (n, spec) => forge.seed(ref(n), { labels: spec.labels, comments: spec.comments }),
    seedFile: (path, text) => forge.setFile(repo, path, text),
    labels: (n) => [...forge.issue(ref(n)).labels],
    comments: (n) => forge.issue(ref(n)).comments.map((c) => ({ author: c.author === forge.botLogin ? null : c.author, body: c.body })),
    verify: () => undefined,
  };
}

describeForgeContract('GitHub (Octokit, nock)', githubWorld);
describeForgeContract('GitLab (gitbeaker, nock)', gitlabWorld);
describeForgeContract('in-memory fake', fakeWorld);
