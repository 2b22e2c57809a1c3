/** translateGitLab on GitLab's documented payloads (deep copies, fields set per case). */
import { describe, expect, it } from 'vitest';
import { isMergeRequest } from '../../src/adapters/gitlab/target.ts';
import { translateGitLab } from '../../src/adapters/gitlab/translate.ts';
import type { ChangeRequestEvent, IssueEvent, PushEvent } from '../../src/core/model.ts';
import type { Translation } from '../../src/ports/platform.ts';
import { gitlabFixture, issueHook } from '../support/gitlab.ts';

const BOT = 'gatehouse-bot';
const t = (event: string, payload: unknown, bot: string | null = BOT): Translation => translateGitLab(event, 'd-1', payload, bot);

function eventOf<E>(tr: Translation): E {
  if (tr.kind !== 'event') throw new Error(`expected an event, got ${tr.kind}: ${tr.reason}`);
  return tr.event as E;
}

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

describe('Issue Hook', () => {
  it('translates the documented payload into an opened issue event', () => {
    const e = eventOf<IssueEvent>(t('Issue Hook', gitlabFixture('issue-hook')));
    expect(e).toEqual({
      kind: 'issue',
      action: 'opened',
      deliveryId: 'd-1',
      actor: { login: 'root', isBot: false },
      issue: {
        ref: { repo: { platform: 'gitlab', fullName: 'gitlabhq/gitlab-test', id: 1, defaultBranch: 'master' }, number: 23 },
        title: 'New API: create/update/delete file',
        body: 'Create new API for manipulations with repository',
        labels: ['API'],
        state: 'open',
        author: { login: 'gitlab-user-51', isBot: false },
        assignees: ['user1'],
        url: 'http://example.com/diaspora/issues/23',
        createdAt: '2013-12-03T17:15:43.000Z',
      },
    });
  });

  it.each([
    ['open', 'opened'],
    ['update', 'edited'],
    ['reopen', 'reopened'],
    ['close', 'closed'],
  ] as const)('maps action %s to %s', (action, expected) => {
    const e = eventOf<IssueEvent>(t('Issue Hook', issueHook({ action, description: 'x', labels: ['intake', 'tier::advisory'] })));
    expect(e.action).toBe(expected);
    expect(e.issue.labels).toEqual(['intake', 'tier::advisory']);
    expect(e.issue.state).toBe(action === 'close' ? 'closed' : 'open');
  });

  it('takes the author from user when the user is the author', () => {
    const p = gitlabFixture('issue-hook');
    obj(p['object_attributes'])['author_id'] = 1;
    expect(eventOf<IssueEvent>(t('Issue Hook', p)).issue.author).toEqual({ login: 'root', isBot: false });
  });

  it('ignores events caused by our own bot user, and unknown actions', () => {
    expect(t('Issue Hook', issueHook({ description: 'x', username: BOT }))).toEqual({
      kind: 'ignored',
      reason: 'caused by Gatehouse itself',
    });
    const p = gitlabFixture('issue-hook');
    obj(p['object_attributes'])['action'] = 'delete';
    expect(t('Issue Hook', p).kind).toBe('ignored');
  });

  it('ignores work items that are not issues', () => {
    const p = gitlabFixture('issue-hook');
    p['object_kind'] = 'work_item';
    obj(p['object_attributes'])['type'] = 'Task';
    expect(t('Issue Hook', p)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('Task') });
  });

  it('names the field when the payload is malformed', () => {
    const p = gitlabFixture('issue-hook');
    obj(p['object_attributes'])['iid'] = 'twenty-three';
    expect(t('Issue Hook', p)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('object_attributes.iid') });
    const q = gitlabFixture('issue-hook');
    delete obj(q['project'])['path_with_namespace'];
    expect(t('Issue Hook', q)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('project.path_with_namespace') });
  });
});

