import { describe, expect, it } from 'vitest';
import { planExceptionReminders, type RemindableException } from '../../../src/core/gate/reminders.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const DAY = 86_400_000;
const exception = (o: Partial<RemindableException> = {}): RemindableException => ({
  id: 'github:acme/app#12',
  findingRef: 'js/sql-injection',
  category: 'sast',
  scope: { repo: 'github:acme/app', paths: [] },
  status: 'approved',
  approvedBy: 'ciso',
  approvedAt: new Date(NOW.getTime() - 30 * DAY),
  expiresAt: new Date(NOW.getTime() + 3 * DAY),
  requestedBy: 'dev',
  requestedAt: new Date(NOW.getTime() - 31 * DAY),
  businessOwner: '@owner',
  compensatingControls: 'WAF rule 12',
  renewalOf: null,
  approvedDigest: null,
  remindedAt: null,
  ...o,
});
const keys = (e: RemindableException[]): string[] =>
  planExceptionReminders(e, defaultPolicy, NOW).flatMap((a) => (a.type === 'notifyChat' ? [a.key] : []));

describe('planExceptionReminders', () => {
  it.each([
    ['expiring within the reminder days, not reminded', exception(), ['exception-expiring:github:acme/app#12:2026-12-05T12:00:00.000Z']],
    ['expiring later than the reminder days', exception({ expiresAt: new Date(NOW.getTime() + 8 * DAY) }), []],
    ['already reminded before expiry', exception({ remindedAt: new Date(NOW.getTime() - DAY) }), []],
    [
      'lapsed, reminded only before',
      exception({ expiresAt: new Date(NOW.getTime() - DAY), remindedAt: new Date(NOW.getTime() - 5 * DAY) }),
      ['exception-expired:github:acme/app#12:2026-12-01T12:00:00.000Z'],
    ],
    ['lapsed and told so', exception({ expiresAt: new Date(NOW.getTime() - DAY), remindedAt: new Date(NOW.getTime() - DAY / 2) }), []],
    ['requested, not approved', exception({ status: 'requested' }), []],
    ['revoked', exception({ status: 'revoked' }), []],
  ])('%s', (_name, e, expected) => {
    expect(keys([e])).toEqual(expected);
  });

  it('names the owner, the expiry and what to do, and records the reminder', () => {
    const actions = planExceptionReminders([exception()], defaultPolicy, NOW);
    expect(actions.map((a) => a.type)).toEqual(['notifyChat', 'markExceptionReminded']);
    const n = actions[0]!;
    if (n.type !== 'notifyChat') throw new Error('expected a notice');
    expect(n.channel).toBe('#prodsec-escalations');
    expect(n.notice).toMatchObject({
      kind: 'exception-expiring',
      owner: '@owner',
      due: [{ label: 'Expires', at: '2026-12-05T12:00:00.000Z' }],
    });
    expect(n.notice.reasons.join(' ')).toContain('WAF rule 12');
  });
});
