/** GitHub payloads the release gate reads (@octokit/webhooks-examples), translated. */
import { describe, expect, it } from 'vitest';
import { translateGitHub } from '../../src/adapters/github/translate.ts';
import { githubExample } from '../support/github.ts';

const BOT = 'gatehouse[bot]';
const t = (name: string, payload: unknown) => translateGitHub(name, 'd1', payload, BOT);
const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

describe('GitHub events for the release gate', () => {
  it('a completed check suite is a checks event at its head commit, naming its pull requests', () => {
    expect(t('check_suite', githubExample({ name: 'check_suite', action: 'completed' }))).toMatchObject({
      kind: 'event',
      event: {
        kind: 'checks',
        sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
        source: 'check_suite',
        changeNumbers: [2],
        repo: { fullName: 'Codertocat/Hello-World' },
      },
    });
    expect(t('check_suite', githubExample({ name: 'check_suite', action: 'requested' }))).toMatchObject({ kind: 'ignored' });
  });

  it('a completed check run is one too, except our own', () => {
    const run = githubExample({ name: 'check_run', action: 'completed' });
    expect(t('check_run', run)).toMatchObject({ kind: 'event', event: { kind: 'checks', source: 'check_run', changeNumbers: [2] } });
    obj(run['check_run'])['name'] = 'gatehouse/release-gate';
    expect(t('check_run', run)).toEqual({ kind: 'ignored', reason: 'our own check' });
    const ours = githubExample({ name: 'check_run', action: 'completed' });
    obj(obj(ours['check_run'])['app'])['slug'] = 'gatehouse';
    expect(t('check_run', ours)).toEqual({ kind: 'ignored', reason: 'our own check' });
  });

  it('a concluded commit status is a checks event; pending ones and our own are ignored', () => {
    const status = githubExample({ name: 'status' });
    expect(t('status', status)).toMatchObject({ kind: 'event', event: { kind: 'checks', source: 'status', sha: status['sha'] } });
    expect(t('status', { ...status, state: 'pending' })).toMatchObject({ kind: 'ignored' });
    expect(t('status', { ...status, context: 'gatehouse/release-gate' })).toEqual({ kind: 'ignored', reason: 'our own status' });
  });

  it('a submitted review is a reviewed change event', () => {
    expect(t('pull_request_review', githubExample({ name: 'pull_request_review', action: 'submitted' }))).toMatchObject({
      kind: 'event',
      event: { kind: 'change', action: 'reviewed', change: { ref: { number: 2, kind: 'change' } } },
    });
  });

  it('a labeled pull request names the label added', () => {
    const p = githubExample({ name: 'pull_request', action: 'labeled' });
    expect(t('pull_request', p)).toMatchObject({ kind: 'event', event: { action: 'labeled', label: obj(p['label'])['name'] } });
  });

  it('a published release is a release event; its commit is known only when the target is a sha', () => {
    const p = githubExample({ name: 'release', action: 'published' });
    expect(t('release', p)).toMatchObject({ kind: 'event', event: { kind: 'release', tag: '0.0.1', sha: null } });
    obj(p['release'])['target_commitish'] = 'A'.repeat(40);
    expect(t('release', p)).toMatchObject({ event: { sha: 'a'.repeat(40) } });
    expect(t('release', githubExample({ name: 'release', action: 'created' }))).toMatchObject({ kind: 'ignored' });
  });

  it('names the field when a payload is malformed', () => {
    const p = githubExample({ name: 'check_suite', action: 'completed' });
    delete obj(p['check_suite'])['head_sha'];
    expect(t('check_suite', p)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('check_suite.head_sha') });
  });
});
