import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/core/actions.ts';
import {
  EXCEPTION_MARKER,
  exceptionFields,
  isExceptionRequest,
  parseExceptionRequest,
  planExceptionRequest,
  type ExceptionPlanInput,
} from '../../../src/core/gate/exception-request.ts';
import type { IssueEvent } from '../../../src/core/model.ts';
import { createRenderer } from '../../../src/render/templates.ts';
import { termsDigest } from '../../../src/core/gate/exception-terms.ts';
import type { GateException } from '../../../src/core/gate/exceptions.ts';
import { NOW, gatePolicy } from '../../builders/gate.ts';

const render = createRenderer();
const policy = gatePolicy({
  exceptions: { approvers: { github: ['ciso'] }, crossRepoApprovers: { github: ['ciso'] }, repeated: { count: 3, windowDays: 90 } },
});
const ctx = { policy, now: NOW, render };

export function exceptionBody(over: Partial<Record<string, string>> = {}): string {
  const a: Record<string, string> = {
    'Finding or control': 'js/sql-injection',
    Category: 'sast',
    Repository: 'acme/shop',
    Paths: 'src/db/**, src/legacy/**',
    'Compensating controls': 'WAF rule 1234 blocks the payloads.',
    'Business owner': '@shop-owner',
    'Requested expiry': '2026-12-31',
    Renews: '_No response_',
    ...over,
  };
  return Object.entries(a)
    .map(([k, v]) => `### ${k}\n\n${v}`)
    .join('\n\n');
}

function issueEvent({
  action = 'opened',
  body = exceptionBody(),
  labels = ['exception'],
  actor = 'dev',
  label,
  author = 'dev',
}: { action?: IssueEvent['action']; body?: string; labels?: string[]; actor?: string; label?: string; author?: string } = {}): IssueEvent {
  return {
    kind: 'issue',
    action,
    deliveryId: 'd1',
    actor: { login: actor, isBot: false },
    ...(label ? { label } : {}),
    issue: {
      ref: { repo: { platform: 'github', fullName: 'acme/security-requests', id: 1, defaultBranch: 'main' }, number: 50 },
      title: 'Exception: SQL injection in legacy query builder',
      body,
      labels,
      state: 'open',
      author: { login: author, isBot: false },
      assignees: [],
      url: 'https://github.com/acme/security-requests/issues/50',
      createdAt: '2026-11-20T09:00:00Z',
    },
  };
}

const ofType = <T extends Action['type']>(actions: Action[], type: T): Extract<Action, { type: T }>[] =>
  actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);
const run = (over: Partial<ExceptionPlanInput> = {}, c = ctx) =>
  planExceptionRequest({ event: issueEvent(), stored: null, categoryCount: 0, labelActor: null, ...over }, c)!;
