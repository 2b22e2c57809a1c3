/**
 * Who last changed a file on the default branch, from the platforms' commits APIs (over nock):
 * GitHub's linked account (author, else committer, else git's name unverified); GitLab's git author
 * name and email (its commits API names no account: always unverified).
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../../src/adapters/github/forge.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabForge } from '../../src/adapters/gitlab/forge.ts';
import type { RepoRef } from '../../src/core/model.ts';

const GH = 'https://api.github.com';
const GL = 'https://gitlab.example.com';
const SHA = '7638417db6d59f3c431d3e1f261cc637155684cd';

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('GitHub: GET /repos/{owner}/{repo}/commits?path=&per_page=1', () => {
  const repo: RepoRef = { platform: 'github', fullName: 'acme/shop', id: 1, defaultBranch: 'main' };
  const forge = (): GitHubForge =>
    new GitHubForge(
      new ProbotOctokit({ auth: { token: 'ghs_test' }, retry: { enabled: false }, throttle: { enabled: false } }),
      'gatehouse[bot]',
    );
  const user = (login: string): object => ({ login, id: 1, node_id: 'MDQ6VXNlcjE=', type: 'User', site_admin: false });
  const commit = (author: object | null, committer: object | null): object => ({
    url: `${GH}/repos/acme/shop/commits/${SHA}`,
    sha: SHA,
    node_id: 'MDY6Q29tbWl0NmRjYjA5YjViNTc4NzVmMzM0ZjYxYWViZWQ2OTVlMmU0MTkzZGI1ZQ==',
    commit: {
      author: { name: 'Mallory M', email: 'mallory@example.com', date: '2026-11-30T10:00:00Z' },
      committer: { name: 'GitHub', email: 'noreply@github.com', date: '2026-11-30T10:00:00Z' },
      message: 'Relax the policy',
      comment_count: 0,
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
    },
    author,
    committer,
    parents: [],
  });
  const list = (body: object[]): void =>
    void nock(GH).get('/repos/acme/shop/commits').query({ path: '.github/gatehouse.yml', per_page: '1' }).reply(200, body);

  it('names the account GitHub links to the commit’s author', async () => {
    list([commit(user('mallory'), user('web-flow'))]);
    expect(await forge().lastCommitter(repo, '.github/gatehouse.yml')).toEqual({
      sha: SHA,
      login: 'mallory',
      name: 'Mallory M',
      email: 'mallory@example.com',
      verified: true,
      at: '2026-11-30T10:00:00Z',
    });
  });

  it('no linked author: the committer’s account', async () => {
    list([commit(null, user('mallory'))]);
    expect(await forge().lastCommitter(repo, '.github/gatehouse.yml')).toMatchObject({ login: 'mallory', verified: true });
  });

  it('no linked account at all: git’s author name and email, unverified', async () => {
    list([commit(null, null)]);
    expect(await forge().lastCommitter(repo, '.github/gatehouse.yml')).toEqual({
      sha: SHA,
      login: null,
      name: 'Mallory M',
      email: 'mallory@example.com',
      verified: false,
      at: '2026-11-30T10:00:00Z',
    });
  });

  it('no commit touches the file: null', async () => {
    list([]);
    expect(await forge().lastCommitter(repo, '.github/gatehouse.yml')).toBeNull();
  });

  it('an answer of another shape is an error, never a guess', async () => {
    list([{ sha: SHA }]);
    await expect(forge().lastCommitter(repo, '.github/gatehouse.yml')).rejects.toThrow();
  });
});

describe('GitLab: GET /projects/:id/repository/commits?path=&per_page=1', () => {
  const repo: RepoRef = { platform: 'gitlab', fullName: 'acme/shop', id: 5, defaultBranch: 'main' };
  const forge = (): GitLabForge =>
    new GitLabForge(createGitLabApi({ url: GL, token: 'glpat-test', retry: { attempts: 1 } }), 'gatehouse-bot');
  const id = 'ed899a2f4b50b4370feeea94676502b42383c746';
  const commit = {
    id,
    short_id: 'ed899a2f',
    title: 'Relax the policy',
    author_name: 'Mallory M',
    author_email: 'mallory@example.com',
    authored_date: '2026-11-30T10:00:00.000+00:00',
    committer_name: 'Mallory M',
    committer_email: 'mallory@example.com',
    committed_date: '2026-11-30T10:00:00.000+00:00',
    created_at: '2026-11-30T10:00:00.000+00:00',
    message: 'Relax the policy',
    parent_ids: ['6104942438c14ec7bd21c6cd5bd995272b3faff6'],
    web_url: `${GL}/acme/shop/-/commit/${id}`,
  };

  it('the git author’s name and email on the default branch, unverified (GitLab names no account here)', async () => {
    nock(GL)
      .get('/api/v4/projects/5/repository/commits')
      .query({ path: '.gitlab/gatehouse.yml', per_page: '1', ref_name: 'main' })
      .reply(200, [commit]);
    expect(await forge().lastCommitter(repo, '.gitlab/gatehouse.yml')).toEqual({
      sha: id,
      login: null,
      name: 'Mallory M',
      email: 'mallory@example.com',
      verified: false,
      at: '2026-11-30T10:00:00.000+00:00',
    });
  });

  it('no commit touches the file: null', async () => {
    nock(GL)
      .get('/api/v4/projects/5/repository/commits')
      .query({ path: '.gitlab/gatehouse.yml', per_page: '1', ref_name: 'main' })
      .reply(200, []);
    expect(await forge().lastCommitter(repo, '.gitlab/gatehouse.yml')).toBeNull();
  });
});
