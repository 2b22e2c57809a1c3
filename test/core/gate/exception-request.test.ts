import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/core/actions.ts';
import { EXCEPTION_MARKER, exceptionFields, isExceptionRequest, parseExceptionRequest, planExceptionRequest, type ExceptionPlanInput } from '../../../src/core/gate/exception-request.ts';
import type { IssueEvent } from '../../../src/core/model.ts';
import { createRenderer } from '../../../src/render/templates.ts';
import { NOW, exception, gatePolicy } from '../../builders/gate.ts';

const render = createRenderer();
const policy = gatePolicy({ exceptions: { approvers: { github: ['ciso'] }, repeated: { count: 3, windowDays: 90 } } });
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

function issueEvent({ action = 'opened', body = exceptionBody(), labels = ['exception'], actor = 'dev', label }: { action?: IssueEvent['action']; body?: string; labels?: string[]; actor?: string; label?: string } = {}): IssueEvent {
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
      author: { login: 'dev', isBot: false },
      assignees: [],
      url: 'https://github.com/acme/security-requests/issues/50',
      createdAt: '2026-11-20T09:00:00Z',
    },
  };
}

const ofType = <T extends Action['type']>(actions: Action[], type: T): Extract<Action, { type: T }>[] => actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);
const run = (over: Partial<ExceptionPlanInput> = {}) => planExceptionRequest({ event: issueEvent(), stored: null, categoryCount: 0, ...over }, ctx)!;

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
  ])('names the problem with %j', (over, label) => {
    const p = parseExceptionRequest(issueEvent({ body: exceptionBody(over) }).issue, policy, NOW);
    expect(p.exception).toBeNull();
    expect(p.problems.map((x) => x.label)).toContain(label);
  });

  it('allows an expiry up to the policy maximum (90 days)', () => {
    expect(parseExceptionRequest(issueEvent({ body: exceptionBody({ 'Requested expiry': '2027-02-18' }) }).issue, policy, NOW).problems).toEqual([]);
    expect(parseExceptionRequest(issueEvent({ body: exceptionBody({ 'Requested expiry': '2027-02-20' }) }).issue, policy, NOW).problems).toHaveLength(1);
  });

  it('reads a renewal by number', () => {
    expect(parseExceptionRequest(issueEvent({ body: exceptionBody({ Renews: '#12' }) }).issue, policy, NOW).exception!.renewalOf).toBe('github:acme/security-requests#12');
  });

  it('recognises a request by its label or its first heading', () => {
    expect(isExceptionRequest({ body: 'x', labels: ['exception'] }, policy)).toBe(true);
    expect(isExceptionRequest({ body: '### Finding or control\n\nx', labels: [] }, policy)).toBe(true);
    expect(isExceptionRequest({ body: '### Service or system name\n\nx', labels: ['intake'] }, policy)).toBe(false);
    expect(exceptionFields(policy).map((f) => f.label)).toEqual(['Finding or control', 'Category', 'Repository', 'Paths', 'Compensating controls', 'Business owner', 'Requested expiry', 'Renews']);
  });
});

