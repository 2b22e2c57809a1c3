/**
 * One pass per delivery: the intake body is parsed once (the shell's reading is handed to what it
 * loads and to plan), and a release candidate's change request is planned once, the release gate's
 * actions included, with one label write for the item.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Action } from '../../src/core/actions.ts';
import { GATE_CHANGE_SECTION, GATE_MARKER, type GatePlanInput } from '../../src/core/gate/plan.ts';
import * as parse from '../../src/core/intake/parse.ts';
import type { ChangeRequestEvent } from '../../src/core/model.ts';
import {
  CHANGE_MARKER,
  gateClassification,
  INTAKE_MARKER,
  mergeBodyEdits,
  mergeLabelWrites,
  needsRelatedIntakes,
  plan,
  readIntake,
  relatedService,
  type PriorDecision,
} from '../../src/core/plan.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { evidence, gateRepo, releaseChange, PROD_CHECKS, approval } from '../builders/gate.ts';
import { issueEvent, NOW, planContext } from '../builders/events.ts';
import { intakeBody } from '../builders/intake.ts';
import { INCIDENT_WORKSHEET_SECTION, incidentWorksheet } from '../../src/core/workflows/incident.ts';
import { PLANNING_SECTION, planningChecklist } from '../../src/core/workflows/planning.ts';
import { readSection, sectionStart, withSection } from '../../src/core/workflows/sections.ts';

vi.mock('../../src/core/intake/parse.ts', async (original) => {
  const actual = await original<typeof import('../../src/core/intake/parse.ts')>();
  return { ...actual, parseIntake: vi.fn(actual.parseIntake) };
});
const parseCalls = (): number => vi.mocked(parse.parseIntake).mock.calls.length;

beforeEach(() => {
  vi.mocked(parse.parseIntake).mockClear();
});

const ofType = <T extends Action['type']>(actions: readonly Action[], type: T): Extract<Action, { type: T }>[] =>
  actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);

describe('the intake body is parsed once per delivery', () => {
  it('a new deep-review intake: read once, then related intakes and the plan use the reading', () => {
    const event = issueEvent({ body: intakeBody({ exposure: 'new public endpoint' }) });
    const intake = readIntake(event, defaultPolicy);
    expect(needsRelatedIntakes(event, defaultPolicy, intake)).toBe(true);
    expect(relatedService(intake!)).toBe('payments-api');
    const { actions } = plan(event, { ...planContext(), intake, related: [] });
    expect(ofType(actions, 'ensureBodySection')).toHaveLength(1);
    expect(parseCalls()).toBe(1);
  });

  it('a change request carrying an intake: read once', () => {
    const change = releaseChange({ body: intakeBody({ exposure: 'new public endpoint' }) });
    const event: ChangeRequestEvent = { kind: 'change', action: 'opened', deliveryId: 'd', actor: { login: 'dev', isBot: false }, change };
    const intake = readIntake(event, defaultPolicy);
    expect(intake?.decision.tier).toBe(2);
    plan(event, { ...planContext(), intake, changedPaths: [] });
    expect(parseCalls()).toBe(1);
  });

  it('an event that does not re-evaluate the intake is not parsed', () => {
    const event = issueEvent({ action: 'assigned', body: intakeBody({}) });
    expect(readIntake(event, defaultPolicy)).toBeNull();
    plan(event, { ...planContext(), intake: null });
    expect(parseCalls()).toBe(0);
  });
});

describe('a change request that is a release candidate is planned once, the gate included', () => {
  const change = releaseChange({ labels: ['release'] });
  const event: ChangeRequestEvent = { kind: 'change', action: 'opened', deliveryId: 'd', actor: { login: 'dev', isBot: false }, change };
  const gateInput = (over: Partial<GatePlanInput> = {}): GatePlanInput => ({
    change,
    currentLabels: ['release'],
    evidence: evidence({ checks: PROD_CHECKS, approvals: [approval('alice')] }),
    exceptions: [],
    previous: null,
    ...over,
  });
  const table: [string, readonly string[], GatePlanInput | null, string[], string[]][] = [
    // name, changed paths, gate facts, comment markers, labels added in the one label write
    [
      "a release touching auth code: tier and verdict, in one comment (the gate's)",
      ['src/auth/session.ts'],
      gateInput(),
      [GATE_MARKER],
      ['tier::deep-review', 'gate::pass'],
    ],
    ['a release of ordinary code: the verdict only', ['src/index.ts'], gateInput(), [GATE_MARKER], ['gate::pass']],
    ['not a release candidate: the change request only', ['src/auth/session.ts'], null, [CHANGE_MARKER], ['tier::deep-review']],
  ];
  it.each(table)('%s', (_name, paths, gate, markers, added) => {
    const p = plan(event, {
      ...planContext(),
      changedPaths: paths,
      intake: null,
      ...(gate ? { gate: { input: gate, policyHash: 'f'.repeat(64) } } : {}),
    });
    expect(ofType(p.actions, 'ensureComment').map((c) => c.marker)).toEqual(markers);
    for (const c of ofType(p.actions, 'ensureComment')) {
      // Each sticky comment is found by its own marker only.
      expect(c.body.startsWith(c.marker)).toBe(true);
      expect([CHANGE_MARKER, GATE_MARKER].filter((m) => c.body.includes(m))).toEqual([c.marker]);
    }
    const gateComment = ofType(p.actions, 'ensureComment').find((c) => c.marker === GATE_MARKER);
    if (gateComment && paths.includes('src/auth/session.ts')) {
      const block = readSection(gateComment.body, GATE_CHANGE_SECTION)!;
      expect(block).toContain('change classification');
      expect(block).toContain('**Tier 2 — deep review**');
      expect(gateComment.body.indexOf('Pass')).toBeLessThan(gateComment.body.indexOf(sectionStart(GATE_CHANGE_SECTION)));
    }
    const labels = ofType(p.actions, 'ensureLabels');
    expect(labels).toHaveLength(1);
    expect(labels[0]!.add).toEqual(added);
    expect(ofType(p.actions, 'setGateCheck')).toHaveLength(gate ? 1 : 0);
    expect(ofType(p.actions, 'recordGateDecision')).toHaveLength(gate ? 1 : 0);
    expect(p.verdict?.verdict).toBe(gate ? 'pass' : undefined);
  });
});

describe('one description edit per event: the incident worksheet and the planning checklist in one', () => {
  const incident = intakeBody({ active_exploitation: 'yes' });
  const both = withSection(withSection(incident, INCIDENT_WORKSHEET_SECTION, incidentWorksheet()), PLANNING_SECTION, planningChecklist());
  const table: [string, string, string[]][] = [
    // name, description, the blocks of the one edit (none: no edit)
    ['a new tier-3 incident intake: worksheet and checklist in one edit', incident, [INCIDENT_WORKSHEET_SECTION, PLANNING_SECTION]],
    [
      'the worksheet there already: the checklist alone',
      withSection(incident, INCIDENT_WORKSHEET_SECTION, incidentWorksheet()),
      [PLANNING_SECTION],
    ],
    ['both there, as they should be: no edit', both, []],
    ['a deep review without the incident route: the checklist alone', intakeBody({ exposure: 'new public endpoint' }), [PLANNING_SECTION]],
  ];
  it.each(table)('%s', (_name, body, sections) => {
    const event = issueEvent({ action: body === incident ? 'opened' : 'edited', body });
    const { actions } = plan(event, { ...planContext(), related: [] });
    const edits = ofType(actions, 'ensureBodySection');
    expect(edits).toHaveLength(sections.length > 0 ? 1 : 0);
    expect(edits.flatMap((e) => e.sections.map((s) => s.name))).toEqual(sections);
    if (sections.includes(INCIDENT_WORKSHEET_SECTION))
      expect(edits[0]!.sections.find((s) => s.name === INCIDENT_WORKSHEET_SECTION)!.text).toBe(incidentWorksheet());
    if (sections.includes(PLANNING_SECTION))
      expect(edits[0]!.sections.find((s) => s.name === PLANNING_SECTION)!.text).toBe(planningChecklist());
    // The intake speaks in one comment, its labels in one write.
    expect(ofType(actions, 'ensureComment').map((c) => c.marker)).toEqual([INTAKE_MARKER]);
    expect(ofType(actions, 'ensureLabels').length).toBeLessThanOrEqual(1);
  });

  it("another intake's review is re-opened before the one edit (a retry after a failure there finds the checklist missing)", () => {
    const older = { ...issueEvent({ body: incident }).issue.ref, number: 3 };
    const { actions } = plan(issueEvent({ body: incident, number: 9 }), { ...planContext(), related: [{ ref: older, tier: 2 }] });
    const types = actions.map((a) => a.type);
    expect(types.filter((t) => t === 'ensureBodySection')).toHaveLength(1);
    expect(types.indexOf('reopenPlanning')).toBeLessThan(types.indexOf('ensureBodySection'));
  });
});

describe("where a release candidate's change classification is kept", () => {
  const change = releaseChange({ labels: ['release'] });
  const event: ChangeRequestEvent = {
    kind: 'change',
    action: 'synchronize',
    deliveryId: 'd2',
    actor: { login: 'dev', isBot: false },
    change,
  };
  const earlier = new Date(NOW.getTime() - 3_600_000);
  const later = new Date(NOW.getTime() - 60_000);
  const prior = (decidedAt: Date, deliveryId: string): PriorDecision => ({
    tier: 2,
    routes: [],
    reasons: [],
    decidedAt,
    deliveryId,
  });
  const previous = { verdict: 'pass', headSha: change.headSha!, reasons: [] };
  const table: [string, PriorDecision[], { decidedAt: Date; deliveryId: string | null } | null, string[]][] = [
    // name, the change request's decision history, its first gate decision, comment markers
    ['first classified now, under the gate: one comment', [], null, [GATE_MARKER]],
    [
      "first classified with the gate's first decision (one delivery): one comment",
      [prior(later, 'd1')],
      { decidedAt: later, deliveryId: 'd1' },
      [GATE_MARKER],
    ],
    [
      "first classified after the gate's first decision: one comment",
      [prior(later, 'd1')],
      { decidedAt: earlier, deliveryId: 'd0' },
      [GATE_MARKER],
    ],
    [
      'classified before it came under the gate: its own change comment stays, and is kept up to date',
      [prior(earlier, 'd0')],
      { decidedAt: later, deliveryId: 'd1' },
      [CHANGE_MARKER, GATE_MARKER],
    ],
  ];
  it.each(table)('%s', (_name, history, first, markers) => {
    const p = plan(event, {
      ...planContext({ history }),
      changedPaths: ['src/auth/session.ts'],
      intake: null,
      gate: {
        input: {
          change,
          currentLabels: ['release'],
          evidence: evidence({ checks: PROD_CHECKS, approvals: [approval('alice')] }),
          exceptions: [],
          previous: history.length > 0 ? previous : null,
        },
        policyHash: 'f'.repeat(64),
        first,
      },
    });
    const comments = ofType(p.actions, 'ensureComment');
    expect(comments.map((c) => c.marker)).toEqual(markers);
    const gate = comments.find((c) => c.marker === GATE_MARKER)!;
    expect(readSection(gate.body, GATE_CHANGE_SECTION) !== null).toBe(markers.length === 1);
  });
});

describe("the gate's classification block on an event that does not classify the change request: rendered from the record", () => {
  const change = releaseChange({ labels: ['release'] });
  const on = (action: ChangeRequestEvent['action'], deliveryId: string): ChangeRequestEvent => ({
    kind: 'change',
    action,
    deliveryId,
    actor: { login: 'dev', isBot: false },
    change,
  });
  const input: GatePlanInput = {
    change,
    currentLabels: ['release'],
    evidence: evidence({ checks: PROD_CHECKS, approvals: [approval('alice')], changedPaths: ['src/auth/session.ts'] }),
    exceptions: [],
    previous: null,
  };
  const gateComment = (actions: readonly Action[]): string => ofType(actions, 'ensureComment').find((c) => c.marker === GATE_MARKER)!.body;
  // The change request opened under the gate: classified, its block in the gate's comment.
  const opened = plan(on('opened', 'd1'), {
    ...planContext(),
    changedPaths: ['src/auth/session.ts'],
    intake: null,
    gate: { input, policyHash: 'f'.repeat(64), first: null },
  });
  const recorded = ofType(opened.actions, 'recordDecision')[0]!;
  const decision = (deliveryId: string, decidedAt: Date): PriorDecision => ({
    tier: recorded.tier,
    routes: recorded.routes,
    reasons: recorded.reasons,
    decidedAt,
    deliveryId,
  });
  const block = readSection(gateComment(opened.actions), GATE_CHANGE_SECTION);
  const later = { decidedAt: new Date(NOW.getTime() + 60_000), deliveryId: 'd9' };
  const previous = { verdict: 'pass' as const, headSha: change.headSha!, reasons: [] };

  const table: [string, ChangeRequestEvent['action'], PriorDecision[], { decidedAt: Date; deliveryId: string | null } | null, boolean][] = [
    // name, action, the stored decisions, the first gate decision, whether the gate's comment carries the block
    [
      'a label added, classified with the first gate decision',
      'labeled',
      [decision('d1', NOW)],
      { decidedAt: NOW, deliveryId: 'd1' },
      true,
    ],
    ['a review, classified with the first gate decision', 'reviewed', [decision('d1', NOW)], { decidedAt: NOW, deliveryId: 'd1' }, true],
    ['a label removed, classified before the gate (its own change comment)', 'unlabeled', [decision('d0', NOW)], later, false],
    ['never classified', 'labeled', [], { decidedAt: NOW, deliveryId: 'd1' }, false],
  ];
  it.each(table)('%s', (_name, action, history, first, carries) => {
    const p = plan(on(action, 'd5'), {
      ...planContext({ history }),
      intake: null,
      gate: { input: { ...input, previous }, policyHash: 'f'.repeat(64), first },
    });
    expect(ofType(p.actions, 'ensureComment').map((c) => c.marker)).toEqual([GATE_MARKER]);
    // The same text the change request's own event wrote: an unedited comment is not written again.
    expect(readSection(gateComment(p.actions), GATE_CHANGE_SECTION)).toBe(carries ? block : null);
  });

  it('the block from the record is the one the classifying event rendered (tier, reasons, assets, reviewers, policy warnings)', () => {
    expect(block).toContain('**Tier 2 — deep review**');
    const ctx = { ...planContext({ policyWarnings: ['override ignored'] }) };
    const again = plan(on('opened', 'd1'), {
      ...ctx,
      changedPaths: ['src/auth/session.ts'],
      intake: null,
      gate: { input, policyHash: 'f'.repeat(64) },
    });
    const fromRecord = gateClassification(
      { history: [decision('d1', NOW)], gateFirst: { decidedAt: NOW, deliveryId: 'd1' }, gate: input },
      ctx,
    );
    expect(fromRecord).toBe(readSection(gateComment(again.actions), GATE_CHANGE_SECTION));
    expect(fromRecord).toContain('override ignored');
  });
});

describe('gateClassification', () => {
  const first = { decidedAt: NOW, deliveryId: 'd1' };
  const decided = (tier: 0 | 1 | 2 | 3 | null, routes: string[] = []): PriorDecision => ({
    tier,
    routes,
    reasons: tier === null ? [] : [{ rule: 'auth-paths', summary: 'touches | auth', evidence: ['src/auth/x.ts'], tier, route: null }],
    decidedAt: NOW,
    deliveryId: 'd1',
  });
  const read = (paths: string[], body = 'Ships the spring release.'): Pick<GatePlanInput, 'change' | 'evidence'> => ({
    change: releaseChange({ body }),
    evidence: evidence({ changedPaths: paths }),
  });
  const table: [string, PriorDecision[], Pick<GatePlanInput, 'change' | 'evidence'>, string[], string[]][] = [
    // name, stored decisions, what the gate read, shown, not shown
    [
      'no tier: the changed paths counted',
      [decided(null)],
      read(['a', 'b', 'c']),
      ['No security tier', 'none of the 3 changed path(s)'],
      ['Expected assets'],
    ],
    [
      'deep review: reasons (table cells escaped), expected assets',
      [decided(2)],
      read(['src/auth/x.ts']),
      ['**Tier 2 — deep review**', 'touches \\| auth', '### Expected assets for tier 2'],
      ['Intake in the description'],
    ],
    ['the latest decision counts', [decided(1), decided(2)], read(['src/auth/x.ts']), ['**Tier 2'], ['**Tier 1']],
    [
      'an incomplete intake in the description: its problems',
      [decided(null)],
      read([], intakeBody({ owner: null })),
      ['### Intake in the description: incomplete', '| Owner'],
      [],
    ],
    ['a complete intake: no problems', [decided(1)], read([], intakeBody({})), ['**Tier 1'], ['Intake in the description']],
    ['never classified: no block', [], read(['src/auth/x.ts']), [], ['change classification']],
  ];
  it.each(table)('%s', (_name, history, gate, shown, hidden) => {
    const block = gateClassification({ history, gateFirst: first, gate }, planContext());
    if (shown.length === 0) expect(block).toBeNull();
    for (const s of shown) expect(block).toContain(s);
    for (const s of hidden) expect(block ?? '').not.toContain(s);
    expect(block ?? '').not.toContain(CHANGE_MARKER);
  });

  it('classified before the change request came under the gate: none (its own change comment has it)', () => {
    const gateFirst = { decidedAt: new Date(NOW.getTime() + 1), deliveryId: 'd2' };
    expect(gateClassification({ history: [decided(2)], gateFirst, gate: read(['x']) }, planContext())).toBeNull();
    expect(gateClassification({ history: [decided(2)], gateFirst: null, gate: read(['x']) }, planContext())).toBeNull();
  });

  it("the security reviewers asked, from the policy for the platform, from the policy's review tier", () => {
    const policy = { ...defaultPolicy, changes: { ...defaultPolicy.changes, reviewers: { github: ['sec-sam'], gitlab: ['sec-gl'] } } };
    const ctx = planContext({ policy });
    const gitlab = { ...gateRepo, platform: 'gitlab' as const };
    const at = (tier: 0 | 1 | 2 | 3, on: 'github' | 'gitlab'): string =>
      gateClassification(
        {
          history: [decided(tier)],
          gateFirst: first,
          gate: { change: releaseChange(on === 'gitlab' ? { repo: gitlab } : {}), evidence: evidence() },
        },
        ctx,
      )!;
    expect(at(2, 'github')).toContain('Security review requested from: sec-sam');
    expect(at(2, 'gitlab')).toContain('Security review requested from: sec-gl');
    expect(at(1, 'github')).not.toContain('Security review requested');
  });
});

describe('mergeBodyEdits', () => {
  const target = { repo: { platform: 'github' as const, fullName: 'acme/shop', id: 1, defaultBranch: 'main' }, number: 3 };
  const other = { ...target, number: 4 };
  it('one edit per item, in the place of the last; a block planned twice keeps its place and its last text', () => {
    const merged = mergeBodyEdits([
      { type: 'ensureBodySection', target, sections: [{ name: 'a', text: 'one' }] },
      { type: 'reopenPlanning', target: other },
      { type: 'ensureBodySection', target: other, sections: [{ name: 'x', text: 'x' }] },
      { type: 'ensureBodySection', target, sections: [{ name: 'b', text: 'two' }] },
      { type: 'ensureBodySection', target, sections: [{ name: 'a', text: 'three' }] },
      { type: 'ensureComment', target, marker: INTAKE_MARKER, body: 'x' },
    ]);
    expect(merged.map((a) => a.type)).toEqual(['reopenPlanning', 'ensureBodySection', 'ensureBodySection', 'ensureComment']);
    expect(merged[1]).toEqual({ type: 'ensureBodySection', target: other, sections: [{ name: 'x', text: 'x' }] });
    expect(merged[2]).toEqual({
      type: 'ensureBodySection',
      target,
      sections: [
        { name: 'a', text: 'three' },
        { name: 'b', text: 'two' },
      ],
    });
  });
});

describe('mergeLabelWrites', () => {
  const target = { repo: { platform: 'github' as const, fullName: 'acme/shop', id: 1, defaultBranch: 'main' }, number: 3 };
  const other = { ...target, number: 4 };
  it('one write per item, in the place of the first; a label both added and removed is added', () => {
    const merged = mergeLabelWrites([
      { type: 'ensureLabels', target, add: ['tier::advisory'], remove: ['tier::deep-review'] },
      { type: 'ensureComment', target, marker: INTAKE_MARKER, body: 'x' },
      { type: 'ensureLabels', target: other, add: ['a'], remove: [] },
      { type: 'ensureLabels', target, add: ['gate::pass', 'Tier::Deep-Review'], remove: ['gate::block', 'tier::advisory'] },
    ]);
    expect(merged.map((a) => a.type)).toEqual(['ensureLabels', 'ensureComment', 'ensureLabels']);
    expect(merged[0]).toMatchObject({ add: ['tier::advisory', 'gate::pass', 'Tier::Deep-Review'], remove: ['gate::block'] });
    expect(merged[2]).toMatchObject({ target: other, add: ['a'], remove: [] });
  });
});
