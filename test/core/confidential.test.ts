/** A confidential issue's chat notices carry what Gatehouse decided, never what people wrote. */
import { describe, expect, it } from 'vitest';
import type { Action, NotifyChat } from '../../src/core/actions.ts';
import { CONFIDENTIAL_ANSWER, CONFIDENTIAL_REASON, isConfidentialRecord, withholdConfidential } from '../../src/core/chat/confidential.ts';
import { plan } from '../../src/core/plan.ts';
import type { IssueEvent } from '../../src/core/model.ts';
import { issueEvent, planContext } from '../builders/events.ts';
import { intakeBody } from '../builders/intake.ts';

const TITLE = 'Payments ledger token found in public bucket';
const SERVICE = 'ledger-vault';
const OWNER = '@mallory';
const REASON = 'Keys of the ledger leaked through a misconfigured bucket';

const notices = (actions: Action[]): NotifyChat[] => actions.filter((a): a is NotifyChat => a.type === 'notifyChat');

function event(confidential: boolean): IssueEvent {
  const e = issueEvent({
    title: TITLE,
    body: intakeBody({
      active_exploitation: 'yes',
      blast_radius: 'multiple products or trust domains',
      service: SERVICE,
      owner: OWNER,
      reason: REASON,
    }),
  });
  return confidential ? { ...e, issue: { ...e.issue, confidential: true } } : e;
}

describe('notices of a confidential issue', () => {
  it('a public issue: the notice names the title, the service and the owner (what the confidential one leaves out)', () => {
    const [n] = notices(plan(event(false), planContext()).actions);
    expect(JSON.stringify(n)).toContain(TITLE);
    expect(JSON.stringify(n)).toContain(SERVICE);
    expect(n?.notice.owner).toBe(OWNER);
  });

  it('a confidential issue: the same notice, channel, key, tier, labels, route and link, without its title, answers or owner', () => {
    const open = notices(plan(event(false), planContext()).actions);
    const closed = notices(plan(event(true), planContext()).actions);
    expect(closed).toHaveLength(open.length);
    expect(closed.length).toBeGreaterThan(0);
    for (const [i, n] of closed.entries()) {
      const text = JSON.stringify(n);
      for (const secret of [TITLE, SERVICE, OWNER, REASON, 'ledger']) expect(text).not.toContain(secret);
      expect(n).toEqual({
        ...open[i]!,
        text: `Confidential issue acme/security-requests#7 (${open[i]!.notice.kind}, ${open[i]!.notice.severity}) — https://github.com/acme/security-requests/issues/7`,
        notice: { ...open[i]!.notice, title: 'Confidential issue acme/security-requests#7', reasons: [CONFIDENTIAL_REASON], owner: null },
      });
    }
    expect(closed.map((n) => n.channel)).toContain('#prodsec-incidents');
    expect(closed[0]!.notice.labels).toContain('route::incident');
  });

  it('everything else planned for it is unchanged (its labels and comment stay on the issue); its intake record is marked confidential', () => {
    const others = (a: Action): boolean => a.type !== 'notifyChat' && a.type !== 'saveIntake';
    const open = plan(event(false), planContext()).actions;
    const closed = plan(event(true), planContext()).actions;
    expect(closed.filter(others)).toEqual(open.filter(others));
    const saved = (actions: Action[]) => actions.find((a): a is Extract<Action, { type: 'saveIntake' }> => a.type === 'saveIntake')!.record;
    expect(saved(closed)).toEqual({ ...saved(open), answers: { ...saved(open).answers, [CONFIDENTIAL_ANSWER]: 'yes' } });
    expect(isConfidentialRecord(saved(closed).answers)).toBe(true);
    expect(isConfidentialRecord(saved(open).answers)).toBe(false);
  });

  it('leaves the actions of a public issue as they are', () => {
    const actions = plan(event(false), planContext()).actions;
    expect(withholdConfidential(event(false).issue, actions)).toBe(actions);
  });
});
