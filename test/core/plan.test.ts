import { describe, expect, it } from 'vitest';
import type { Action, EnsureComment, EnsureLabels, NotifyChat, RecordDecision, SaveIntake } from '../../src/core/actions.ts';
import { INTAKE_MARKER, plan, type PriorDecision } from '../../src/core/plan.ts';
import { parsePolicy } from '../../src/core/policy/load.ts';
import { CONTRACT_TIER_ASSETS, CONTRACT_TIER_LABELS } from '../builders/contract.ts';
import { issueEvent, NOW, planContext, repo } from '../builders/events.ts';
import { intakeBody, type Answers } from '../builders/intake.ts';

const types = (actions: Action[]) => actions.map((a) => a.type);
const find = <T extends Action['type']>(actions: Action[], type: T) =>
  actions.find((a) => a.type === type) as Extract<Action, { type: T }> | undefined;
const labelsOf = (actions: Action[]): EnsureLabels | undefined => find(actions, 'ensureLabels');
const commentOf = (actions: Action[]): string => {
  const c: EnsureComment | undefined = find(actions, 'ensureComment');
  if (!c) throw new Error('no ensureComment action');
  return c.body;
};
const decisionOf = (actions: Action[]): RecordDecision | undefined => find(actions, 'recordDecision');
const asPrior = (d: RecordDecision, decidedAt = new Date('2026-11-19T08:00:00Z')): PriorDecision => ({
  tier: d.tier,
  routes: d.routes,
  reasons: d.reasons,
  decidedAt,
});

describe('plan: a complete intake is opened', () => {
  const event = issueEvent({ body: intakeBody({ exposure: 'new public endpoint' }), labels: [] });
  const { actions, note } = plan(event, planContext());

  it('saves the intake, records the decision, sets the labels and posts the sticky comment', () => {
    // A deep review also gets the security planning checklist (in the description), its status in
    // the intake comment (one new comment), and the comment comes first: the requester waits for it.
    expect(types(actions)).toEqual(['saveIntake', 'recordDecision', 'ensureComment', 'ensureLabels', 'ensureBodySection']);
    expect(note).toBe('tier 2');
  });

  it('saves the parsed record for the issue', () => {
    const save: SaveIntake | undefined = find(actions, 'saveIntake');
    expect(save?.target).toEqual({ repo, number: 7 });
    expect(save?.record.complete).toBe(true);
    expect(save?.record.answers['exposure']).toBe('new public endpoint');
  });

  it('records tier, routes and reasons', () => {
    expect(decisionOf(actions)).toMatchObject({
      target: { repo, number: 7 },
      tier: 2,
      routes: [],
      reasons: [
        { rule: 'public-endpoint-or-identity-boundary', evidence: ['Internet exposure = new public endpoint'], tier: 2, route: null },
      ],
    });
  });

  it('adds intake, intake::complete and the tier label', () => {
    expect(labelsOf(actions)).toEqual({
      type: 'ensureLabels',
      target: { repo, number: 7 },
      add: ['intake', 'intake::complete', 'tier::deep-review'],
      remove: [],
    });
  });

  it('marks the comment and shows the tier, its label and the reasons', () => {
    const body = commentOf(actions);
    expect(body.startsWith(INTAKE_MARKER)).toBe(true);
    expect(INTAKE_MARKER).toBe('<!-- gatehouse:intake -->');
    expect(find(actions, 'ensureComment')?.marker).toBe(INTAKE_MARKER);
    expect(body).toContain('**Tier 2 — deep review** (`tier::deep-review`)');
    expect(body).toContain('| `public-endpoint-or-identity-boundary` |');
    expect(body).toContain('Internet exposure = new public endpoint');
    expect(body).toContain('payments-api');
    expect(body).toContain('policy: built-in default');
  });

  it('plans no chat notice without a notify rule', () => {
    expect(find(actions, 'notifyChat')).toBeUndefined();
  });
});

describe.each<{ tier: 0 | 1 | 2 | 3; overrides: Answers }>([
  { tier: 0, overrides: { golden_path: 'yes' } },
  { tier: 1, overrides: {} },
  { tier: 2, overrides: { data_sensitivity: 'restricted' } },
  { tier: 3, overrides: { blast_radius: 'multiple products or trust domains' } },
])('plan: the tier $tier comment', ({ tier, overrides }) => {
  const { actions } = plan(issueEvent({ body: intakeBody(overrides) }), planContext());
  const body = commentOf(actions);
  const lower = body.toLowerCase();

  it('applies the tier label of the contract', () => {
    expect(labelsOf(actions)?.add).toEqual(['intake::complete', CONTRACT_TIER_LABELS[tier]]);
  });

  it('lists the expected assets of that tier as a checklist', () => {
    expect(body).toContain(`### Expected assets for tier ${tier}`);
    for (const asset of CONTRACT_TIER_ASSETS[tier]!) expect(lower).toContain(`- [ ] ${asset.toLowerCase()}`);
  });

  it('lists no asset of another tier', () => {
    const mine = new Set(CONTRACT_TIER_ASSETS[tier]!.map((a) => a.toLowerCase()));
    const others = CONTRACT_TIER_ASSETS.flat()
      .map((a) => a.toLowerCase())
      .filter((a) => !mine.has(a));
    for (const asset of others) expect(lower).not.toContain(`- [ ] ${asset}\n`);
  });
});

