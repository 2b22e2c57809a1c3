/**
 * Who added a label, from the platforms' label events (never the webhook payload): GitHub's issue
 * events and GitLab's resource label events, over nock, and the pure rule both use.
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../../src/adapters/github/forge.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabForge } from '../../src/adapters/gitlab/forge.ts';
import { mergeRequestRef } from '../../src/adapters/gitlab/target.ts';
import type { IssueRef } from '../../src/core/model.ts';
import { lastLabelActor, type LabelEvent } from '../../src/ports/forge.ts';

const GH = 'https://api.github.com';
const GL = 'https://gitlab.example.com';
const ghRef: IssueRef = { repo: { platform: 'github', fullName: 'acme/shop', id: null, defaultBranch: 'main' }, number: 7, kind: 'change' };

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

const ev = (action: 'add' | 'remove', label: string, login: string | null, at: string, bot = false): LabelEvent => ({
  action,
  label,
  login,
  at,
  bot,
});

describe('lastLabelActor', () => {
  const cases: { name: string; events: LabelEvent[]; want: string | null }[] = [
    {
      name: 'the newest add wins',
      events: [
        ev('add', 'x', 'a', '2026-01-01T00:00:00Z'),
        ev('remove', 'x', 'b', '2026-01-02T00:00:00Z'),
        ev('add', 'x', 'c', '2026-01-03T00:00:00Z'),
      ],
      want: 'c',
    },
    {
      name: 'removed since: nobody',
      events: [ev('add', 'x', 'a', '2026-01-01T00:00:00Z'), ev('remove', 'x', 'b', '2026-01-02T00:00:00Z')],
      want: null,
    },
    {
      name: 'order by time, not by listing',
      events: [ev('add', 'x', 'late', '2026-01-03T00:00:00Z'), ev('add', 'x', 'early', '2026-01-01T00:00:00Z')],
      want: 'late',
    },
    { name: 'case-insensitive names', events: [ev('add', 'Release-Class::Non-Prod', 'a', '2026-01-01T00:00:00Z')], want: 'a' },
    { name: 'other labels do not count', events: [ev('add', 'y', 'a', '2026-01-01T00:00:00Z')], want: null },
    { name: 'a deleted account attributes nothing', events: [ev('add', 'x', null, '2026-01-01T00:00:00Z')], want: null },
  ];
  it.each(cases)('$name', ({ events, want }) => {
    const label = events[0]!.label.startsWith('Release') ? 'release-class::non-prod' : 'x';
    expect(lastLabelActor(events, label)?.login ?? null).toBe(want);
  });
});

describe('GitHub: issue events', () => {
  const forge = (): GitHubForge =>
    new GitHubForge(
      new ProbotOctokit({ auth: { token: 'ghs_test' }, retry: { enabled: false }, throttle: { enabled: false } }),
      'gatehouse[bot]',
    );
  const event = (event: string, name: string, login: string, type: string, at: string): object => ({
    id: 1,
    node_id: 'MDEwOklzc3VlRXZlbnQx',
    url: `${GH}/repos/acme/shop/issues/events/1`,
    actor: { login, id: 1, type, site_admin: false },
    event,
    commit_id: null,
    commit_url: null,
    created_at: at,
    label: { name, color: 'ededed' },
  });

  it('names the account that added the label, and whether it is a bot', async () => {
    nock(GH)
      .get('/repos/acme/shop/issues/7/events')
      .query({ per_page: '100', page: '1' })
      .reply(200, [
        event('labeled', 'release', 'alice', 'User', '2026-11-01T10:00:00Z'),
        event('labeled', 'release-class::non-prod', 'mallory', 'User', '2026-11-02T10:00:00Z'),
        event('renamed', 'x', 'alice', 'User', '2026-11-02T11:00:00Z'),
      ]);
    expect(await forge().labelAddedBy(ghRef, 'release-class::non-prod')).toEqual({
      login: 'mallory',
      at: '2026-11-02T10:00:00Z',
      bot: false,
    });
  });

  it('reads every page; a label removed since is attributed to nobody', async () => {
    const full = Array.from({ length: 100 }, (_, i) => event('labeled', `l${i}`, 'bob', 'User', '2026-11-01T10:00:00Z'));
    nock(GH)
      .get('/repos/acme/shop/issues/7/events')
      .query({ per_page: '100', page: '1' })
      .reply(200, [event('labeled', 'gate::ship-anyway', 'renovate[bot]', 'Bot', '2026-10-01T00:00:00Z'), ...full.slice(1)]);
    nock(GH)
      .get('/repos/acme/shop/issues/7/events')
      .query({ per_page: '100', page: '2' })
      .reply(200, [event('unlabeled', 'gate::ship-anyway', 'carol', 'User', '2026-11-03T00:00:00Z')]);
    expect(await forge().labelAddedBy(ghRef, 'gate::ship-anyway')).toBeNull();
  });

  it('more events than it reads: unattributable (null), never a guess', async () => {
    const full = Array.from({ length: 100 }, () => event('labeled', 'release', 'bob', 'User', '2026-11-01T10:00:00Z'));
    for (let page = 1; page <= 10; page++)
      nock(GH)
        .get('/repos/acme/shop/issues/7/events')
        .query({ per_page: '100', page: String(page) })
        .reply(200, full);
    expect(await forge().labelAddedBy(ghRef, 'release')).toBeNull();
  });
});

describe('GitLab: resource label events', () => {
  const forge = (): GitLabForge =>
    new GitLabForge(createGitLabApi({ url: GL, token: 'glpat-test', retry: { attempts: 1 } }), 'gatehouse-bot');
  const event = (action: string, name: string, username: string, at: string): object => ({
    id: 142,
    user: { id: 1, name: username, username, state: 'active', avatar_url: null, web_url: `${GL}/${username}` },
    created_at: at,
    resource_type: 'MergeRequest',
    resource_id: 253,
    label: { id: 73, name, color: '#34495E', description: '' },
    action,
  });

  it('reads the merge request label events and names who added it', async () => {
    const ref = mergeRequestRef({ platform: 'gitlab', fullName: 'acme/shop', id: 5, defaultBranch: 'main' }, 3);
    nock(GL)
      .get('/api/v4/projects/5/merge_requests/3/resource_label_events')
      .query({ per_page: '100', page: '1' })
      .reply(200, [
        event('add', 'release-class::non-prod', 'mallory', '2026-11-02T10:00:00.000Z'),
        event('remove', 'release-class::non-prod', 'mallory', '2026-11-02T11:00:00.000Z'),
        event('add', 'release-class::non-prod', 'lead', '2026-11-02T12:00:00.000Z'),
      ]);
    expect(await forge().labelAddedBy(ref, 'release-class::non-prod')).toEqual({
      login: 'lead',
      at: '2026-11-02T12:00:00.000Z',
      bot: false,
    });
  });

  it('an issue: its own endpoint; a label never added is attributed to nobody', async () => {
    const ref: IssueRef = { repo: { platform: 'gitlab', fullName: 'acme/shop', id: 5, defaultBranch: 'main' }, number: 9 };
    nock(GL)
      .get('/api/v4/projects/5/issues/9/resource_label_events')
      .query({ per_page: '100', page: '1' })
      .reply(200, [event('add', 'exception', 'alice', '2026-11-02T10:00:00.000Z')]);
    expect(await forge().labelAddedBy(ref, 'exception::approved')).toBeNull();
  });
});
