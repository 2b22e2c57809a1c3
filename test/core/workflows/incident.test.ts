import { describe, expect, it } from 'vitest';
import type { Action, EnsureBodySection, EnsureComment, EnsureLabels } from '../../../src/core/actions.ts';
import { INTAKE_MARKER, plan } from '../../../src/core/plan.ts';
import { policySchema } from '../../../src/core/policy/schema.ts';
import { defaultPolicyInput } from '../../../src/core/policy/default.ts';
import { INCIDENT_WORKSHEET_SECTION, incidentWorksheet } from '../../../src/core/workflows/incident.ts';
import { setChecklist, withSection, readChecklist } from '../../../src/core/workflows/sections.ts';
import { issueEvent, planContext } from '../../builders/events.ts';
import { intakeBody } from '../../builders/intake.ts';

const incident = intakeBody({ active_exploitation: 'yes' });
const worksheet = incidentWorksheet();
const total = readChecklist(worksheet).length;
const ticked = (n: number): string =>
  withSection(
    incident,
    INCIDENT_WORKSHEET_SECTION,
    setChecklist(
      worksheet,
      Array.from({ length: total }, (_, i) => i < n),
    ),
  );
const comment = (actions: Action[]): EnsureComment | undefined =>
  actions.find(
    (a): a is EnsureComment =>
      a.type === 'ensureComment' && a.marker === INTAKE_MARKER && a.body.includes('Runtime investigation worksheet'),
  );
const labels = (actions: Action[]): EnsureLabels[] =>
  actions.filter((a): a is EnsureLabels => a.type === 'ensureLabels' && [...a.add, ...a.remove].some((l) => l.startsWith('incident::')));

describe('the incident worksheet', () => {
  it('covers containment owner, the four authorities, timeline, evidence and follow-up controls', () => {
    for (const words of [
      'Containment owner',
      'isolate traffic',
      'revoke access',
      'freeze rollout',
      'approve recovery',
      'Timeline',
      'Evidence',
      'Follow-up controls',
    ])
      expect(worksheet).toContain(words);
    expect(worksheet.split('\n').filter((l) => l.startsWith('- [ ] ')).length).toBe(total);
  });

  it('an intake routed to incident gets it in the description, tracked in the intake comment (one comment)', () => {
    const actions = plan(issueEvent({ body: incident }), planContext()).actions;
    const s = actions
      .filter((a): a is EnsureBodySection => a.type === 'ensureBodySection')
      .flatMap((a) => a.sections)
      .find((x) => x.name === INCIDENT_WORKSHEET_SECTION);
    expect(s?.text).toBe(worksheet);
    expect(comment(actions)?.body).toContain(`0 of ${total} done`);
    expect(comment(actions)?.body.startsWith(INTAKE_MARKER)).toBe(true);
    expect(actions.filter((a) => a.type === 'ensureComment')).toHaveLength(1);
  });

  it('even while the intake is incomplete (exploitation routes at once)', () => {
    const actions = plan(issueEvent({ body: intakeBody({ active_exploitation: 'yes', owner: null }) }), planContext()).actions;
    expect(actions.some((a) => a.type === 'ensureBodySection' && a.sections.some((s) => s.name === INCIDENT_WORKSHEET_SECTION))).toBe(true);
  });

  it('other routes get none', () => {
    expect(comment(plan(issueEvent({ body: intakeBody({}) }), planContext()).actions)).toBeUndefined();
  });

  it('some ticked: still open, no label', () => {
    const actions = plan(issueEvent({ action: 'edited', body: ticked(3) }), planContext()).actions;
    expect(comment(actions)?.body).toContain(`3 of ${total} done`);
    expect(labels(actions)).toEqual([]);
  });

  it('all ticked: "worksheet complete" and the follow-up-done label', () => {
    const actions = plan(issueEvent({ action: 'edited', body: ticked(total) }), planContext()).actions;
    expect(comment(actions)?.body).toContain('Worksheet complete');
    // One label write for the item: the worksheet's label joins the intake's tier and route labels.
    expect(labels(actions)).toEqual([
      {
        type: 'ensureLabels',
        target: expect.anything(),
        add: ['intake::complete', 'tier::leadership', 'route::incident', 'incident::follow-up-done'],
        remove: [],
      },
    ]);
    expect(actions.filter((a) => a.type === 'ensureLabels')).toHaveLength(1);
  });

  it('one un-ticked again: the label comes off', () => {
    const actions = plan(
      issueEvent({ action: 'edited', body: ticked(total - 1), labels: ['intake', 'incident::follow-up-done'] }),
      planContext(),
    ).actions;
    expect(labels(actions)).toEqual([
      {
        type: 'ensureLabels',
        target: expect.anything(),
        add: ['intake::complete', 'tier::leadership', 'route::incident'],
        remove: ['incident::follow-up-done'],
      },
    ]);
  });

  it('the policy renames the label', () => {
    const policy = policySchema.parse({ ...defaultPolicyInput, incident: { followUpDoneLabel: 'ir::closed-out' } });
    const actions = plan(issueEvent({ action: 'edited', body: ticked(total) }), planContext({ policy })).actions;
    expect(labels(actions)).toEqual([]);
    expect(actions.some((a) => a.type === 'ensureLabels' && a.add.includes('ir::closed-out'))).toBe(true);
  });
});