describe('planExceptionRequest', () => {
  it('registers a complete request as requested, with one comment', () => {
    const p = run();
    expect(ofType(p.actions, 'saveException')[0]!.exception.status).toBe('requested');
    const [c] = ofType(p.actions, 'ensureComment');
    expect(c!.marker).toBe(EXCEPTION_MARKER);
    expect(c!.body).toContain('**Status: requested**');
    expect(c!.body).toContain('adding `exception::approved`');
  });

  it('an incomplete request is not registered; the comment names every problem', () => {
    const p = run({ event: issueEvent({ body: exceptionBody({ Repository: '_No response_', 'Business owner': 'x' }) }) });
    expect(ofType(p.actions, 'saveException')).toEqual([]);
    const body = ofType(p.actions, 'ensureComment')[0]!.body;
    expect(body).toContain('| Repository |');
    expect(body).toContain('| Business owner |');
  });

  it('an approver adding the approval label approves it', () => {
    const p = run({ event: issueEvent({ action: 'labeled', label: 'exception::approved', actor: 'CISO', labels: ['exception', 'exception::approved'] }), stored: { ...parseExceptionRequest(issueEvent().issue, policy, NOW).exception! } });
    expect(ofType(p.actions, 'saveException')[0]!.exception).toMatchObject({ status: 'approved', approvedBy: 'CISO', approvedAt: NOW });
    expect(ofType(p.actions, 'ensureLabels')).toEqual([]);
  });

  it('anyone else adding it is refused: the label removed, the comment says why, nothing approved', () => {
    const p = run({ event: issueEvent({ action: 'labeled', label: 'exception::approved', actor: 'dev', labels: ['exception', 'exception::approved'] }), stored: parseExceptionRequest(issueEvent().issue, policy, NOW).exception! });
    expect(ofType(p.actions, 'ensureLabels')).toEqual([expect.objectContaining({ remove: ['exception::approved'] })]);
    expect(ofType(p.actions, 'saveException')).toEqual([]);
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain('dev is not an exception approver (ciso)');
  });

  it('an approved request edited in its terms loses the approval', () => {
    const approved = exception({ id: 'github:acme/security-requests#50', scope: { repo: 'github:acme/shop', paths: ['src/db/**', 'src/legacy/**'] }, expiresAt: new Date('2027-01-01T00:00:00Z'), businessOwner: '@shop-owner', requestedAt: new Date('2026-11-20T09:00:00Z'), compensatingControls: 'WAF rule 1234 blocks the payloads.' });
    const same = run({ event: issueEvent({ action: 'edited', labels: ['exception', 'exception::approved'] }), stored: approved });
    expect(ofType(same.actions, 'saveException')).toEqual([]);
    const changed = run({ event: issueEvent({ action: 'edited', labels: ['exception', 'exception::approved'], body: exceptionBody({ 'Requested expiry': '2027-01-31' }) }), stored: approved });
    expect(ofType(changed.actions, 'saveException')[0]!.exception).toMatchObject({ status: 'requested', approvedBy: null });
    expect(ofType(changed.actions, 'ensureLabels')[0]!.remove).toEqual(['exception::approved']);
    const removed = run({ event: issueEvent({ action: 'unlabeled', label: 'exception::approved', labels: ['exception'] }), stored: approved });
    expect(ofType(removed.actions, 'saveException')[0]!.exception.status).toBe('revoked');
  });

  it('escalates a renewal and a category repeated across repositories (repeated-exception)', () => {
    const repeatedOf = (r: ReturnType<typeof run>) => ofType(r.actions, 'notifyChat').filter((a) => a.notice.kind === 'repeated-exception');
    const renewal = run({ event: issueEvent({ body: exceptionBody({ Renews: '#12' }) }) });
    const [n] = repeatedOf(renewal);
    expect(n!.notice).toMatchObject({ kind: 'repeated-exception', reasons: ['Renews github:acme/security-requests#12'], route: 'exception-board' });
    const repeated = run({ categoryCount: 2 });
    expect(repeatedOf(repeated)[0]!.notice.reasons).toEqual(['3 repositories asked for a sast exception within 90 days (threshold 3)']);
    expect(repeatedOf(run({ categoryCount: 1 }))).toEqual([]);
  });

  it('puts a new request before the approvers once (the Slack notice with its Approve button)', () => {
    const first = ofType(run({ categoryCount: 0 }).actions, 'notifyChat');
    expect(first.map((a) => a.notice.kind)).toEqual(['exception-request']);
    expect(first[0]!.notice).toMatchObject({ route: 'exception-board', owner: expect.any(String), itemKey: 'github:acme/security-requests#50' });
    expect(first[0]!.key).toMatch(/^exception-request:github:acme\/security-requests#50:\d{4}-/);
  });

  it('leaves other issues alone', () => {
    expect(planExceptionRequest({ event: issueEvent({ body: 'Please help', labels: [] }), stored: null, categoryCount: 0 }, ctx)).toBeNull();
  });
});
