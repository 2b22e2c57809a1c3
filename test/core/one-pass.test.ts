/**
 * One pass per delivery: the intake body is parsed once (the shell's reading is handed to what it
 * loads and to plan), and a release candidate's change request is planned once, the release gate's
 * actions included, with one label write for the item.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Action } from '../../src/core/actions.ts';
import { GATE_MARKER, type GatePlanInput } from '../../src/core/gate/plan.ts';
import * as parse from '../../src/core/intake/parse.ts';
import type { ChangeRequestEvent } from '../../src/core/model.ts';
import {
  CHANGE_MARKER,
  INTAKE_MARKER,
  mergeLabelWrites,
  needsRelatedIntakes,
  plan,
  readIntake,
  relatedService,
} from '../../src/core/plan.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { evidence, releaseChange, PROD_CHECKS, approval } from '../builders/gate.ts';
import { issueEvent, planContext } from '../builders/events.ts';
import { intakeBody } from '../builders/intake.ts';

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
      'a release touching auth code: tier and verdict',
      ['src/auth/session.ts'],
      gateInput(),
      [CHANGE_MARKER, GATE_MARKER],
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
    const labels = ofType(p.actions, 'ensureLabels');
    expect(labels).toHaveLength(1);
    expect(labels[0]!.add).toEqual(added);
    expect(ofType(p.actions, 'setGateCheck')).toHaveLength(gate ? 1 : 0);
    expect(ofType(p.actions, 'recordGateDecision')).toHaveLength(gate ? 1 : 0);
    expect(p.verdict?.verdict).toBe(gate ? 'pass' : undefined);
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