describe('plan: re-planning', () => {
  const body = intakeBody({ exposure: 'new public endpoint' });
  const first = plan(issueEvent({ body }), planContext()).actions;
  const prior = asPrior(decisionOf(first)!);

  it('records no decision when history already holds the same one, and changes no labels when they are right', () => {
    const again = plan(
      issueEvent({ action: 'edited', body, labels: ['intake', 'intake::complete', 'tier::deep-review'] }),
      planContext({ history: [prior] }),
    ).actions;
    expect(types(again)).toEqual(['saveIntake', 'ensureComment', 'ensureBodySection']);
    expect(commentOf(again)).toBe(commentOf(first));
  });

  it('swaps the old tier label for the new one and records the change', () => {
    const advisory = asPrior(decisionOf(plan(issueEvent({ body: intakeBody() }), planContext()).actions)!);
    expect(advisory.tier).toBe(1);
    const { actions } = plan(
      issueEvent({ action: 'edited', body, labels: ['intake', 'intake::complete', 'tier::advisory', 'bug'] }),
      planContext({ history: [advisory] }),
    );
    expect(labelsOf(actions)).toMatchObject({ add: ['tier::deep-review'], remove: ['tier::advisory'] });
    expect(decisionOf(actions)?.tier).toBe(2);
    const comment = commentOf(actions);
    expect(comment).toContain('Earlier classifications');
    expect(comment).toContain('2026-11-19T08:00:00.000Z: tier 1 (advisory)');
  });

  it('removes a route label the decision no longer gives', () => {
    const { actions } = plan(
      issueEvent({ action: 'edited', body: intakeBody(), labels: ['intake', 'intake::complete', 'tier::leadership', 'route::incident'] }),
      planContext(),
    );
    expect(labelsOf(actions)).toMatchObject({ add: ['tier::advisory'], remove: ['tier::leadership', 'route::incident'] });
  });

  it('matches existing labels case-insensitively', () => {
    const { actions } = plan(
      issueEvent({ action: 'edited', body, labels: ['Intake', 'INTAKE::COMPLETE', 'Tier::Deep-Review'] }),
      planContext({ history: [prior] }),
    );
    expect(labelsOf(actions)).toBeUndefined();
  });
});

describe('plan: an intake longer than the platform stores', () => {
  // A complete intake with 70,000 characters of links: more than GitHub's 65,536.
  const body = intakeBody({ links: `- https://wiki.acme.test/${'x'.repeat(70_000)}` });

  it('is incomplete, and the comment says the description was cut', () => {
    const { actions, note } = plan(issueEvent({ body }), planContext());
    expect(note).toBe('intake incomplete');
    expect(labelsOf(actions)).toMatchObject({ add: ['intake::incomplete'] });
    expect(commentOf(actions)).toContain(
      '| Description | is longer than the 65,536 characters the platform stores and was cut there: nothing after the cut is read |',
    );
  });

  it('is read in full below the limit', () => {
    const { note } = plan(issueEvent({ body: intakeBody({ links: `- https://wiki.acme.test/${'x'.repeat(60_000)}` }) }), planContext());
    expect(note).not.toBe('intake incomplete');
  });
});

describe('plan: an incomplete intake', () => {
  const body = intakeBody({
    service: null,
    owner: null,
    deputy: 'bob',
    exposure: 'sometimes',
    identity_changes: ['None', 'Authorization change'],
    deadline: '2026-02-30',
  });
  const { actions, note } = plan(issueEvent({ body }), planContext());

  it('labels it intake::incomplete with no tier', () => {
    expect(note).toBe('intake incomplete');
    expect(labelsOf(actions)).toMatchObject({ add: ['intake::incomplete'], remove: [] });
    expect(decisionOf(actions)).toMatchObject({ tier: null, routes: [], reasons: [] });
  });

  it('names every missing or invalid field in one comment', () => {
    const comment = commentOf(actions);
    expect(types(actions).filter((t) => t === 'ensureComment')).toHaveLength(1);
    expect(comment).toContain('**Intake incomplete** (`intake::incomplete`)');
    for (const label of [
      'Service or system name',
      'Owner',
      'Deputy owner',
      'Internet exposure',
      'Identity or access changes',
      'Requested deadline',
    ]) {
      expect(comment).toMatch(new RegExp(`^\\| ${label} \\| .+ \\|$`, 'm'));
    }
    expect(comment).toContain('| Service or system name | is missing |');
    expect(comment).not.toMatch(/^\| (Trust tier|Blast radius|Links) \|/m);
    expect(comment).not.toContain('Expected assets');
  });

  it('swaps intake::incomplete for intake::complete once the issue is completed', () => {
    const fixed = plan(
      issueEvent({ action: 'edited', body: intakeBody(), labels: ['intake', 'intake::incomplete'] }),
      planContext({ history: [asPrior(decisionOf(actions)!)] }),
    ).actions;
    expect(labelsOf(fixed)).toMatchObject({ add: ['intake::complete', 'tier::advisory'], remove: ['intake::incomplete'] });
    expect(decisionOf(fixed)?.tier).toBe(1);
    expect(commentOf(fixed)).not.toContain('Intake incomplete');
  });

  it('goes back to intake::incomplete and drops the tier when an edit breaks it', () => {
    const broken = plan(
      issueEvent({ action: 'edited', body: intakeBody({ owner: 'alice' }), labels: ['intake', 'intake::complete', 'tier::advisory'] }),
      planContext(),
    ).actions;
    expect(labelsOf(broken)).toMatchObject({ add: ['intake::incomplete'], remove: ['intake::complete', 'tier::advisory'] });
  });
});