const by = (login: string, bot = false) => ({ login, at: '2026-11-20T09:30:00Z', bot });
/** The register entry as Gatehouse registered the request's default terms. */
const registered = (): GateException => parseExceptionRequest(issueEvent().issue, policy, NOW).exception!;
/** The same, approved by ciso for exactly these terms. */
const approvedEntry = (): GateException => {
  const e = registered();
  return { ...e, status: 'approved', approvedBy: 'ciso', approvedAt: NOW, approvedDigest: termsDigest(e) };
};
const labelled = ['exception', 'exception::approved'];
describe('parseExceptionRequest', () => {
  it('reads a complete request into a register entry', () => {
    const p = parseExceptionRequest(issueEvent().issue, policy, NOW);
    expect(p.problems).toEqual([]);
    expect(p.exception).toMatchObject({
      id: 'github:acme/security-requests#50',
      findingRef: 'js/sql-injection',
      category: 'sast',
      scope: { repo: 'github:acme/shop', paths: ['src/db/**', 'src/legacy/**'] },
      status: 'requested',
      businessOwner: '@shop-owner',
      requestedBy: 'dev',
      renewalOf: null,
    });
    expect(p.exception!.expiresAt.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it.each([
    [{ 'Finding or control': '_No response_' }, 'Finding or control'],
    [{ Repository: 'not a repo' }, 'Repository'],
    [{ 'Business owner': 'shop owner' }, 'Business owner'],
    [{ 'Requested expiry': '2027-03-01' }, 'Requested expiry'],
    [{ 'Requested expiry': 'soon' }, 'Requested expiry'],
    [{ Category: 'vibes' }, 'Category'],
    [{ Renews: 'the old one' }, 'Renews'],
    [{ Paths: 'src/db/**, **/a/**/a/**/a/**/b' }, 'Paths'],
  ])('names the problem with %j', (over, label) => {
    const p = parseExceptionRequest(issueEvent({ body: exceptionBody(over) }).issue, policy, NOW);
    expect(p.exception).toBeNull();
    expect(p.problems.map((x) => x.label)).toContain(label);
  });

  it('refuses a path glob that would take too long to match, naming it', () => {
    const p = parseExceptionRequest(issueEvent({ body: exceptionBody({ Paths: 'src/db/**, *a*a*a*b' }) }).issue, policy, NOW);
    expect(p.problems).toEqual([
      {
        label: 'Paths',
        message:
          'the glob "*a*a*a*b" would take too long to match: a path segment of it has 4 wildcards (at most 2; a repetition extglob counts 2)',
      },
    ]);
  });

  it('allows an expiry up to the policy maximum (90 days)', () => {
    expect(
      parseExceptionRequest(issueEvent({ body: exceptionBody({ 'Requested expiry': '2027-02-18' }) }).issue, policy, NOW).problems,
    ).toEqual([]);
    expect(
      parseExceptionRequest(issueEvent({ body: exceptionBody({ 'Requested expiry': '2027-02-20' }) }).issue, policy, NOW).problems,
    ).toHaveLength(1);
  });

  it('reads a renewal by number', () => {
    expect(parseExceptionRequest(issueEvent({ body: exceptionBody({ Renews: '#12' }) }).issue, policy, NOW).exception!.renewalOf).toBe(
      'github:acme/security-requests#12',
    );
  });

  it('recognises a request by its label or its first heading', () => {
    expect(isExceptionRequest({ body: 'x', labels: ['exception'] }, policy)).toBe(true);
    expect(isExceptionRequest({ body: '### Finding or control\n\nx', labels: [] }, policy)).toBe(true);
    expect(isExceptionRequest({ body: '### Service or system name\n\nx', labels: ['intake'] }, policy)).toBe(false);
    expect(exceptionFields(policy).map((f) => f.label)).toEqual([
      'Finding or control',
      'Category',
      'Repository',
      'Paths',
      'Compensating controls',
      'Business owner',
      'Requested expiry',
      'Renews',
    ]);
  });
});

describe('planExceptionRequest', () => {
  it('registers a complete request as requested, with one comment showing every term and the digest', () => {
    const p = run();
    expect(ofType(p.actions, 'saveException')[0]!.exception).toMatchObject({ status: 'requested', approvedDigest: null });
    const [c] = ofType(p.actions, 'ensureComment');
    expect(c!.marker).toBe(EXCEPTION_MARKER);
    expect(c!.body).toContain('**Status: requested**');
    expect(c!.body).toContain('adding `exception::approved`');
    expect(c!.body).toContain('WAF rule 1234 blocks the payloads.');
    expect(c!.body).toContain(`\`${termsDigest(registered()).slice(0, 12)}\``);
  });

  it('an incomplete request is not registered; the comment names every problem', () => {
    const p = run({ event: issueEvent({ body: exceptionBody({ Repository: '_No response_', 'Business owner': 'x' }) }) });
    expect(ofType(p.actions, 'saveException')).toEqual([]);
    const body = ofType(p.actions, 'ensureComment')[0]!.body;
    expect(body).toContain('| Repository |');
    expect(body).toContain('| Business owner |');
  });

  it('an approver who added the label (as the label events say) approves exactly the registered terms', () => {
    // The delivery's sender is someone else: only the label events count.
    const p = run({
      event: issueEvent({ action: 'labeled', label: 'exception::approved', actor: 'mallory', labels: labelled }),
      stored: registered(),
      labelActor: by('CISO'),
    });
    expect(ofType(p.actions, 'saveException')[0]!.exception).toMatchObject({
      status: 'approved',
      approvedBy: 'CISO',
      approvedAt: NOW,
      approvedDigest: termsDigest(registered()),
    });
    expect(ofType(p.actions, 'ensureLabels')).toEqual([]);
    expect(ofType(p.actions, 'refuseExceptionApproval')).toEqual([]);
  });

  it.each([
    ['a non-approver', { labelActor: by('dev') }, 'dev is not an exception approver (ciso)', 'dev'],
    [
      'the requester, even when an approver',
      {
        labelActor: by('ciso'),
        event: issueEvent({ action: 'labeled', labels: labelled, author: 'ciso' }),
        stored: { ...registered(), requestedBy: 'ciso' },
      },
      'ciso requested this exception',
      'ciso',
    ],
    ['an unattributable label', { labelActor: null }, 'could not read from the platform who added the approval label', null],
    ['a bot', { labelActor: by('ci[bot]', true) }, 'ci[bot] is a bot account', 'ci[bot]'],
    [
      'an approver of a request not registered yet',
      { labelActor: by('ciso'), stored: null },
      'the request changed since Gatehouse last showed its terms (none shown',
      'ciso',
    ],
    [
      'an approver of terms that changed since they were shown',
      { labelActor: by('ciso'), stored: { ...registered(), compensatingControls: 'Nothing yet.' } },
      'the request changed since Gatehouse last showed its terms',
      'ciso',
    ],
    [
      "an approver of another repository than the request's, without being a cross-repository approver",
      { labelActor: by('ciso'), stored: registered() },
      'is not a cross-repository approver (gate.exceptions.crossRepoApprovers: none)',
      'ciso',
    ],
  ] as const)('refuses %s: the label removed, the comment says why, nothing approved, the refusal audited', (_name, over, why, actor) => {
    const c = {
      ...ctx,
      policy: gatePolicy({
        exceptions: {
          approvers: { github: ['ciso'] },
          crossRepoApprovers: { github: _name.includes('cross') ? [] : ['ciso'] },
          repeated: { count: 3, windowDays: 90 },
        },
      }),
    };
    const p = run(
      { event: issueEvent({ action: 'labeled', label: 'exception::approved', labels: labelled }), stored: registered(), ...over },
      c,
    );
    expect(ofType(p.actions, 'ensureLabels')).toEqual([expect.objectContaining({ remove: ['exception::approved'] })]);
    expect(ofType(p.actions, 'saveException').map((a) => a.exception.status)).not.toContain('approved');
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain(why);
    expect(ofType(p.actions, 'refuseExceptionApproval')).toEqual([
      expect.objectContaining({ actor, reason: expect.stringContaining(why) }),
    ]);
  });

  it("a cross-repository approver may approve an exception for another repository than the request's", () => {
    const c = { ...ctx, policy: gatePolicy({ exceptions: { approvers: { github: ['ciso'] }, crossRepoApprovers: { github: ['ciso'] } } }) };
    const p = run({ event: issueEvent({ action: 'labeled', labels: labelled }), stored: registered(), labelActor: by('ciso') }, c);
    expect(ofType(p.actions, 'saveException')[0]!.exception).toMatchObject({ status: 'approved', approvedBy: 'ciso' });
  });

  it('a replayed labeled delivery approves nothing once the label is gone (the current labels decide)', () => {
    const p = run({
      event: issueEvent({ action: 'labeled', label: 'exception::approved', actor: 'ciso', labels: ['exception'] }),
      stored: { ...registered(), status: 'revoked' },
      labelActor: null,
    });
    expect(ofType(p.actions, 'saveException').map((a) => a.exception.status)).toEqual(['requested']);
    expect(ofType(p.actions, 'refuseExceptionApproval')).toEqual([]);
  });

  it.each([
    ['finding or control', { 'Finding or control': 'js/xss' }],
    ['category', { Category: 'secrets' }],
    ['repository', { Repository: 'acme/other' }],
    ['paths', { Paths: 'src/**' }],
    ['expiry', { 'Requested expiry': '2027-01-31' }],
    ['compensating controls', { 'Compensating controls': 'None.' }],
    ['business owner', { 'Business owner': '@someone-else' }],
    ['renews', { Renews: '#7' }],
  ])('a change of the %s withdraws the approval: label removed, comment and audit say which, the notice updated in place', (term, over) => {
    const p = run({
      event: issueEvent({ action: 'edited', actor: 'dev', labels: labelled, body: exceptionBody(over) }),
      stored: approvedEntry(),
    });
    expect(ofType(p.actions, 'saveException')[0]!.exception).toMatchObject({ status: 'requested', approvedBy: null, approvedDigest: null });
    expect(ofType(p.actions, 'ensureLabels')[0]!.remove).toEqual(['exception::approved']);
    const comment = ofType(p.actions, 'ensureComment')[0]!.body;
    expect(comment).toContain(`The terms changed after the approval (${term};`);
    expect(comment).toContain('the approval by ciso was withdrawn');
    expect(ofType(p.actions, 'refuseExceptionApproval')).toEqual([expect.objectContaining({ actor: 'dev' })]);
    const [notice] = ofType(p.actions, 'notifyChat').filter((a) => a.notice.kind === 'exception-request');
    expect(notice!.key).toBe('exception-request:github:acme/security-requests#50');
    expect(notice!.notice.terms).not.toBe(termsDigest(registered()));
    expect(notice!.notice.reasons[0]).toContain('withdrawn');
  });

  it('the same terms (edited in case, whitespace, path order) keep the approval; removing the label revokes it', () => {
    const same = run({
      event: issueEvent({
        action: 'edited',
        labels: labelled,
        body: exceptionBody({
          'Finding or control': 'JS/SQL-Injection',
          Paths: 'src/legacy/**, src/db/**',
          'Compensating controls': 'WAF rule 1234 blocks the payloads.   ',
        }),
      }),
      stored: approvedEntry(),
    });
    expect(ofType(same.actions, 'saveException').map((a) => a.exception.status)).not.toContain('requested');
    expect(ofType(same.actions, 'ensureLabels')).toEqual([]);
    const removed = run({
      event: issueEvent({ action: 'unlabeled', label: 'exception::approved', labels: ['exception'] }),
      stored: approvedEntry(),
    });
    expect(ofType(removed.actions, 'saveException')[0]!.exception.status).toBe('revoked');
  });

  it('an approval stored without a digest (before approvals were bound to terms) is withdrawn', () => {
    const p = run({ event: issueEvent({ action: 'edited', labels: labelled }), stored: { ...approvedEntry(), approvedDigest: null } });
    expect(ofType(p.actions, 'saveException')[0]!.exception).toMatchObject({ status: 'requested', approvedBy: null });
    expect(ofType(p.actions, 'ensureLabels')[0]!.remove).toEqual(['exception::approved']);
  });

  it('escalates a renewal and a category repeated across repositories (repeated-exception)', () => {
    const repeatedOf = (r: ReturnType<typeof run>) => ofType(r.actions, 'notifyChat').filter((a) => a.notice.kind === 'repeated-exception');
    const renewal = run({ event: issueEvent({ body: exceptionBody({ Renews: '#12' }) }) });
    const [n] = repeatedOf(renewal);
    expect(n!.notice).toMatchObject({
      kind: 'repeated-exception',
      reasons: ['Renews github:acme/security-requests#12'],
      route: 'exception-board',
    });
    const repeated = run({ categoryCount: 2 });
    expect(repeatedOf(repeated)[0]!.notice.reasons).toEqual(['3 repositories asked for a sast exception within 90 days (threshold 3)']);
    expect(repeatedOf(run({ categoryCount: 1 }))).toEqual([]);
  });

  it('puts a new request before the approvers once, keyed by the request, carrying the terms digest for its Approve button', () => {
    const first = ofType(run({ categoryCount: 0 }).actions, 'notifyChat');
    expect(first.map((a) => a.notice.kind)).toEqual(['exception-request']);
    expect(first[0]!.notice).toMatchObject({
      route: 'exception-board',
      owner: expect.any(String),
      itemKey: 'github:acme/security-requests#50',
      terms: termsDigest(registered()),
    });
    expect(first[0]!.key).toBe('exception-request:github:acme/security-requests#50');
    expect(ofType(run({ stored: registered() }).actions, 'notifyChat')).toEqual([]);
  });

  it('leaves other issues alone', () => {
    expect(
      planExceptionRequest(
        { event: issueEvent({ body: 'Please help', labels: [] }), stored: null, categoryCount: 0, labelActor: null },
        ctx,
      ),
    ).toBeNull();
  });
});

describe('an exception request on a confidential issue', () => {
  it('its notice keeps the terms digest (the Approve button) and the link, and leaves the finding, scope, controls and owner on the issue', () => {
    const event = issueEvent();
    const confidential: IssueEvent = { ...event, issue: { ...event.issue, confidential: true } };
    const [open] = ofType(run().actions, 'notifyChat');
    const [closed] = ofType(run({ event: confidential }).actions, 'notifyChat');
    expect(open!.notice.terms).toBeTruthy();
    expect(closed!.notice).toMatchObject({
      kind: 'exception-request',
      terms: open!.notice.terms,
      url: 'https://github.com/acme/security-requests/issues/50',
      title: 'Confidential issue acme/security-requests#50',
      owner: null,
    });
    const sent = JSON.stringify(closed);
    for (const secret of ['js/sql-injection', 'WAF rule', '@shop-owner', 'src/db', 'SQL injection']) expect(sent).not.toContain(secret);
    expect(ofType(run({ event: confidential }).actions, 'saveException')).toEqual(ofType(run().actions, 'saveException'));
  });
});