describe('Merge Request Hook', () => {
  it('translates the documented payload into an opened change event on a merge-request ref', () => {
    const e = eventOf<ChangeRequestEvent>(t('Merge Request Hook', gitlabFixture('merge-request-hook')));
    expect(e).toMatchObject({
      kind: 'change',
      action: 'opened',
      actor: { login: 'root', isBot: false },
      change: {
        ref: { repo: { platform: 'gitlab', fullName: 'gitlabhq/gitlab-test', id: 1, defaultBranch: 'master' }, number: 1 },
        title: 'MS-Viewport',
        body: '',
        labels: ['API'],
        state: 'open',
        url: 'http://example.com/diaspora/merge_requests/1',
        headSha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        targetBranch: 'master',
        draft: false,
      },
    });
    expect(isMergeRequest(e.change.ref)).toBe(true);
  });

  it('maps update with new commits to synchronize, a labels-only update to labeled, else edited; merge to closed/merged', () => {
    const pushed = gitlabFixture('merge-request-hook');
    Object.assign(obj(pushed['object_attributes']), { action: 'update', oldrev: 'b83d6e391c22777fca1ed3012fce84f633d7fed0' });
    expect(eventOf<ChangeRequestEvent>(t('Merge Request Hook', pushed)).action).toBe('synchronize');

    const labelled = gitlabFixture('merge-request-hook');
    obj(labelled['object_attributes'])['action'] = 'update';
    labelled['changes'] = { labels: obj(labelled['changes'])['labels'], updated_at: obj(labelled['changes'])['updated_at'] };
    expect(eventOf<ChangeRequestEvent>(t('Merge Request Hook', labelled)).action).toBe('labeled');

    const edited = gitlabFixture('merge-request-hook');
    obj(edited['object_attributes'])['action'] = 'update';
    expect(eventOf<ChangeRequestEvent>(t('Merge Request Hook', edited)).action).toBe('edited');

    const merged = gitlabFixture('merge-request-hook');
    Object.assign(obj(merged['object_attributes']), { action: 'merge', state: 'merged' });
    const m = eventOf<ChangeRequestEvent>(t('Merge Request Hook', merged));
    expect([m.action, m.change.state]).toEqual(['closed', 'merged']);
  });

  it('maps approvals to reviewed (the release gate re-reads them) and ignores our own events', () => {
    for (const action of ['approved', 'unapproved', 'approval', 'unapproval']) {
      const approved = gitlabFixture('merge-request-hook');
      obj(approved['object_attributes'])['action'] = action;
      expect(t('Merge Request Hook', approved)).toMatchObject({ kind: 'event', event: { kind: 'change', action: 'reviewed' } });
    }
    const own = gitlabFixture('merge-request-hook');
    obj(own['user'])['username'] = BOT;
    expect(t('Merge Request Hook', own)).toEqual({ kind: 'ignored', reason: 'caused by Gatehouse itself' });
  });

  it('names the field when the payload is malformed', () => {
    const p = gitlabFixture('merge-request-hook');
    delete obj(p['object_attributes'])['target_branch'];
    expect(t('Merge Request Hook', p)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('object_attributes.target_branch'),
    });
  });
});

describe('Note, Pipeline and Release Hooks', () => {
  it.each(['note-hook-issue', 'note-hook-merge-request', 'note-hook-commit', 'note-hook-snippet'])(
    '%s is parsed and ignored with the reason',
    (name) => {
      const tr = t('Note Hook', gitlabFixture(name));
      expect(tr.kind).toBe('ignored');
      expect(tr).toMatchObject({ reason: expect.stringContaining('Note Hook on') });
    },
  );

  it('names the issue or merge request a note is on', () => {
    expect(t('Note Hook', gitlabFixture('note-hook-issue'))).toMatchObject({ reason: expect.stringContaining('issue #17') });
    expect(t('Note Hook', gitlabFixture('note-hook-merge-request'))).toMatchObject({ reason: expect.stringContaining('merge request !1') });
  });

  it('ignores our own notes and rejects a note without its text', () => {
    const own = gitlabFixture('note-hook-issue');
    obj(own['user'])['username'] = BOT;
    expect(t('Note Hook', own)).toEqual({ kind: 'ignored', reason: 'caused by Gatehouse itself' });
    const bad = gitlabFixture('note-hook-issue');
    delete obj(bad['object_attributes'])['note'];
    expect(t('Note Hook', bad)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('object_attributes.note') });
  });

  it('turns a concluded pipeline into a checks event for the release gate; a running one is ignored', () => {
    expect(t('Pipeline Hook', gitlabFixture('pipeline-hook'))).toMatchObject({
      kind: 'event',
      event: {
        kind: 'checks',
        sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
        source: 'pipeline',
        changeNumbers: [1],
        repo: { fullName: 'gitlab-org/gitlab-test' },
      },
    });
    const running = gitlabFixture('pipeline-hook');
    obj(running['object_attributes'])['status'] = 'running';
    expect(t('Pipeline Hook', running)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('running') });
    const bad = gitlabFixture('pipeline-hook');
    delete obj(bad['object_attributes'])['sha'];
    expect(t('Pipeline Hook', bad)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('object_attributes.sha') });
  });

  it('turns a new release into a release event with its tagged commit', () => {
    expect(t('Release Hook', gitlabFixture('release-hook'))).toMatchObject({
      kind: 'event',
      event: { kind: 'release', tag: 'v1.1', sha: 'ee0a3fb31ac16e11b9dbb596ad16d4af654d08f8' },
    });
    const bad = gitlabFixture('release-hook');
    delete bad['tag'];
    expect(t('Release Hook', bad)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('tag') });
  });
});

