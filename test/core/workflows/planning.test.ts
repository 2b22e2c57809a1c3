import { describe, expect, it } from 'vitest';
import type { Action, EnsureBodySection, EnsureComment } from '../../../src/core/actions.ts';
import { INTAKE_MARKER as PLANNING_MARKER, plan } from '../../../src/core/plan.ts';
import { policySchema } from '../../../src/core/policy/schema.ts';
import { defaultPolicyInput } from '../../../src/core/policy/default.ts';
import {
  PLAN_BUNDLE_MARKER,
  PLANNING_ORDER_MARKER,
  PLANNING_SECTION,
  PLANNING_STAGES,
  planningChecklist,
  planningReopenedMarker,
  reopenedSection,
  reviewStages,
  stageStates,
} from '../../../src/core/workflows/planning.ts';
import { readSection, sectionStart, withSection, type BodySection } from '../../../src/core/workflows/sections.ts';
import { issueEvent, NOW, planContext, repo } from '../../builders/events.ts';
import { intakeBody } from '../../builders/intake.ts';

const deep = intakeBody({
  exposure: 'new public endpoint',
  links: '- https://docs.example/design/payments\n- decision: accept replay risk (ADR-12)',
});
const ticks = (n: number[]): boolean[] => PLANNING_STAGES.map((_, i) => n.includes(i + 1));
const withTicks = (body: string, done: boolean[]): string => withSection(body, PLANNING_SECTION, planningChecklist(done));
const comment = (actions: Action[], marker: string): EnsureComment | undefined =>
  actions.find((a): a is EnsureComment => a.type === 'ensureComment' && a.marker === marker);
const section = (actions: Action[]): BodySection | undefined =>
  actions
    .filter((a): a is EnsureBodySection => a.type === 'ensureBodySection')
    .flatMap((a) => a.sections)
    .find((s) => s.name === PLANNING_SECTION);
const edited = (body: string, ctx = planContext()) => plan(issueEvent({ action: 'edited', body }), ctx).actions;

describe('reviewStages', () => {
  const table: [string, number[], boolean, number[], number[]][] = [
    ['nothing ticked', [], false, [], []],
    ['in order', [1, 2, 3], false, [1, 2, 3], []],
    ['stage 3 before stage 2', [1, 3], false, [1], [3]],
    ['a run ticked early comes back whole', [1, 3, 4], false, [1], [3, 4]],
    ['stage 1 missing: nothing counts', [2, 3, 10], false, [], [2, 3, 10]],
    ['the policy allows the reorder', [1, 3], true, [1, 3], []],
    ['all ten', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], false, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], []],
  ];
  it.each(table)('%s', (_name, given, allow, kept, out) => {
    const r = reviewStages(ticks(given), allow);
    expect(r.states).toEqual(ticks(kept));
    expect(r.outOfOrder.map((i) => i + 1)).toEqual(out);
  });
});

