/**
 * The GitHub payloads the tests build (test/support/github.ts: the examples, issuesPayload) fit
 * GitHub's webhook schemas for their event, so what the translate layer is tested on is what
 * GitHub sends. The e2e tests' deliveries are checked as they are signed (githubDelivery).
 */
import { describe, expect, it } from 'vitest';
import { githubExample, issuesPayload } from '../support/github.ts';
import { webhookViolations } from '../support/github-webhook-schemas.ts';

/** Every event and action the translate layer reads (src/adapters/github/translate.ts). */
const READ: [event: string, action?: string][] = [
  // (The examples have no issues.closed, pull_request.edited nor pull_request_review.edited.)
  ...['opened', 'edited', 'reopened', 'labeled', 'unlabeled', 'assigned', 'unassigned'].map((a): [string, string] => ['issues', a]),
  ['issue_comment', 'created'],
  ...['opened', 'synchronize', 'reopened', 'labeled', 'unlabeled', 'closed'].map((a): [string, string] => ['pull_request', a]),
  ['pull_request_review', 'submitted'],
  ['pull_request_review', 'dismissed'],
  ['check_run', 'completed'],
  ['check_suite', 'completed'],
  ['status'],
  ['push'],
  ['release', 'published'],
];

describe('GitHub webhook payloads fit GitHub’s schemas', () => {
  it.each(READ.map(([name, action]) => [action ? `${name}.${action}` : name, name, action] as const))(
    'the example of %s',
    (_, name, action) => {
      expect(webhookViolations(name, githubExample({ name, action }))).toEqual([]);
    },
  );

  it.each(['opened', 'edited', 'labeled', 'unlabeled', 'reopened'])(
    'issuesPayload for issues.%s, with labels, number, installation and sender',
    (action) => {
      const payload = issuesPayload({
        action,
        body: '### Service\n\npayments-api',
        labels: ['intake', 'tier::advisory'],
        number: 42,
        installationId: 7,
        sender: { login: 'gatehouse[bot]', type: 'Bot' },
      });
      expect(webhookViolations('issues', payload)).toEqual([]);
    },
  );

  it('rejects a payload GitHub would not send (the check works)', () => {
    const payload = issuesPayload({ body: 'x' });
    (payload['issue'] as Record<string, unknown>)['number'] = 'seven';
    delete payload['repository'];
    const problems = webhookViolations('issues', payload);
    expect(problems.join('\n')).toMatch(/issues\$opened payload .*repository/);
    expect(problems.join('\n')).toMatch(/\/issue\/number must be integer/);
  });
});
