/**
 * The runtime investigation worksheet of an intake routed to incident: a checklist Gatehouse
 * keeps in the issue description, tracked in the intake comment. When every item is ticked the
 * follow-ups are done: the comment says so and the follow-up-done label is added.
 */
import type { Action } from '../actions.ts';
import type { IssueEvent } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import type { TierDecision } from '../routing/classify.ts';
import { readChecklist, readSection } from './sections.ts';

export const INCIDENT_WORKSHEET_SECTION = 'incident-worksheet';

export interface WorksheetGroup {
  heading: string;
  items: string[];
}

export const INCIDENT_WORKSHEET: readonly WorksheetGroup[] = [
  {
    heading: 'Containment and authority',
    items: [
      'Containment owner named (one person who runs the response)',
      'Who can isolate traffic is named and reachable',
      'Who can revoke access (sessions, tokens, keys) is named and reachable',
      'Who can freeze rollout (deploys, feature flags) is named and reachable',
      'Who can approve recovery is named',
    ],
  },
  { heading: 'Timeline', items: ['Timeline recorded: first signal, detection, containment, eradication, recovery (times in UTC)'] },
  {
    heading: 'Evidence',
    items: [
      'Evidence preserved: logs, snapshots, indicators of compromise, with where they are kept',
      'Affected data, tenants and customers assessed',
    ],
  },
  {
    heading: 'Follow-up controls',
    items: ['Follow-up controls filed as issues and linked here', 'Post-incident review held and lessons recorded'],
  },
];

const itemCount = INCIDENT_WORKSHEET.reduce((n, g) => n + g.items.length, 0);

/** The worksheet as Gatehouse writes it into the description. */
export function incidentWorksheet(): string {
  const groups = INCIDENT_WORKSHEET.flatMap((g) => [`**${g.heading}**`, ...g.items.map((i) => `- [ ] ${i}`), '']);
  return [
    '### Runtime investigation worksheet (Gatehouse)',
    '',
    'Tick each item when it is done; Gatehouse tracks the follow-ups.',
    '',
    ...groups,
  ]
    .join('\n')
    .trim();
}

export interface WorksheetInput {
  event: IssueEvent;
  decision: TierDecision;
  policy: Policy;
  render: (name: 'comments/incident-worksheet.md', view: object) => string;
}

/**
 * The worksheet on one event: its writes, and its status (a part of the intake comment, which the
 * intake's own plan renders), or null when the issue has no worksheet.
 */
export interface WorksheetPlan {
  actions: Action[];
  status: string | null;
}

export function planIncidentWorksheet({ event, decision, policy, render }: WorksheetInput): WorksheetPlan {
  const target = event.issue.ref;
  const section = readSection(event.issue.body, INCIDENT_WORKSHEET_SECTION);
  const label = policy.incident.followUpDoneLabel;
  const status = (done: number, total: number): string =>
    render('comments/incident-worksheet.md', {
      done,
      total,
      complete: total > 0 && done === total,
      label,
      groups: INCIDENT_WORKSHEET,
    });
  if (section === null) {
    if (!decision.routes.includes(policy.incident.route)) return { actions: [], status: null };
    return {
      actions: [{ type: 'ensureBodySection', target, sections: [{ name: INCIDENT_WORKSHEET_SECTION, text: incidentWorksheet() }] }],
      status: status(0, itemCount),
    };
  }
  const items = readChecklist(section);
  const done = items.filter((i) => i.checked).length;
  const complete = items.length > 0 && done === items.length;
  const has = event.issue.labels.some((l) => l.trim().toLowerCase() === label.trim().toLowerCase());
  const actions: Action[] = [];
  if (complete && !has) actions.push({ type: 'ensureLabels', target, add: [label], remove: [] });
  if (!complete && has) actions.push({ type: 'ensureLabels', target, add: [], remove: [label] });
  return { actions, status: status(done, items.length) };
}