describe('the checklist in the description', () => {
  it('lists the ten stages in order, each with its exit criteria, unticked', () => {
    const text = planningChecklist();
    const lines = text.split('\n').filter((l) => l.startsWith('- [ ]'));
    expect(lines).toHaveLength(10);
    expect(lines.map((l) => /\*\*\d+\. (.+?)\*\*/.exec(l)![1])).toEqual([
      'Context and asset classification',
      'Trust boundaries and data flows',
      'Threat model and attacker paths',
      'Control strategy',
      'Identity, secrets and key management',
      'Validation plan',
      'Detection, logging and incident readiness',
      'Compliance mapping (when it applies)',
      'Release gates and exceptions',
      'Final security plan bundle',
    ]);
    for (const l of lines) expect(l).toMatch(/ — exit: \S.{20,}/);
  });

  it('reads ticks back, with GitHub CRLF line ends and upper-case X', () => {
    const body = withTicks(deep, ticks([1, 2]))
      .replace(/\n/g, '\r\n')
      .replace('- [x] **2.', '- [X] **2.');
    expect(stageStates(readSection(body, PLANNING_SECTION)!)).toEqual(ticks([1, 2]));
  });

  it('does not change the intake answers', () => {
    const a = plan(issueEvent({ body: deep }), planContext()).actions.find((x) => x.type === 'saveIntake');
    const b = plan(issueEvent({ body: withTicks(deep, ticks([1])) }), planContext()).actions.find((x) => x.type === 'saveIntake');
    expect(b).toEqual(a);
  });

  it('re-opening un-ticks the last stage only', () => {
    expect(stageStates(reopenedSection(planningChecklist(ticks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))))).toEqual(
      ticks([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    );
  });
});

describe('plan: a deep review gets the planning flow', () => {
  it('a new tier-2 intake gets the checklist appended to its description and its status in the intake comment (one comment)', () => {
    const actions = plan(issueEvent({ body: deep }), planContext()).actions;
    expect(section(actions)?.text).toBe(planningChecklist());
    expect(comment(actions, PLANNING_MARKER)?.body).toContain('0 of 10 stages done');
    expect(comment(actions, PLANNING_MARKER)?.body).toContain('**Tier 2');
    expect(actions.filter((a) => a.type === 'ensureComment')).toHaveLength(1);
    // What the requester waits for comes first: the intake comment, then labels, then the description.
    expect(actions.filter((a) => ['ensureComment', 'ensureLabels', 'ensureBodySection'].includes(a.type)).map((a) => a.type)).toEqual([
      'ensureComment',
      'ensureLabels',
      'ensureBodySection',
    ]);
  });

  it('tier 1 and incomplete intakes get none', () => {
    expect(section(plan(issueEvent({ body: intakeBody({}) }), planContext()).actions)).toBeUndefined();
    expect(
      section(plan(issueEvent({ body: intakeBody({ exposure: 'new public endpoint', owner: null }) }), planContext()).actions),
    ).toBeUndefined();
  });

  it('ticks in order: the status follows, nothing is un-ticked', () => {
    const actions = edited(withTicks(deep, ticks([1, 2])));
    expect(section(actions)).toBeUndefined();
    expect(comment(actions, PLANNING_ORDER_MARKER)).toBeUndefined();
    expect(comment(actions, PLANNING_MARKER)?.body).toContain('2 of 10 stages done');
  });

  it('a stage ticked before the one before it is un-ticked, with a comment saying why', () => {
    const actions = edited(withTicks(deep, ticks([1, 3])));
    expect(stageStates(section(actions)!.text)).toEqual(ticks([1]));
    const why = comment(actions, PLANNING_ORDER_MARKER)!.body;
    expect(why).toContain('**3. Threat model and attacker paths** was ticked before **2. Trust boundaries and data flows** was done');
    expect(why).toContain('2026-11-20 10:00 UTC');
    expect(comment(actions, PLANNING_MARKER)?.body).toContain('1 of 10 stages done');
  });

  it('planning.allowReorder keeps an out-of-order tick', () => {
    const policy = policySchema.parse({ ...defaultPolicyInput, planning: { allowReorder: true } });
    const actions = edited(withTicks(deep, ticks([1, 3])), planContext({ policy }));
    expect(section(actions)).toBeUndefined();
    expect(comment(actions, PLANNING_ORDER_MARKER)).toBeUndefined();
  });

  it('all ten done: the plan bundle is assembled from the record and the decisions', () => {
    const actions = edited(
      withTicks(deep, ticks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
      planContext({ history: [{ tier: 1, routes: [], reasons: [], decidedAt: new Date('2026-11-19T08:00:00Z') }] }),
    );
    const bundle = comment(actions, PLAN_BUNDLE_MARKER)!.body;
    expect(bundle.startsWith(PLAN_BUNDLE_MARKER)).toBe(true);
    expect(bundle).toContain('# 📦 Security plan bundle · payments-api');
    expect(bundle).toContain(`Assembled by Gatehouse at ${NOW.toISOString()} from acme/security-requests#7`);
    expect(bundle).toContain('**Tier 2 (deep review)**');
    expect(bundle).toContain('| Internet exposure | new public endpoint |');
    expect(bundle).toContain('| Service line | Secure design / architecture review (inferred) |');
    expect(bundle).toContain('| 2026-11-19T08:00:00.000Z | 1 (advisory) |  |  |');
    expect(bundle).toContain(`| ${NOW.toISOString()} | 2 (deep review) |  | public-endpoint-or-identity-boundary |`);
    expect(bundle).toContain('- https://docs.example/design/payments');
    expect(bundle).toContain('- decision: accept replay risk (ADR-12)');
    expect(bundle.match(/- \[x\] \*\*\d+\./g)).toHaveLength(10);
    expect(comment(actions, PLANNING_MARKER)?.body).toContain('All 10 stages done');
  });

  it('nine done: no bundle yet', () => {
    expect(comment(edited(withTicks(deep, ticks([1, 2, 3, 4, 5, 6, 7, 8, 9]))), PLAN_BUNDLE_MARKER)).toBeUndefined();
  });

  it('a new deep-review intake for the same service re-opens the older review first', () => {
    const older = { repo, number: 3 };
    const ctx = {
      ...planContext(),
      related: [
        { ref: older, tier: 2 as const },
        { ref: { repo, number: 4 }, tier: 1 as const },
      ],
    };
    const actions = plan(issueEvent({ body: deep, number: 9 }), ctx).actions;
    const reopen = actions.findIndex((a) => a.type === 'reopenPlanning');
    expect(actions.filter((a) => a.type === 'reopenPlanning')).toEqual([{ type: 'reopenPlanning', target: older }]);
    expect(reopen).toBeLessThan(actions.findIndex((a) => a.type === 'ensureBodySection'));
    const note = actions.find((a): a is EnsureComment => a.type === 'ensureComment' && a.target.number === 3)!;
    expect(note.marker).toBe(planningReopenedMarker({ repo, number: 9 }));
    expect(note.body).toContain('Material change: re-review');
    expect(note.body).toContain('https://github.com/acme/security-requests/issues/9');
  });

  it('a confidential intake re-opens the older review without naming itself there (no link, no tier)', () => {
    const older = { repo, number: 3 };
    const e = issueEvent({ body: deep, number: 9 });
    const actions = plan(
      { ...e, issue: { ...e.issue, confidential: true } },
      { ...planContext(), related: [{ ref: older, tier: 2 as const }] },
    ).actions;
    expect(actions.filter((a) => a.type === 'reopenPlanning')).toEqual([{ type: 'reopenPlanning', target: older }]);
    const note = actions.find((a): a is EnsureComment => a.type === 'ensureComment' && a.target.number === 3)!;
    expect(note.body).toContain('Material change: re-review');
    expect(note.body).toContain('was filed as a confidential issue (visible to project members only)');
    expect(note.body).not.toContain('issues/9');
    expect(note.body).not.toMatch(/tier-\d/);
  });

  it('re-opens only the service’s newest earlier review, however many the service has had', () => {
    const related = [2, 3, 5, 6].map((number) => ({ ref: { repo, number }, tier: 2 as const }));
    const actions = plan(issueEvent({ body: deep, number: 9 }), { ...planContext(), related }).actions;
    expect(actions.filter((a) => a.type === 'reopenPlanning')).toEqual([{ type: 'reopenPlanning', target: { repo, number: 6 } }]);
  });

  it('an intake that already has its checklist re-opens nothing', () => {
    const ctx = { ...planContext(), related: [{ ref: { repo, number: 3 }, tier: 2 as const }] };
    expect(
      plan(issueEvent({ action: 'edited', body: withTicks(deep, []), number: 9 }), ctx).actions.some((a) => a.type === 'reopenPlanning'),
    ).toBe(false);
  });

  it('the block markers are the documented ones', () => {
    expect(withTicks('x', [])).toContain(sectionStart('planning'));
    expect(withTicks('x', [])).toContain('<!-- gatehouse:planning:end -->');
  });
});
