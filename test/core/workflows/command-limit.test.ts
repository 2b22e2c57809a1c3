import { describe, expect, it } from 'vitest';
import { allowCommand, commandOf, commandWindowStart } from '../../../src/core/workflows/command-limit.ts';
import { parsePolicy } from '../../../src/core/policy/load.ts';

const NOW = new Date('2026-12-04T12:00:00Z');
const minutesAgo = (m: number): Date => new Date(NOW.getTime() - m * 60_000);
const limit = { max: 10, windowMinutes: 10 };

describe('allowCommand', () => {
  it.each([
    ['the first command', { sent: 1, lastLimitAuditAt: null }, { kind: 'allow' }],
    ['the tenth', { sent: 10, lastLimitAuditAt: null }, { kind: 'allow' }],
    ['the eleventh, never audited: audited', { sent: 11, lastLimitAuditAt: null }, { kind: 'limit', audit: true }],
    ['the twelfth, audited a minute ago: only counted', { sent: 12, lastLimitAuditAt: minutesAgo(1) }, { kind: 'limit', audit: false }],
    ['the thirtieth, audited 9 minutes ago: only counted', { sent: 30, lastLimitAuditAt: minutesAgo(9) }, { kind: 'limit', audit: false }],
    [
      'still over, the audit a whole window old: audited again',
      { sent: 15, lastLimitAuditAt: minutesAgo(10) },
      { kind: 'limit', audit: true },
    ],
    [
      'still over, the audit older than the window: audited again',
      { sent: 15, lastLimitAuditAt: minutesAgo(45) },
      { kind: 'limit', audit: true },
    ],
    ['under the limit again after an audit', { sent: 3, lastLimitAuditAt: minutesAgo(2) }, { kind: 'allow' }],
  ])('%s', (_name, count, expected) => {
    expect(allowCommand(count, NOW, limit)).toMatchObject(expected);
  });

  it('a limit of one command an hour', () => {
    const hourly = { max: 1, windowMinutes: 60 };
    expect(allowCommand({ sent: 1, lastLimitAuditAt: null }, NOW, hourly)).toEqual({ kind: 'allow' });
    expect(allowCommand({ sent: 2, lastLimitAuditAt: minutesAgo(59) }, NOW, hourly)).toMatchObject({ kind: 'limit', audit: false });
    expect(allowCommand({ sent: 2, lastLimitAuditAt: minutesAgo(61) }, NOW, hourly)).toMatchObject({ kind: 'limit', audit: true });
  });

  it('says why in the refusal reason', () => {
    const r = allowCommand({ sent: 11, lastLimitAuditAt: null }, NOW, limit);
    expect(r.kind === 'limit' && r.reason).toBe('11 commands within 10 minutes, more than the 10 allowed (commands.perActor): ignored');
  });

  it('the window ends at now', () => {
    expect(commandWindowStart(NOW, limit)).toEqual(minutesAgo(10));
  });
});

describe('commandOf', () => {
  it.each([
    ['/gatehouse decide build-internal', 'decide'],
    ['/gatehouse threat-decision Keep mTLS', 'threat-decision'],
    ['\n\n  /GATEHOUSE Decide adopt', 'decide'],
    ['/gatehouse\u00a0decide adopt', 'decide'],
    ['/gatehouse\tthreat-decision x\nmore', 'threat-decision'],
    ['/gatehouse', ''],
    ['/gatehouse   ', ''],
    ['/gatehouse frobnicate', 'frobnicate'],
    ['/gatehouse decide\u2028x', 'decide'],
    ['/gatehousefoo decide', null],
    ['/gatehouse-bot decide', null],
    ['Looks good.\n/gatehouse decide adopt', null],
    ['please run `/gatehouse decide`', null],
    ['', null],
  ])('%j → %j', (body, expected) => {
    expect(commandOf(body)).toBe(expected);
  });

  it('reads a long first line in linear time', () => {
    const started = performance.now();
    expect(commandOf(`/gatehouse${' '.repeat(200_000)}!`)).toBe('');
    expect(commandOf(`${' '.repeat(200_000)}x`)).toBeNull();
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('commands.perActor in the policy', () => {
  it('defaults to 10 commands within 10 minutes', () => {
    const p = parsePolicy('');
    expect(p.ok && p.policy.commands.perActor).toEqual({ max: 10, windowMinutes: 10 });
  });

  it('takes another limit, and refuses one that allows nothing', () => {
    const p = parsePolicy('commands:\n  perActor: { max: 3, windowMinutes: 60 }\n');
    expect(p.ok && p.policy.commands.perActor).toEqual({ max: 3, windowMinutes: 60 });
    const bad = parsePolicy('commands:\n  perActor: { max: 0 }\n');
    expect(bad.ok).toBe(false);
  });
});
