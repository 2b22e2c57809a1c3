/**
 * Every GitHub delivery the tests sign (githubDelivery) carries a payload GitHub would send: the
 * payload is checked against GitHub's webhook schema of its event and action, and one the schema
 * rejects is refused with the schema's words unless the test says why it is malformed on purpose.
 * The builders the e2e tests use give payloads that pass.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkRunPayload,
  checkSuitePayload,
  githubDelivery,
  githubUser,
  issueCommentPayload,
  issuesPayload,
  pingPayload,
  pullRequestPayload,
  pullRequestReviewPayload,
  pushPayload,
} from './github.ts';
import { webhookViolations } from './github-webhook-schemas.ts';

const SECRET = 'secret';

describe('githubDelivery checks the payload against GitHub’s webhook schema', () => {
  it('refuses a payload missing a required field, with the schema’s complaint', () => {
    const payload = issuesPayload({ body: 'x' });
    delete payload['repository'];
    expect(() => githubDelivery({ name: 'issues', secret: SECRET, payload })).toThrow(
      /GitHub would not send this issues payload[\s\S]*issues\$opened payload \(root\) must have required property 'repository'/,
    );
  });

  it('refuses a field of the wrong shape (a label GitHub would send with id, url and colour)', () => {
    const payload = pullRequestPayload({ body: 'x' });
    (payload['pull_request'] as Record<string, unknown>)['labels'] = [{ name: 'release' }];
    expect(() => githubDelivery({ name: 'pull_request', secret: SECRET, payload })).toThrow(
      /pull_request\$opened payload \/pull_request\/labels\/0 must have required property 'id'/,
    );
  });

  it('refuses an event GitHub has no schema for', () => {
    expect(() => githubDelivery({ name: 'no_such_event', secret: SECRET, payload: {} })).toThrow(/no_such_event\$event: .*no such event/);
  });

  it('signs a payload malformed on purpose when the test says why', () => {
    const body = { action: 'opened', issue: { title: 42 } };
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: body, unchecked: 'malformed on purpose' });
    expect(d.body).toBe(JSON.stringify(body));
    expect(d.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(d.body).digest('hex')}`);
  });

  it('wants a reason to skip the check', () => {
    expect(() => githubDelivery({ name: 'issues', secret: SECRET, payload: {}, unchecked: ' ' })).toThrow(/say why/);
  });
});

describe('the payload builders give what GitHub sends', () => {
  const cases: [string, string, Record<string, unknown>][] = [
    ...['opened', 'edited', 'reopened', 'closed'].map((action): [string, string, Record<string, unknown>] => [
      `issues.${action} with assignees`,
      'issues',
      issuesPayload({ action, body: 'b', labels: ['intake'], assignees: ['maintainer'] }),
    ]),
    ['issues.labeled with its label', 'issues', issuesPayload({ action: 'labeled', body: 'b', labels: ['intake'], label: 'intake' })],
    ...['opened', 'synchronize', 'reopened', 'closed'].map((action): [string, string, Record<string, unknown>] => [
      `pull_request.${action}`,
      'pull_request',
      pullRequestPayload({ action, body: 'b', labels: ['release'], number: 5, headSha: 'a'.repeat(40) }),
    ]),
    ...['labeled', 'unlabeled'].map((action): [string, string, Record<string, unknown>] => [
      `pull_request.${action} with its label`,
      'pull_request',
      pullRequestPayload({ action, body: 'b', labels: ['release'], label: 'release' }),
    ]),
    [
      'pull_request_review.submitted',
      'pull_request_review',
      pullRequestReviewPayload({ login: 'alice', body: 'b', labels: ['release'], headSha: 'a'.repeat(40), baseRef: 'master' }),
    ],
    ['check_run.completed', 'check_run', checkRunPayload({ id: 1, name: 'security', headSha: 'a'.repeat(40), conclusion: 'success' })],
    ['check_suite.completed', 'check_suite', checkSuitePayload({ id: 1, headSha: 'a'.repeat(40), updatedAt: '2026-11-20T10:00:00Z' })],
    [
      'issue_comment.created by a bot',
      'issue_comment',
      issueCommentPayload({ issue: issuesPayload({ body: 'b' }), id: 9, body: '/gatehouse x', login: 'gatehouse[bot]' }),
    ],
    ['push', 'push', pushPayload({ ref: 'refs/heads/main', defaultBranch: 'main', modified: ['.github/gatehouse.yml'] })],
    ['ping', 'ping', pingPayload({ zen: 'Keep it logically awesome.', hookId: 3 })],
  ];
  it.each(cases)('%s', (_, name, payload) => {
    expect(webhookViolations(name, payload)).toEqual([]);
  });

  it('a user keeps its login and kind, and differs in id from another', () => {
    expect(githubUser('gatehouse[bot]')).toMatchObject({ login: 'gatehouse[bot]', type: 'Bot' });
    expect(githubUser('alice')['id']).not.toBe(githubUser('bob')['id']);
  });
});
