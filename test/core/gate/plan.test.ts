import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/core/actions.ts';
import { GATE_MARKER, planGate, releaseNoteText, type GateContext, type GatePlanInput } from '../../../src/core/gate/plan.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';
import type { Policy } from '../../../src/core/policy/schema.ts';
import { createRenderer } from '../../../src/render/templates.ts';
import { NOW, approval, check, evidence, exception, finding, gatePolicy, releaseChange } from '../../builders/gate.ts';

const render = createRenderer();
/** A policy naming the approver of the builder's exceptions. */
const exceptionPolicy = gatePolicy({ exceptions: { approvers: { github: ['ciso'] } } });
const ctx = (policy: Policy = defaultPolicy): GateContext => ({
  policy,
  policySource: 'built-in default',
  policyHash: 'f'.repeat(64),
  now: NOW,
  render,
});
const input = (over: Partial<GatePlanInput> = {}): GatePlanInput => ({
  change: releaseChange(),
  currentLabels: ['release'],
  evidence: evidence(),
  exceptions: [],
  previous: null,
  ...over,
});
const ofType = <T extends Action['type']>(actions: Action[], type: T): Extract<Action, { type: T }>[] =>
  actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);

describe('planGate', () => {
  it('a pass: gate::pass, a successful check, a decision record, one sticky comment with the evidence table', () => {
    const p = planGate(input(), ctx());
    expect(p.verdict.verdict).toBe('pass');
    expect(ofType(p.actions, 'ensureLabels')).toEqual([expect.objectContaining({ add: ['gate::pass'], remove: [] })]);
    expect(ofType(p.actions, 'setGateCheck')[0]!.check).toMatchObject({ conclusion: 'success', title: 'Pass (prod)' });
    expect(ofType(p.actions, 'recordGateDecision')).toEqual([
      expect.objectContaining({ key: 'github:acme/shop!12', verdict: 'pass', releaseClass: 'prod', policyHash: 'f'.repeat(64) }),
    ]);
    const comments = ofType(p.actions, 'ensureComment');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.marker).toBe(GATE_MARKER);
    expect(comments[0]!.body).toContain('✅ **Pass** (`gate::pass`)');
    expect(comments[0]!.body).toContain('| [Secrets scan](https://ci.example/secret-scanning) | yes | ✅ ok | secret-scanning: success |');
    expect(comments[0]!.body).toContain('| SAST | no | ❔ missing |');
    expect(p.actions.at(-1)!.type).toBe('ensureComment');
  });

  it('a block replaces the old verdict label and fails the check; every reason is in the comment', () => {
    const p = planGate(
      input({
        currentLabels: ['release', 'gate::pass', 'gate::warn'],
        evidence: evidence({ checks: [check('secret-scanning', 'failure'), check('slsa-provenance')], approvals: [] }),
      }),
      ctx(),
    );
    expect(p.verdict.verdict).toBe('block');
    expect(ofType(p.actions, 'ensureLabels')).toEqual([
      expect.objectContaining({ add: ['gate::block'], remove: ['gate::pass', 'gate::warn'] }),
    ]);
    expect(ofType(p.actions, 'setGateCheck')[0]!.check.conclusion).toBe('failure');
    const body = ofType(p.actions, 'ensureComment')[0]!.body;
    expect(body).toContain('`scan-failed`');
    expect(body).toContain('`approvals-missing`');
  });

  it('keeps the labels alone when the right one is there', () => {
    expect(ofType(planGate(input({ currentLabels: ['Gate::Pass'] }), ctx()).actions, 'ensureLabels')).toEqual([]);
  });

  it('advisory mode: the same verdict and label, a neutral check', () => {
    const p = planGate(input({ evidence: evidence({ checks: [] }) }), ctx(gatePolicy({ mode: { default: 'advisory' } })));
    expect(p.verdict.verdict).toBe('block');
    expect(ofType(p.actions, 'ensureLabels')[0]!.add).toEqual(['gate::block']);
    expect(ofType(p.actions, 'setGateCheck')[0]!.check.conclusion).toBe('neutral');
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain('Advisory mode');
  });

  it('pending: no verdict label (the old one removed), the check in progress', () => {
    const p = planGate(
      input({ currentLabels: ['gate::pass'], evidence: evidence({ errors: [{ source: 'checks', message: 'Bad gateway', status: 502 }] }) }),
      ctx(),
    );
    expect(p.verdict.verdict).toBe('pending');
    expect(ofType(p.actions, 'ensureLabels')).toEqual([expect.objectContaining({ add: [], remove: ['gate::pass'] })]);
    expect(ofType(p.actions, 'setGateCheck')[0]!.check.conclusion).toBe('pending');
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain('never a pass');
  });

  it('records a decision only when the verdict, the head or the reasons changed', () => {
    const first = planGate(input(), ctx());
    const record = ofType(first.actions, 'recordGateDecision')[0]!;
    const stored = JSON.parse(JSON.stringify(record.reasons)) as unknown[];
    expect(
      ofType(
        planGate(input({ previous: { verdict: 'pass', headSha: record.headSha, reasons: stored } }), ctx()).actions,
        'recordGateDecision',
      ),
    ).toEqual([]);
    expect(
      ofType(planGate(input({ previous: { verdict: 'pass', headSha: 'other', reasons: stored } }), ctx()).actions, 'recordGateDecision'),
    ).toHaveLength(1);
    expect(
      ofType(planGate(input({ previous: { verdict: 'pass', headSha: record.headSha, reasons: [] } }), ctx()).actions, 'recordGateDecision'),
    ).toHaveLength(1);
  });

  it('echoes user text safely: mentions broken, pipes and brackets escaped', () => {
    const p = planGate(input({ evidence: evidence({ findings: [finding({ title: '@admin | [click](http://x) <img>' })] }) }), ctx());
    const body = ofType(p.actions, 'ensureComment')[0]!.body;
    expect(body).toContain('@\u200badmin \\| \\[click\\](http://x) &lt;img&gt;');
  });

  it('escalates a blocked high-risk release (gate-block), not a blocked prod one', () => {
    const highRisk = planGate(input({ evidence: evidence({ changedPaths: ['src/auth/a.ts'] }) }), ctx());
    const n = ofType(highRisk.actions, 'notifyChat');
    expect(n).toHaveLength(1);
    expect(n[0]!.notice).toMatchObject({
      kind: 'gate-block',
      severity: 'high-risk prod',
      itemKey: 'github:acme/shop!12',
      url: 'https://github.com/acme/shop/pull/12',
    });
    expect(n[0]!.notice.reasons.length).toBeGreaterThan(0);
    expect(n[0]!.channel).toBe('#prodsec-escalations');
    expect(ofType(planGate(input({ evidence: evidence({ checks: [] }) }), ctx()).actions, 'notifyChat')).toEqual([]);
  });

  it('keys the gate-block notice per change request, so new commits update one message, and resolves it', () => {
    const first = ofType(
      planGate(input({ evidence: evidence({ changedPaths: ['src/auth/a.ts'], headSha: 'a'.repeat(40) }) }), ctx()).actions,
      'notifyChat',
    );
    const second = ofType(
      planGate(input({ evidence: evidence({ changedPaths: ['src/auth/a.ts'], headSha: 'b'.repeat(40) }) }), ctx()).actions,
      'notifyChat',
    );
    expect(first[0]!.key).toBe('gate-block:github:acme/shop!12');
    expect(second[0]!.key).toBe(first[0]!.key);
    expect(second[0]!.notice.reasons[0]).toBe(`At commit ${'b'.repeat(12)}`);
  });

  it('escalates the override label added while blocked (ship-despite-block); the verdict stays block', () => {
    const p = planGate(
      input({
        currentLabels: ['gate::block', 'gate::ship-anyway'],
        evidence: evidence({ checks: [] }),
        labelAdded: 'gate::ship-anyway',
        actor: 'dev',
        previous: { verdict: 'block', headSha: 'x', reasons: [] },
      }),
      ctx(),
    );
    expect(p.verdict.verdict).toBe('block');
    const n = ofType(p.actions, 'notifyChat');
    expect(n.map((a) => a.notice.kind)).toEqual(['ship-despite-block']);
    expect(n[0]!.notice.reasons[0]).toBe('dev added gate::ship-anyway while the gate was blocked');
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain('A request to ship despite the block');
  });

  it('does not escalate the override label on a passing release', () => {
    expect(ofType(planGate(input({ labelAdded: 'gate::ship-anyway' }), ctx()).actions, 'notifyChat')).toEqual([]);
  });

  it('the emergency lane: gate::emergency, success, the emergency record with its retrospective, the notice', () => {
    const policy = gatePolicy({ emergencyApprovers: { github: ['cto'] } });
    const change = releaseChange({
      labels: ['release-class::emergency'],
      body: '## Emergency reason\nSession fixation exploited, @team paged.',
    });
    const p = planGate(
      input({
        change,
        currentLabels: ['release-class::emergency', 'gate::block'],
        evidence: evidence({ checks: [], approvals: [approval('cto')] }),
        labelAdded: 'release-class::emergency',
        previous: { verdict: 'block', headSha: 'x', reasons: [] },
      }),
      ctx(policy),
    );
    expect(p.verdict.verdict).toBe('emergency');
    expect(ofType(p.actions, 'ensureLabels')[0]).toMatchObject({ add: ['gate::emergency'], remove: ['gate::block'] });
    expect(ofType(p.actions, 'setGateCheck')[0]!.check).toMatchObject({
      conclusion: 'success',
      title: 'Emergency release approved by cto (2 control(s) bypassed)',
    });
    const [em] = ofType(p.actions, 'recordEmergency');
    expect(em!.record).toMatchObject({ approver: 'cto', reason: 'Session fixation exploited, @team paged.' });
    expect(em!.retrospective).toMatchObject({ key: 'retrospective:github:acme/shop!12', dueDate: '2026-11-25', labels: ['retrospective'] });
    expect(em!.retrospective.body).toContain('@\u200bteam');
    expect(em!.retrospective.body).toContain('`scan-missing`');
    expect(ofType(p.actions, 'notifyChat').map((a) => a.notice.kind)).toEqual(['ship-despite-block', 'emergency-release']);
  });

  it('a lowering class label without a class setter behind it: removed, the refusal audited with its actor, escalated while blocked', () => {
    const change = releaseChange({ labels: ['release', 'release-class::non-prod'] });
    const classLabels = [{ label: 'release-class::non-prod', addedBy: { login: 'dev', at: NOW.toISOString(), bot: false } }];
    const p = planGate(
      input({
        change,
        currentLabels: ['release', 'release-class::non-prod'],
        evidence: evidence({ approvals: [], changedPaths: ['src/auth/x.ts'] }),
        classLabels,
        actor: 'dev',
      }),
      ctx(),
    );
    expect(p.verdict).toMatchObject({ verdict: 'block', releaseClass: 'high-risk' });
    expect(ofType(p.actions, 'ensureLabels')[0]).toMatchObject({ add: ['gate::block'], remove: ['release-class::non-prod'] });
    expect(ofType(p.actions, 'refuseClassLabel')).toEqual([
      {
        type: 'refuseClassLabel',
        target: change.ref,
        label: 'release-class::non-prod',
        actor: 'dev',
        sender: 'dev',
        reason: expect.stringContaining('dev added it and is not a class setter'),
      },
    ]);
    const kinds = ofType(p.actions, 'notifyChat').map((a) => a.notice.kind);
    expect(kinds).toContain('ship-despite-block');
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain('`release-class::non-prod` was removed: dev added it');

    // Not blocked: still removed and audited, not escalated.
    const passing = planGate(
      input({ change, currentLabels: ['release', 'release-class::non-prod'], evidence: evidence(), classLabels }),
      ctx(),
    );
    expect(passing.verdict.verdict).toBe('warn');
    expect(ofType(passing.actions, 'refuseClassLabel')).toHaveLength(1);
    expect(ofType(passing.actions, 'notifyChat').map((a) => a.notice.kind)).not.toContain('ship-despite-block');
  });

  it('reminds once about an exception in use that expires soon', () => {
    const soon = exception({ expiresAt: new Date('2026-11-24T00:00:00Z') });
    const ev = evidence({ findings: [finding()] });
    const p = planGate(input({ evidence: ev, exceptions: [soon] }), ctx(exceptionPolicy));
    expect(p.verdict.verdict).toBe('pass');
    const n = ofType(p.actions, 'notifyChat');
    expect(n.map((a) => [a.key, a.notice.kind])).toEqual([
      ['exception-expiring:github:acme/shop#50:2026-11-24T00:00:00.000Z', 'exception-expiring'],
    ]);
    expect(ofType(p.actions, 'markExceptionReminded')).toEqual([{ type: 'markExceptionReminded', id: soon.id, at: NOW }]);
    expect(ofType(p.actions, 'ensureComment')[0]!.body).toContain('### Waived by exceptions');
    const again = planGate(input({ evidence: ev, exceptions: [{ ...soon, remindedAt: NOW }] }), ctx(exceptionPolicy));
    expect(ofType(again.actions, 'notifyChat')).toEqual([]);
  });
});