describe('Push Hook and the rest', () => {
  it('translates the documented Push Hook into a push event with every changed path', () => {
    const e = eventOf<PushEvent>(t('Push Hook', gitlabFixture('push-hook')));
    expect(e).toMatchObject({
      kind: 'push',
      ref: 'refs/heads/master',
      repo: { platform: 'gitlab', fullName: 'mike/diaspora', id: 15, defaultBranch: 'master' },
    });
    expect(e.changedPaths).toContain('CHANGELOG');
    expect(e.changedPaths).toContain('app/controller/application.rb');
    // The documented push has 4 commits and lists 2: the override may have changed unseen.
    expect(e.changedPaths).toContain('.gitlab/gatehouse.yml');
  });

  it('translates system hooks by their object_kind', () => {
    expect(eventOf<IssueEvent>(t('System Hook', gitlabFixture('merge-request-hook'))).kind).toBe('change');
    expect(eventOf<PushEvent>(t('System Hook', gitlabFixture('push-hook'))).kind).toBe('push');
    expect(t('System Hook', gitlabFixture('project-hook-create'))).toMatchObject({ kind: 'ignored' });
  });

  it.each([
    ['Tag Push Hook', 'tag-push-hook'],
    ['Job Hook', 'job-hook'],
    ['Wiki Page Hook', 'wiki-page-hook'],
    ['Deployment Hook', 'deployment-hook'],
    ['Emoji Hook', 'emoji-hook'],
  ])('acknowledged-and-ignored: %s', (event, fixture) => {
    expect(t(event, gitlabFixture(fixture))).toEqual({ kind: 'ignored', reason: `${event} events are not handled` });
  });

  it('filters nothing by login when the bot user is unknown', () => {
    expect(t('Issue Hook', issueHook({ description: 'x', username: BOT }), null).kind).toBe('event');
  });
});

describe('Confidential Issue Hook and Confidential Note Hook', () => {
  it('a confidential issue is an issue event like any other, marked confidential', () => {
    const payload = gitlabFixture('issue-hook');
    obj(payload['object_attributes'])['confidential'] = true;
    const e = eventOf<IssueEvent>(t('Confidential Issue Hook', payload));
    const plain = gitlabFixture('issue-hook');
    expect(e).toEqual({
      ...eventOf<IssueEvent>(t('Issue Hook', plain)),
      issue: { ...eventOf<IssueEvent>(t('Issue Hook', plain)).issue, confidential: true },
    });
  });

  it('the hook name alone marks it (and an Issue Hook whose attributes say confidential too); a public issue has no mark', () => {
    expect(eventOf<IssueEvent>(t('Confidential Issue Hook', gitlabFixture('issue-hook'))).issue.confidential).toBe(true);
    const flagged = gitlabFixture('issue-hook');
    obj(flagged['object_attributes'])['confidential'] = true;
    expect(eventOf<IssueEvent>(t('Issue Hook', flagged)).issue.confidential).toBe(true);
    expect(eventOf<IssueEvent>(t('Issue Hook', gitlabFixture('issue-hook'))).issue).not.toHaveProperty('confidential');
    expect(eventOf<IssueEvent>(t('System Hook', flagged)).issue.confidential).toBe(true);
  });

  it('is checked like an Issue Hook: our own changes ignored, a broken payload named', () => {
    expect(t('Confidential Issue Hook', issueHook({ description: 'x', username: BOT }))).toEqual({
      kind: 'ignored',
      reason: 'caused by Gatehouse itself',
    });
    const bad = gitlabFixture('issue-hook');
    delete obj(bad['object_attributes'])['iid'];
    expect(t('Confidential Issue Hook', bad)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/^Confidential Issue Hook payload: object_attributes\.iid/),
    });
  });

  it('a /gatehouse command in a note on a confidential issue is a comment event on a confidential issue', () => {
    const payload = gitlabFixture('note-hook-issue');
    obj(payload['object_attributes'])['note'] = '/gatehouse decide maintain';
    obj(payload['issue'])['confidential'] = true;
    const tr = t('Confidential Note Hook', payload);
    expect(tr).toMatchObject({
      kind: 'event',
      event: { kind: 'comment', comment: { body: '/gatehouse decide maintain' }, issue: { ref: { number: 17 }, confidential: true } },
    });
    // An internal note (on any issue) keeps its issue's content off chat as well.
    const internal = gitlabFixture('note-hook-issue');
    obj(internal['object_attributes'])['note'] = '/gatehouse decide maintain';
    expect(eventOf<IssueEvent>(t('Confidential Note Hook', internal)).issue.confidential).toBe(true);
    expect(eventOf<IssueEvent>(t('Note Hook', internal)).issue).not.toHaveProperty('confidential');
    // A note that is no command is ignored, as on a public issue.
    expect(t('Confidential Note Hook', gitlabFixture('note-hook-issue'))).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('issue #17'),
    });
  });
});
