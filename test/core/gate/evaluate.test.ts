import { describe, expect, it } from 'vitest';
import { evaluateGate, type GateVerdict } from '../../../src/core/gate/evaluate.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';
import {
  ALL_CHECKS,
  HEAD,
  NOW,
  PROD_CHECKS,
  approval,
  check,
  evidence,
  exception,
  finding,
  gateInput,
  gatePolicy,
  releaseChange,
} from '../../builders/gate.ts';

const rules = (v: GateVerdict, severity?: string): string[] =>
  v.reasons.filter((r) => !severity || r.severity === severity).map((r) => r.rule);

const HIGH_RISK_BODY = 'Rotates the session keys.\n\n## Rollback\nRevert the deploy with `deploy rollback shop`.\n';
const securityPolicy = gatePolicy({ securityReviewers: { github: ['sec-sam'] }, emergencyApprovers: { github: ['cto'] } });

describe('evaluateGate: the blocking rules (prod)', () => {
  it('passes a prod release with its secrets scan, provenance and one approval', () => {
    const v = evaluateGate(gateInput(), defaultPolicy, NOW);
    expect(v.verdict).toBe('pass');
    expect(v.releaseClass).toBe('prod');
    expect(rules(v, 'block')).toEqual([]);
    expect(v.evidence.find((r) => r.item === 'Secrets scan')).toMatchObject({ required: true, status: 'ok' });
  });

  it.each([
    ['a failed secrets scan', [check('secret-scanning', 'failure'), check('slsa-provenance')], 'scan-failed', 'control:secrets'],
    ['a cancelled secrets scan', [check('gitleaks secret scan', 'cancelled'), check('slsa-provenance')], 'scan-failed', 'control:secrets'],
    ['a skipped provenance check', [check('secret-scanning'), check('cosign sign', 'skipped')], 'scan-failed', 'control:provenance'],
    ['a missing secrets scan', [check('slsa-provenance')], 'scan-missing', 'control:secrets'],
    ['a missing provenance check', [check('secret-scanning')], 'scan-missing', 'control:provenance'],
    [
      'a failed provenance check',
      [check('secret-scanning'), check('attest-build-provenance', 'failure')],
      'scan-failed',
      'control:provenance',
    ],
  ])('blocks on %s', (_n, checks, rule, subject) => {
    const v = evaluateGate(gateInput({ ev: evidence({ checks }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(v.reasons.filter((r) => r.severity === 'block')).toEqual([expect.objectContaining({ rule, subject })]);
  });

  it('blocks on an open critical finding, naming it', () => {
    const v = evaluateGate(gateInput({ ev: evidence({ findings: [finding()] }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe('block');
    const r = v.reasons.find((x) => x.rule === 'finding-blocking')!;
    expect(r.subject).toBe('code-scanning:42');
    expect(r.evidence[0]).toContain('js/sql-injection');
    expect(v.evidence.find((x) => x.item === 'Open findings')).toMatchObject({ status: 'failed', detail: 'critical 1' });
  });

  it('blocks without an approval; the author approving their own change does not count', () => {
    const none = evaluateGate(gateInput({ ev: evidence({ approvals: [] }) }), defaultPolicy, NOW);
    expect(none.verdict).toBe('block');
    expect(rules(none, 'block')).toEqual(['approvals-missing']);
    const self = evaluateGate(gateInput({ ev: evidence({ approvals: [approval('Dev')] }) }), defaultPolicy, NOW);
    expect(rules(self, 'block')).toEqual(['approvals-missing']);
  });

  // Formerly stale approvals counted unless `approvalsAtHead: true`; now they never do (the contract: at the head commit only).
  it.each([
    [
      'of an older commit',
      approval('alice', { atHead: false, commitSha: 'abc1234567890000' }),
      `alice approved commit abc123456789, not the head ${HEAD.slice(0, 12)}`,
    ],
    ['by a bot', approval('renovate[bot]', { bot: true }), 'renovate[bot] is a bot'],
    ['without write access', approval('alice', { canWrite: false }), 'alice has no write access to the repository'],
    ['whose write access could not be read', approval('alice', { canWrite: null }), 'alice has a write access that could not be read'],
    ['by the last pusher', approval('alice', { lastPusher: true }), 'alice pushed the head commit (the last pusher cannot approve)'],
  ])('an approval %s does not count, and the reasons say why', (_name, a, why) => {
    const v = evaluateGate(gateInput({ ev: evidence({ approvals: [a] }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(['approvals-missing']);
    expect(v.reasons.find((r) => r.rule === 'approval-not-counted')!.evidence).toEqual([why]);
    expect(v.evidence.find((r) => r.item === 'Approvals')!.detail).toContain(why);
  });

  it('the author is the one the API names when the adapter read it, not the payload author', () => {
    const v = evaluateGate(gateInput({ ev: evidence({ approvals: [approval('mallory')], authorLogin: 'mallory' }) }), defaultPolicy, NOW);
    expect(rules(v, 'block')).toEqual(['approvals-missing']);
    expect(v.reasons.find((r) => r.rule === 'approval-not-counted')!.evidence).toEqual(['mallory is the author of the change request']);
  });

  it('refuses a policy that would count approvals of other commits', () => {
    expect(() => gatePolicy({ approvalsAtHead: false })).toThrow(/head commit only/);
  });

  it('an emergency approval of an older commit does not count: blocked, and the reason names the commit', () => {
    const change = releaseChange({ labels: ['release', 'release-class::emergency'], body: '## Emergency reason\nOutage.\n' });
    const stale = evaluateGate(
      gateInput({ change, ev: evidence({ approvals: [approval('cto', { atHead: false, commitSha: 'aaaaaaaaaaaa1111' })] }) }),
      securityPolicy,
      NOW,
    );
    expect(stale.verdict).toBe('block');
    expect(stale.emergency).toBeNull();
    expect(stale.reasons.find((r) => r.rule === 'emergency-approver-missing')!.evidence).toContain(
      `the emergency approval of cto does not count: cto approved commit aaaaaaaaaaaa, not the head ${HEAD.slice(0, 12)}`,
    );
    const fresh = evaluateGate(gateInput({ change, ev: evidence({ approvals: [approval('cto')] }) }), securityPolicy, NOW);
    expect(fresh.verdict).toBe('emergency');
    expect(fresh.emergency).toMatchObject({ approver: 'cto', approvedSha: HEAD, headSha: HEAD });
  });

  it.each([
    ['high', 'warn', 'finding-warning'],
    ['medium', 'pass', 'finding-recorded'],
    ['low', 'pass', 'finding-recorded'],
  ] as const)('a %s finding gives %s and is a reason', (severity, verdict, rule) => {
    const v = evaluateGate(gateInput({ ev: evidence({ findings: [finding({ severity })] }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe(verdict);
    expect(rules(v)).toContain(rule);
  });

  it('warns on a failed scan the class does not require, and on changes requested', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ checks: [...PROD_CHECKS, check('semgrep', 'failure')], changesRequestedBy: ['bob'] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('warn');
    expect(rules(v, 'warn')).toEqual(['scan-failed', 'changes-requested']);
  });

  it('gives every reason at once, not the first', () => {
    const v = evaluateGate(
      gateInput({
        ev: evidence({ checks: [], approvals: [], findings: [finding(), finding({ id: 'code-scanning:43', severity: 'high' })] }),
      }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block').sort()).toEqual(['approvals-missing', 'finding-blocking', 'scan-missing', 'scan-missing']);
    expect(rules(v, 'warn')).toEqual(['finding-warning']);
  });

  it.each([
    ['secret-scanning', ['secrets']],
    ['snyk-sca', ['dependencies']],
    ['SCA', ['dependencies']],
    ['npm audit', ['dependencies']],
    ['dependency-review', ['dependencies']],
    ['CodeQL', ['sast']],
    ['semgrep-sast', ['sast']],
    ['cosign sign', ['provenance']],
    ['attest-build-provenance', ['provenance']],
  ])('recognises %s as %j', (name, kinds) => {
    const v = evaluateGate(gateInput({ ev: evidence({ checks: [check(name)] }) }), defaultPolicy, NOW);
    const ok = v.evidence.filter((r) => r.status === 'ok' && r.item !== 'Approvals' && r.item !== 'Open findings').map((r) => r.item);
    const titles: Record<string, string> = {
      secrets: 'Secrets scan',
      sast: 'SAST',
      dependencies: 'Dependency scan',
      provenance: 'Provenance / signing',
    };
    expect(ok).toEqual(kinds.map((k) => titles[k]));
  });

  it('does not count our own check as evidence', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ checks: [check('gatehouse/release-gate'), check('slsa-provenance')] }) }),
      gatePolicy({ scans: { secrets: 'secret|gate' } }),
      NOW,
    );
    expect(rules(v, 'block')).toEqual(['scan-missing']);
  });
});

describe('evaluateGate: missing and incomplete evidence', () => {
  it('goes pending, never pass, when a source could not be read', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ errors: [{ source: 'checks', message: 'Server Error', status: 502 }] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('pending');
    expect(v.retry).toBe(true);
    expect(rules(v, 'pending')).toEqual(['evidence-error']);
  });

  it('goes pending on an error even when the rest would block', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ checks: [], errors: [{ source: 'reviews', message: 'socket hang up' }] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('pending');
  });

  it('waits for a required scan that is still running', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ checks: [check('secret-scanning', 'pending'), check('slsa-provenance')] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('pending');
    expect(v.retry).toBe(false);
    expect(rules(v, 'pending')).toEqual(['scan-pending']);
  });

  it('blocks rather than waits when something already blocks', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ checks: [check('secret-scanning', 'failure'), check('slsa-provenance', 'pending')] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('block');
  });

  it('treats a source that is not there (code scanning off: 404) as missing evidence, a warning', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ errors: [{ source: 'findings', message: 'no analysis found', status: 404 }] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('warn');
    expect(rules(v, 'warn')).toEqual(['evidence-unavailable']);
    expect(v.evidence.find((r) => r.item === 'Open findings')!.status).toBe('error');
  });

  it.each([
    ['not-enabled', 'warn', 'evidence-unavailable'],
    ['no-analysis', 'warn', 'evidence-unavailable'],
    ['truncated', 'block', 'evidence-incomplete'],
    ['invalid', 'block', 'evidence-incomplete'],
    ['api', 'pending', 'evidence-error'],
  ] as const)('an evidence error of kind %s gives %s', (kind, verdict, rule) => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ errors: [{ source: 'findings', message: 'x', kind, status: kind === 'api' ? 502 : 403 }] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe(verdict);
    expect(rules(v)).toContain(rule);
  });

  it.each([
    ['reviews', 403, 'Resource not accessible by integration'],
    ['approvals', 404, 'Not Found'],
    ['files', 403, 'Resource not accessible by integration'],
    ['checks', 404, 'Not Found'],
    ['findings', 403, 'Resource not accessible by integration'],
  ] as const)('never passes when %s answer %i (%s): retrying cannot help, so it blocks', (source, status, message) => {
    const v = evaluateGate(gateInput({ ev: evidence({ errors: [{ source, message, status, kind: 'api' }] }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toContain('evidence-incomplete');
  });

  it('treats a 403 rate limit as an error to retry', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ errors: [{ source: 'checks', message: 'API rate limit exceeded', status: 403 }] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('pending');
  });

  it('records a scan the class does not require as missing, never as passed', () => {
    const v = evaluateGate(gateInput(), defaultPolicy, NOW);
    expect(v.evidence.find((r) => r.item === 'SAST')).toMatchObject({ required: false, status: 'missing' });
    expect(v.reasons).toContainEqual(expect.objectContaining({ rule: 'scan-missing', severity: 'info', subject: 'control:sast' }));
  });
});

describe('evaluateGate: release classes', () => {
  it('non-prod (set by a class setter of the global policy) needs no scans and no approval', () => {
    const policy = gatePolicy({ classSetters: { github: ['release-manager'] } });
    const classLabels = [{ label: 'release-class::non-prod', addedBy: { login: 'release-manager', at: NOW.toISOString(), bot: false } }];
    const v = evaluateGate(
      {
        ...gateInput({
          change: releaseChange({ labels: ['release', 'release-class::non-prod'] }),
          ev: evidence({ checks: [], approvals: [] }),
        }),
        classLabels,
      },
      policy,
      NOW,
    );
    expect(v.releaseClass).toBe('non-prod');
    expect(v.verdict).toBe('pass');
  });

  it('a non-prod label added by anyone else does not lower the class: evaluated as prod, and it is refused', () => {
    const policy = gatePolicy({ classSetters: { github: ['release-manager'] } });
    const classLabels = [{ label: 'release-class::non-prod', addedBy: { login: 'dev', at: NOW.toISOString(), bot: false } }];
    const v = evaluateGate(
      {
        ...gateInput({
          change: releaseChange({ labels: ['release', 'release-class::non-prod'] }),
          ev: evidence({ checks: [], approvals: [] }),
        }),
        classLabels,
      },
      policy,
      NOW,
    );
    expect(v.releaseClass).toBe('prod');
    expect(v.verdict).toBe('block');
    expect(v.classDecision.refused).toEqual([expect.objectContaining({ label: 'release-class::non-prod', actor: 'dev' })]);
    expect(rules(v, 'warn')).toContain('class-label-refused');
  });

  it('non-prod still blocks on a critical finding', () => {
    const v = evaluateGate(
      gateInput({ change: releaseChange({ labels: ['release-class::non-prod'] }), ev: evidence({ findings: [finding()] }) }),
      defaultPolicy,
      NOW,
    );
    expect(v.verdict).toBe('block');
  });

  it('high-risk passes with every scan, two approvals (one security) and a rollback section', () => {
    const v = evaluateGate(
      gateInput({
        change: releaseChange({ body: HIGH_RISK_BODY }),
        ev: evidence({ checks: ALL_CHECKS, changedPaths: ['src/auth/session.ts'], approvals: [approval('alice'), approval('sec-sam')] }),
      }),
      securityPolicy,
      NOW,
    );
    expect(v.releaseClass).toBe('high-risk');
    expect(v.verdict).toBe('pass');
  });

  it.each([
    ['one approval', [approval('sec-sam')], HIGH_RISK_BODY, ALL_CHECKS, ['approvals-missing']],
    ['two approvals, none from security', [approval('alice'), approval('bob')], HIGH_RISK_BODY, ALL_CHECKS, ['security-approval-missing']],
    ['no rollback section', [approval('alice'), approval('sec-sam')], 'No plan.', ALL_CHECKS, ['rollback-missing']],
    [
      'an empty rollback section',
      [approval('alice'), approval('sec-sam')],
      '## Rollback\n\n_No response_\n\n## Notes\nx',
      ALL_CHECKS,
      ['rollback-missing'],
    ],
    ['no SAST', [approval('alice'), approval('sec-sam')], HIGH_RISK_BODY, [...PROD_CHECKS, check('dependency-review')], ['scan-missing']],
  ])('high-risk blocks with %s', (_n, approvals, body, checks, blocking) => {
    const v = evaluateGate(
      gateInput({ change: releaseChange({ body }), ev: evidence({ checks, approvals, changedPaths: ['src/payments/pay.ts'] }) }),
      securityPolicy,
      NOW,
    );
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(blocking);
  });

  it('high-risk blocks when the description is longer than the platform stores, even with a Rollback section at its top', () => {
    const body = `${HIGH_RISK_BODY}\n${'x'.repeat(65_536)}`;
    const ev = evidence({ checks: ALL_CHECKS, changedPaths: ['src/auth/session.ts'], approvals: [approval('alice'), approval('sec-sam')] });
    const v = evaluateGate(gateInput({ change: releaseChange({ body }), ev }), securityPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(['rollback-missing']);
    const why = 'the description is longer than the 65,536 characters GitHub stores: it was cut and none of its sections is read';
    expect(v.reasons.find((r) => r.rule === 'rollback-missing')!.evidence).toEqual([why]);
    expect(v.evidence.find((r) => r.item === 'Rollback notes')).toMatchObject({ status: 'missing', detail: why });
    // GitLab stores up to 1,000,000 characters: the same description is read there.
    const gitlab = releaseChange({ body, repo: { platform: 'gitlab', fullName: 'acme/shop', id: 99, defaultBranch: 'main' } });
    const onGitLab = evaluateGate(gateInput({ change: gitlab, ev }), gatePolicy({ securityReviewers: { gitlab: ['sec-sam'] } }), NOW);
    expect(rules(onGitLab, 'block')).not.toContain('rollback-missing');
  });

  it('high-risk takes the change reviewers as security reviewers when the gate names none', () => {
    const policy = gatePolicy({}, { changes: { reviewers: { github: ['acme/prodsec', 'sec-sam'] } } });
    const v = evaluateGate(
      gateInput({
        change: releaseChange({ body: HIGH_RISK_BODY, labels: ['release-class::high-risk'] }),
        ev: evidence({ checks: ALL_CHECKS, approvals: [approval('alice'), approval('sec-sam')] }),
      }),
      policy,
      NOW,
    );
    expect(v.verdict).toBe('pass');
  });

  it('advisory mode keeps the verdict (per repository, then per class)', () => {
    const policy = gatePolicy({ mode: { repos: { 'ACME/shop': 'advisory' }, classes: { prod: 'enforce' } } });
    const v = evaluateGate(gateInput({ ev: evidence({ checks: [] }) }), policy, NOW);
    expect(v).toMatchObject({ verdict: 'block', mode: 'advisory' });
    expect(evaluateGate(gateInput(), gatePolicy({ mode: { classes: { prod: 'advisory' } } }), NOW).mode).toBe('advisory');
    expect(evaluateGate(gateInput(), defaultPolicy, NOW).mode).toBe('enforce');
  });
});

describe('evaluateGate: the emergency lane', () => {
  const emergencyBody = '## Emergency reason\nActively exploited session fixation (INC-77).\n';
  const change = releaseChange({ labels: ['release', 'release-class::emergency'], body: emergencyBody });

  it('stays blocked without an approval from a named emergency approver', () => {
    const v = evaluateGate(gateInput({ change, ev: evidence({ approvals: [approval('alice')] }) }), securityPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(['emergency-approver-missing']);
    expect(v.emergency).toBeNull();
  });

  it('is blocked when the policy names no emergency approver', () => {
    const v = evaluateGate(gateInput({ change, ev: evidence({ approvals: [approval('cto')] }) }), defaultPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(v.reasons.find((r) => r.rule === 'emergency-approver-missing')!.evidence[0]).toContain('names no emergency approvers');
  });

  it('with the approver: emergency, with the minimum emergency record and the controls bypassed', () => {
    const v = evaluateGate(
      gateInput({ change, ev: evidence({ checks: [check('slsa-provenance')], findings: [finding()], approvals: [approval('CTO')] }) }),
      securityPolicy,
      NOW,
    );
    expect(v.verdict).toBe('emergency');
    expect(v.emergency).toMatchObject({
      reason: 'Actively exploited session fixation (INC-77).',
      approver: 'CTO',
      decidedAt: NOW.toISOString(),
      headSha: v.headSha,
      followUp: { kind: 'retrospective', dueDate: '2026-11-25' },
    });
    expect(v.emergency!.controlsBypassed.map((r) => r.rule).sort()).toEqual(['finding-blocking', 'scan-missing']);
    expect(v.emergency!.evidence.findings).toEqual({ critical: 1 });
  });

  it('takes no emergency reason from a description longer than the platform stores', () => {
    const long = releaseChange({ labels: ['release', 'release-class::emergency'], body: `${emergencyBody}${'x'.repeat(65_536)}` });
    const v = evaluateGate(gateInput({ change: long, ev: evidence({ approvals: [approval('cto')] }) }), securityPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(v.reasons.find((r) => r.rule === 'emergency-reason-missing')!.evidence[0]).toContain('was cut');
    expect(v.emergency).toBeNull();
  });

  it('needs the emergency reason (or Reason) section', () => {
    const noReason = releaseChange({ labels: ['release-class::emergency'], body: 'Hotfix.' });
    const v = evaluateGate(gateInput({ change: noReason, ev: evidence({ approvals: [approval('cto')] }) }), securityPolicy, NOW);
    expect(v.verdict).toBe('block');
    expect(rules(v, 'block')).toEqual(['emergency-reason-missing']);
    const withReason = releaseChange({ labels: ['release-class::emergency'], body: '### Reason:\nOutage\n' });
    expect(
      evaluateGate(gateInput({ change: withReason, ev: evidence({ approvals: [approval('cto')] }) }), securityPolicy, NOW).verdict,
    ).toBe('emergency');
  });
});

describe('evaluateGate: exceptions', () => {
  const blocked = evidence({ findings: [finding()] });
  /** The global policy names the approver of the builder's exceptions. */
  const policy = gatePolicy({ exceptions: { approvers: { github: ['ciso'] } } });
  it.each([
    ['by rule id', exception()],
    ['by finding id', exception({ findingRef: 'code-scanning:42' })],
    ['scoped to a matching path', exception({ scope: { repo: 'github:acme/shop', paths: ['src/legacy/**', 'src/db/**'] } })],
    ['scoped to the repository in another case', exception({ scope: { repo: 'github:Acme/Shop', paths: [] } })],
  ])('an approved, unexpired exception waives exactly its finding (%s)', (_n, e) => {
    const v = evaluateGate(gateInput({ ev: blocked, exceptions: [e] }), policy, NOW);
    expect(v.verdict).toBe('pass');
    expect(v.waived).toEqual([expect.objectContaining({ subject: 'code-scanning:42', exception: e })]);
    expect(v.reasons).toContainEqual(expect.objectContaining({ rule: 'exception-applied', severity: 'info' }));
    expect(v.evidence.find((r) => r.item === 'Open findings')).toMatchObject({ status: 'waived', detail: 'critical 1 (1 waived)' });
  });

  it.each([
    ['expired', exception({ expiresAt: new Date('2026-11-20T10:00:00.000Z') }), 'expired at 2026-11-20T10:00:00.000Z'],
    [
      'for another repository',
      exception({ scope: { repo: 'github:acme/other', paths: [] } }),
      'scoped to github:acme/other, not this repository',
    ],
    ['on the other platform', exception({ scope: { repo: 'gitlab:acme/shop', paths: [] } }), 'scoped to gitlab:acme/shop'],
    [
      'for another path',
      exception({ scope: { repo: 'github:acme/shop', paths: ['src/legacy/**'] } }),
      'scoped to src/legacy/**, not src/db/query.ts',
    ],
    [
      'scoped by a glob too costly to match (registered before globs were checked)',
      exception({ scope: { repo: 'github:acme/shop', paths: ['src/db/**', '**/a/**/a/**/a/**/b'] } }),
      'scoped to a glob that would take too long to match (**/a/**/a/**/a/**/b)',
    ],
    ['still requested', exception({ status: 'requested' }), 'is requested, not approved'],
    ['rejected', exception({ status: 'rejected' }), 'is rejected, not approved'],
    [
      'approved by an account no longer an approver',
      exception({ approvedBy: 'former-ciso' }),
      'approval no longer valid: former-ciso is not an exception approver (ciso)',
    ],
    [
      'approved for other terms (the controls changed since)',
      { ...exception(), compensatingControls: 'None any more' },
      'approval no longer valid: the approval was for other terms',
    ],
    [
      'approved before approvals were bound to terms',
      exception({ approvedDigest: null }),
      'approval no longer valid: it was approved before approvals were bound to the terms',
    ],
    ['approved by its requester', exception({ requestedBy: 'CISO' }), 'approval no longer valid: ciso requested this exception'],
    [
      'requested in another repository, approved by a non-cross-repository approver',
      exception({ id: 'github:acme/requests#5' }),
      "approval no longer valid: the exception is for github:acme/shop, another repository than the request's (github:acme/requests)",
    ],
  ])('an exception that is %s does not waive, and the reason says so', (_n, e, why) => {
    const v = evaluateGate(gateInput({ ev: blocked, exceptions: [e] }), policy, NOW);
    expect(v.verdict).toBe('block');
    expect(v.waived).toEqual([]);
    expect(v.reasons.find((r) => r.rule === 'finding-blocking')!.evidence.join('\n')).toContain(why);
  });

  it('an exception requested in another repository waives when a cross-repository approver approved it', () => {
    const cross = gatePolicy({ exceptions: { approvers: { github: ['ciso'] }, crossRepoApprovers: { github: ['ciso'] } } });
    expect(evaluateGate(gateInput({ ev: blocked, exceptions: [exception({ id: 'github:acme/requests#5' })] }), cross, NOW).verdict).toBe(
      'pass',
    );
  });

  it('waives only its own finding', () => {
    const v = evaluateGate(
      gateInput({
        ev: evidence({ findings: [finding(), finding({ id: 'code-scanning:43', ruleId: 'js/xss' })] }),
        exceptions: [exception()],
      }),
      policy,
      NOW,
    );
    expect(v.verdict).toBe('block');
    expect(v.reasons.filter((r) => r.rule === 'finding-blocking').map((r) => r.subject)).toEqual(['code-scanning:43']);
  });

  it('a path-scoped exception does not cover a finding without a location', () => {
    const v = evaluateGate(
      gateInput({
        ev: evidence({ findings: [finding({ location: null })] }),
        exceptions: [exception({ scope: { repo: 'github:acme/shop', paths: ['src/**'] } })],
      }),
      policy,
      NOW,
    );
    expect(v.verdict).toBe('block');
    expect(v.reasons.find((r) => r.rule === 'finding-blocking')!.evidence.join()).toContain('the finding has no location');
  });

  it('a control exception waives a missing provenance check', () => {
    const v = evaluateGate(
      gateInput({
        ev: evidence({ checks: [check('secret-scanning')] }),
        exceptions: [exception({ findingRef: 'control:provenance', category: 'provenance' })],
      }),
      policy,
      NOW,
    );
    expect(v.verdict).toBe('pass');
    expect(v.evidence.find((r) => r.item === 'Provenance / signing')!.status).toBe('waived');
  });

  it('reminds before an exception in use expires', () => {
    const soon = exception({ expiresAt: new Date('2026-11-25T00:00:00.000Z') });
    const v = evaluateGate(gateInput({ ev: blocked, exceptions: [soon] }), policy, NOW);
    expect(v.verdict).toBe('pass');
    expect(v.expiring).toEqual([soon]);
    expect(evaluateGate(gateInput({ ev: blocked, exceptions: [exception()] }), policy, NOW).expiring).toEqual([]);
  });

  it('an exception does not waive approvals', () => {
    const v = evaluateGate(
      gateInput({ ev: evidence({ approvals: [] }), exceptions: [exception({ findingRef: 'approvals-missing' })] }),
      policy,
      NOW,
    );
    expect(v.verdict).toBe('block');
  });
});