describe('plan: suspected active exploitation', () => {
  it('notifies the incident channel at once, with tier and route labels', () => {
    const { actions } = plan(issueEvent({ body: intakeBody({ active_exploitation: 'yes' }) }), planContext());
    const notice: NotifyChat | undefined = find(actions, 'notifyChat');
    expect(notice).toMatchObject({ channel: '#prodsec-incidents', key: 'active-exploitation:github:acme/security-requests#7' });
    expect(notice?.text).toContain('route incident');
    expect(notice?.text).toContain('https://github.com/acme/security-requests/issues/7');
    expect(labelsOf(actions)?.add).toEqual(['intake::complete', 'tier::leadership', 'route::incident']);
    expect(commentOf(actions)).toContain('**route: incident** (`route::incident`)');
  });

  it('notifies even while the intake is incomplete', () => {
    const { actions } = plan(issueEvent({ body: intakeBody({ active_exploitation: 'yes', owner: null }) }), planContext());
    expect(find(actions, 'notifyChat')?.channel).toBe('#prodsec-incidents');
    expect(labelsOf(actions)?.add).toEqual(['intake::incomplete', 'tier::leadership', 'route::incident']);
    expect(commentOf(actions)).toContain('Already routed while incomplete');
  });

  it('uses the policy incident channel', () => {
    const custom = parsePolicy("chat:\n  incidentChannel: '#sec-911'\n");
    if (!custom.ok) throw new Error('policy should be valid');
    const { actions } = plan(issueEvent({ body: intakeBody({ active_exploitation: 'yes' }) }), planContext({ policy: custom.policy }));
    expect(find(actions, 'notifyChat')?.channel).toBe('#sec-911');
  });
});

describe('plan: nothing to do', () => {
  it.each([
    { name: 'a non-intake issue', event: issueEvent({ body: 'The login page is slow.', labels: ['bug'] }) },
    { name: 'a closed intake being edited', event: issueEvent({ action: 'edited', body: intakeBody(), state: 'closed' }) },
    { name: 'an assignment', event: issueEvent({ action: 'assigned', body: intakeBody() }) },
    { name: 'another label added', event: issueEvent({ action: 'labeled', label: 'bug', body: intakeBody(), labels: ['intake', 'bug'] }) },
  ])('plans no actions for $name', ({ event }) => {
    expect(plan(event, planContext()).actions).toEqual([]);
  });

  it('takes a closed intake out of the queue, and does nothing else', () => {
    expect(plan(issueEvent({ action: 'closed', body: intakeBody(), state: 'closed' }), planContext()).actions).toEqual([
      { type: 'closeIntake', target: issueEvent({ body: '' }).issue.ref },
    ]);
    expect(
      plan(issueEvent({ action: 'closed', body: 'The login page is slow.', labels: ['bug'], state: 'closed' }), planContext()).actions,
    ).toEqual([]);
  });

  it('plans no actions for a push', () => {
    expect(
      plan({ kind: 'push', deliveryId: 'd', repo, ref: 'refs/heads/main', changedPaths: ['README.md'] }, planContext()).actions,
    ).toEqual([]);
  });

  it('evaluates an issue when the intake label is added', () => {
    const { actions } = plan(issueEvent({ action: 'labeled', label: 'intake', body: 'Please review', labels: ['intake'] }), planContext());
    expect(labelsOf(actions)?.add).toEqual(['intake::incomplete']);
  });
});

describe('plan is pure', () => {
  it('gives the same actions for the same input', () => {
    const event = issueEvent({ body: intakeBody({ exposure: 'new public endpoint' }) });
    expect(plan(event, planContext({ now: NOW }))).toEqual(plan(event, planContext({ now: NOW })));
  });
});