describe('releaseNoteText', () => {
  it('gives the verdict of the tagged commit, or says there is none', () => {
    expect(
      releaseNoteText(
        'abcdef1234567890',
        { verdict: 'pass', releaseClass: 'prod', key: 'github:acme/shop!12', decidedAt: NOW, seq: 7, reasons: [] },
        defaultPolicy,
      ),
    ).toBe(
      '**Release gate** (gatehouse/release-gate): **pass** for commit `abcdef123456` (release class prod).\nDecision record #7 for github:acme/shop!12, 2026-11-20T10:00:00.000Z.',
    );
    expect(releaseNoteText('abcdef1234567890', null, defaultPolicy)).toContain('no gate decision recorded');
  });
});

describe('the decision record holds what a replay needs', () => {
  it('stores the change, the evidence and every exception considered, and replaying them gives the same verdict', async () => {
    const { evaluateGate } = await import('../../../src/core/gate/evaluate.ts');
    const p = planGate(
      input({ evidence: evidence({ findings: [finding()] }), exceptions: [{ ...exception(), remindedAt: null }] }),
      ctx(exceptionPolicy),
    );
    expect(p.verdict.verdict).toBe('pass');
    const record = ofType(p.actions, 'recordGateDecision')[0]!;
    const stored = JSON.parse(JSON.stringify(record.inputs)) as {
      change: never;
      evidence: never;
      exceptions: (Record<string, unknown> & { expiresAt: string; approvedAt: string; requestedAt: string })[];
    };
    expect(Object.keys(stored).sort()).toEqual(['change', 'classDecision', 'classLabels', 'evidence', 'exceptions', 'mode', 'waived']);
    expect(stored.exceptions[0]).not.toHaveProperty('remindedAt');
    const exceptions = stored.exceptions.map((e) => ({
      ...e,
      expiresAt: new Date(e.expiresAt),
      approvedAt: new Date(e.approvedAt),
      requestedAt: new Date(e.requestedAt),
    })) as never;
    expect(evaluateGate({ change: stored.change, evidence: stored.evidence, exceptions }, exceptionPolicy, NOW).verdict).toBe(
      p.verdict.verdict,
    );
  });
});
