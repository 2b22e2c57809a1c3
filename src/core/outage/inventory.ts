/** The tooling inventory: which tool an issue belongs to, and what its path forward says to requesters. */
import type { Action } from '../actions.ts';
import type { IssueEvent, IssueSnapshot } from '../model.ts';
import type { Policy, Tool } from '../policy/schema.ts';
import { neutralizeMentions } from '../text.ts';

const lower = (s: string): string => s.trim().toLowerCase();

/** The inventory tool an issue is about: by its `tool::<name>` label, else by its repository. */
export function toolFor(issue: Pick<IssueSnapshot, 'labels' | 'ref'>, policy: Policy): Tool | null {
  const inventory = policy.tooling.inventory;
  const prefix = lower(policy.tooling.outageLabel).split('::')[0] + '::';
  for (const label of issue.labels.map(lower)) {
    if (!label.startsWith(prefix)) continue;
    const tool = inventory.find((t) => lower(t.name) === label.slice(prefix.length));
    if (tool) return tool;
  }
  const repo = lower(issue.ref.repo.fullName);
  return inventory.find((t) => t.repos.some((r) => lower(r) === repo)) ?? null;
}

export const FEATURE_MARKER = '<!-- gatehouse:feature-request -->';

const FEATURE_ACTIONS = new Set(['opened', 'labeled', 'reopened']);

/**
 * A feature request for a tool in `maintain` or `redirect` gets a courteous answer that feature
 * requests are not taken (and why, from the inventory); one for an `improve` tool goes to the backlog.
 */
export function planFeatureRequest(event: IssueEvent, policy: Policy, render: (view: object) => string): Action[] {
  if (!FEATURE_ACTIONS.has(event.action) || event.issue.state !== 'open') return [];
  const isFeature = event.issue.labels.some((l) => policy.tooling.featureLabels.some((f) => lower(f) === lower(l)));
  if (!isFeature) return [];
  const tool = toolFor(event.issue, policy);
  if (!tool) return [];
  const target = event.issue.ref;
  if (tool.pathForward === 'improve') {
    const has = event.issue.labels.some((l) => lower(l) === lower(policy.tooling.backlogLabel));
    return has ? [] : [{ type: 'ensureLabels', target, add: [policy.tooling.backlogLabel], remove: [] }];
  }
  if (tool.pathForward !== 'maintain' && tool.pathForward !== 'redirect') return [];
  const body = render({
    marker: FEATURE_MARKER,
    tool: tool.name,
    pathForward: tool.pathForward,
    redirect: tool.pathForward === 'redirect',
    note: neutralizeMentions(tool.note),
    owners: tool.owners.map(neutralizeMentions).join(', '),
  });
  return [{ type: 'ensureComment', target, marker: FEATURE_MARKER, body }];
}
