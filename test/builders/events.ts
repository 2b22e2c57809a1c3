/** Platform-neutral events and plan contexts for the core's tests. */
import type { IssueAction, IssueEvent, RepoRef } from '../../src/core/model.ts';
import type { PlanContext, PriorDecision } from '../../src/core/plan.ts';
import { commandAuthority } from '../../src/core/workflows/commands.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import type { Policy } from '../../src/core/policy/schema.ts';
import { createRenderer } from '../../src/render/templates.ts';

export const NOW = new Date('2026-11-20T10:00:00Z');

export const repo: RepoRef = { platform: 'github', fullName: 'acme/security-requests', id: 4242, defaultBranch: 'main' };

export function issueEvent({
  action = 'opened',
  body,
  labels = ['intake'],
  state = 'open',
  number = 7,
  title = 'Security review: payments-api',
  label,
}: {
  action?: IssueAction;
  body: string;
  labels?: string[];
  state?: 'open' | 'closed';
  number?: number;
  title?: string;
  label?: string;
}): IssueEvent {
  return {
    kind: 'issue',
    action,
    deliveryId: `delivery-${number}-${action}`,
    actor: { login: 'requester', isBot: false },
    ...(label === undefined ? {} : { label }),
    issue: {
      ref: { repo, number },
      title,
      body,
      labels,
      state,
      author: { login: 'requester', isBot: false },
      assignees: [],
      url: `https://github.com/${repo.fullName}/issues/${number}`,
      createdAt: '2026-11-20T09:00:00Z',
    },
  };
}

const render = createRenderer();

export function planContext({
  history = [],
  policy = defaultPolicy,
  now = NOW,
  policyWarnings = [],
}: {
  history?: PriorDecision[];
  policy?: Policy;
  now?: Date;
  policyWarnings?: string[];
} = {}): PlanContext {
  return { policy, policySource: 'built-in default', policyWarnings, now, render, history, authority: commandAuthority(policy) };
}
