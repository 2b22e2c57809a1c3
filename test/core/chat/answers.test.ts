import { describe, expect, it } from 'vitest';
import { queueAnswer, statusAnswer, type StatusView } from '../../../src/core/chat/answers.ts';
import type { ClockState } from '../../../src/core/outage/clocks.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';
import { noticeChannel } from '../../../src/core/chat/route.ts';
import { parsePolicy } from '../../../src/core/policy/load.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const item = {
  platform: 'github' as const,
  fullName: 'acme/app',
  number: 7,
  kind: 'issue' as const,
  url: 'https://github.com/acme/app/issues/7',
};
const clock = (o: Partial<ClockState>): ClockState => ({
  kind: 'slo',
  criticality: 'critical',
  targetMinutes: 240,
  openedAt: new Date('2026-12-02T09:00:00Z'),
  consumedMinutes: 0,
  runningSince: new Date('2026-12-02T09:00:00Z'),
  stopped: false,
  warnAt: new Date('2026-12-02T12:00:00Z'),
  dueAt: new Date('2026-12-02T13:00:00Z'),
  warnedAt: null,
  breachedAt: null,
  tool: null,
  ...o,
});
const empty: StatusView = { item, intake: null, decision: null, clocks: [], gate: null, escalations: [] };

describe('statusAnswer', () => {
  it('says when Gatehouse has no record', () => {
    expect(statusAnswer(empty, defaultPolicy, NOW)).toContain('Gatehouse has no record of acme/app#7');
  });

  it('names tier, route, reasons, clocks with due times and state, and the gate verdict', () => {
    const text = statusAnswer(
      {
        ...empty,
        intake: { complete: true, problems: [], service: 'payments', owner: '@alice' },
        decision: {
          tier: 3,
          routes: ['incident'],
          reasons: [{ rule: 'active-exploitation', summary: 'Suspected active exploitation' }],
          decidedAt: NOW,
        },
        clocks: [clock({}), clock({ kind: 'rto', breachedAt: new Date('2026-12-02T11:00:00Z') })],
        gate: { verdict: 'block', releaseClass: 'high-risk', decidedAt: NOW },
      },
      defaultPolicy,
      NOW,
    );
    expect(text).toContain('Tier: Tier 3 (leadership) · route: incident');
    expect(text).toContain('Suspected active exploitation');
    expect(text).toContain('SLO (response) · critical: at risk, due 2026-12-02 13:00 UTC');
    expect(text).toContain('RTO (recovery) · critical: breached 2026-12-02 11:00 UTC');
    expect(text).toContain('Release gate: block (high-risk)');
  });
});

describe('queueAnswer', () => {
  it('groups open intake by tier, oldest first, and lists clocks at risk or breached and open escalations', () => {
    const text = queueAnswer(
      {
        intakes: [
          { key: 'github:a/b#2', tier: 2, complete: true, service: 'new', since: new Date('2026-12-01T12:00:00Z') },
          { key: 'github:a/b#1', tier: 2, complete: true, service: 'old', since: new Date('2026-11-20T12:00:00Z') },
          { key: 'github:a/b#3', tier: null, complete: false, service: null, since: NOW },
        ],
        clocks: [
          { key: 'github:t/x#1', clocks: [clock({})] },
          { key: 'github:t/x#2', clocks: [clock({ warnAt: new Date('2026-12-02T15:00:00Z') })] },
        ],
        escalations: [
          {
            key: 'k',
            kind: 'incident',
            title: 'Tokens leaking',
            channel: '#prodsec-incidents',
            createdAt: new Date('2026-12-02T10:00:00Z'),
          },
        ],
      },
      defaultPolicy,
      NOW,
    );
    expect(text).toContain('Open intake: 3');
    expect(text.indexOf('github:a/b#1')).toBeLessThan(text.indexOf('github:a/b#2'));
    expect(text).toContain('github:a/b#1 (old) · 12d old');
    expect(text).toContain('Incomplete intake: 1');
    expect(text).toContain('Clocks at risk or breached: 1');
    expect(text).toContain('github:t/x#1');
    expect(text).not.toContain('github:t/x#2');
    expect(text).toContain('Open escalations: 1');
    expect(text).toContain('Tokens leaking (incident, #prodsec-incidents) · 2h old');
  });
});

describe('noticeChannel', () => {
  it('routes by the policy rules, first match wins, else the defaults', () => {
    const r = parsePolicy(
      "chat:\n  channels:\n    - { route: exception-board, channel: '#exceptions' }\n    - { kinds: [gate-block, emergency-release], channel: '#release-gates' }\n",
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(noticeChannel(r.policy, 'manual', 'exception-board')).toBe('#exceptions');
    expect(noticeChannel(r.policy, 'gate-block', null)).toBe('#release-gates');
    expect(noticeChannel(r.policy, 'incident', 'incident')).toBe('#prodsec-incidents');
    expect(noticeChannel(r.policy, 'slo-breached', null)).toBe('#prodsec-escalations');
  });

  it('refuses a channel rule that names neither a route nor kinds, or an unknown kind', () => {
    const r = parsePolicy("chat:\n  channels:\n    - { channel: '#x' }\n    - { kinds: [bogus], channel: '#y' }\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toEqual(['chat.channels[0]', 'chat.channels[1].kinds[0]']);
  });
});
