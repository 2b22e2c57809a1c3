/** Command comments: GitHub `issue_comment` and GitLab issue notes become comment events (real payloads). */
import { describe, expect, it } from 'vitest';
import { translateGitHub } from '../../src/adapters/github/translate.ts';
import { translateGitLab } from '../../src/adapters/gitlab/translate.ts';
import { githubExample } from '../support/github.ts';
import { gitlabFixture } from '../support/gitlab.ts';

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

describe('GitHub issue_comment', () => {
  const comment = (body: string, action = 'created'): Record<string, unknown> => {
    const p = githubExample({ name: 'issue_comment', action: 'created' });
    p['action'] = action;
    obj(p['comment'])['body'] = body;
    return p;
  };

  it('a /gatehouse command on an issue is a comment event with the issue as it is now', () => {
    const p = comment('/gatehouse decide build-internal high\nthanks');
    const tr = translateGitHub('issue_comment', 'd1', p, 'gatehouse[bot]');
    const issue = obj(p['issue']);
    expect(tr).toMatchObject({
      kind: 'event',
      event: {
        kind: 'comment',
        action: 'created',
        deliveryId: 'd1',
        actor: { login: obj(p['sender'])['login'], isBot: false },
        comment: { id: obj(p['comment'])['id'], body: '/gatehouse decide build-internal high\nthanks' },
        issue: {
          ref: { repo: { platform: 'github', fullName: obj(p['repository'])['full_name'] }, number: issue['number'] },
          title: issue['title'],
          url: issue['html_url'],
        },
      },
    });
  });

  it('ignores other comments, edits, our own comments and comments on pull requests', () => {
    expect(translateGitHub('issue_comment', 'd', comment('LGTM'), null)).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('no /gatehouse command'),
    });
    expect(translateGitHub('issue_comment', 'd', comment('/gatehouse decide wait', 'edited'), null)).toMatchObject({
      kind: 'ignored',
      reason: 'issue_comment.edited is not handled',
    });
    const own = comment('/gatehouse decide wait');
    obj(own['sender'])['login'] = 'gatehouse[bot]';
    expect(translateGitHub('issue_comment', 'd', own, 'gatehouse[bot]')).toEqual({ kind: 'ignored', reason: 'caused by Gatehouse itself' });
    const onPr = comment('/gatehouse decide wait');
    obj(onPr['issue'])['pull_request'] = { url: 'x' };
    expect(translateGitHub('issue_comment', 'd', onPr, null)).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('pull request'),
    });
  });

  it('rejects a payload without the comment id, naming the field', () => {
    const bad = comment('/gatehouse decide wait');
    delete obj(bad['comment'])['id'];
    expect(translateGitHub('issue_comment', 'd', bad, null)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('comment.id'),
    });
  });
});

describe('GitLab issue notes', () => {
  const note = (text: string, fixture = 'note-hook-issue'): Record<string, unknown> => {
    const p = gitlabFixture(fixture);
    obj(p['object_attributes'])['note'] = text;
    return p;
  };

  it('a /gatehouse command on an issue is a comment event', () => {
    const p = note('/gatehouse decide accept');
    const tr = translateGitLab('Note Hook', 'n1', p, 'gatehouse-bot');
    expect(tr).toMatchObject({
      kind: 'event',
      installationId: null,
      event: {
        kind: 'comment',
        actor: { login: 'root' },
        comment: { id: 1241, body: '/gatehouse decide accept' },
        issue: {
          ref: { repo: { platform: 'gitlab', fullName: 'gitlab-org/gitlab-test' }, number: 17 },
          title: 'test',
          body: 'test',
          labels: ['Afterpod', 'Element'],
          state: 'closed',
          url: 'http://example.com/gitlab-org/gitlab-test/issues/17',
          createdAt: '2015-04-12T14:53:17.000Z',
        },
      },
    });
  });

  it('ignores commands on merge requests, system notes and plain notes', () => {
    expect(translateGitLab('Note Hook', 'n', note('/gatehouse decide accept', 'note-hook-merge-request'), null)).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('merge request !1'),
    });
    const system = note('/gatehouse decide accept');
    obj(system['object_attributes'])['system'] = true;
    expect(translateGitLab('Note Hook', 'n', system, null).kind).toBe('ignored');
    expect(translateGitLab('Note Hook', 'n', note('hello'), null).kind).toBe('ignored');
  });

  it.each([
    ['action update', { action: 'update', updated_at: '2015-05-17 17:06:40 UTC' }],
    ['no action, updated after it was created (older GitLab)', { action: undefined, updated_at: '2015-05-18 09:00:00 UTC' }],
  ])('does not run a command again when its note is edited (%s)', (_name, attrs) => {
    const p = note('/gatehouse decide accept');
    Object.assign(obj(p['object_attributes']), attrs);
    expect(translateGitLab('Note Hook', 'n', p, 'gatehouse-bot')).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('was edited'),
    });
  });

  it('runs a new note without an action field (older GitLab) when its times agree', () => {
    const p = note('/gatehouse decide accept');
    delete obj(p['object_attributes'])['action'];
    expect(translateGitLab('Note Hook', 'n', p, 'gatehouse-bot').kind).toBe('event');
  });

  it('rejects a command note whose issue lacks its title', () => {
    const p = note('/gatehouse decide accept');
    delete obj(p['issue'])['title'];
    expect(translateGitLab('Note Hook', 'n', p, null)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('issue.title') });
  });
});
