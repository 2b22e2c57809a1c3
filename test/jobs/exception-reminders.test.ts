/** Exception expiry reminders on a schedule, from the stored register, through the outbox. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { startTestGatehouse } from '../support/harness.ts';

const DAY = 86_400_000;
let clock = new Date('2026-12-02T12:00:00Z');
let gatehouse: Gatehouse;

beforeEach(async () => {
  clock = new Date('2026-12-02T12:00:00Z');
  gatehouse = await startTestGatehouse({}, { now: () => clock, clockTickMs: 0 });
});
afterEach(async () => {
  await gatehouse.close();
});

describe('exception reminders', () => {
  it('reminds once before expiry and once when it lapses, whether or not a release is evaluated', async () => {
    await gatehouse.gateStore.saveException({
      id: 'github:acme/app#12',
      findingRef: 'js/sql-injection',
      category: 'sast',
      scope: { repo: 'github:acme/app', paths: [] },
      status: 'approved',
      approvedBy: 'ciso',
      approvedAt: new Date(clock.getTime() - 30 * DAY),
      approvedDigest: null,
      expiresAt: new Date(clock.getTime() + 10 * DAY),
      requestedBy: 'dev',
      requestedAt: new Date(clock.getTime() - 31 * DAY),
      businessOwner: '@owner',
      compensatingControls: 'WAF rule 12',
      renewalOf: null,
    });
    expect(await gatehouse.reminders.tick()).toBe(0);
    clock = new Date(clock.getTime() + 4 * DAY); // 6 days left: within the default 7
    expect(await gatehouse.reminders.tick()).toBe(1);
    expect(await gatehouse.reminders.tick()).toBe(0);
    clock = new Date(clock.getTime() + 7 * DAY); // lapsed
    expect(await gatehouse.reminders.tick()).toBe(1);
    expect(await gatehouse.reminders.tick()).toBe(0);
    const keys = (await gatehouse.outbox.openEscalations(100)).map((n) => n.key);
    expect(keys).toEqual([
      'exception-expiring:github:acme/app#12:2026-12-12T12:00:00.000Z',
      'exception-expired:github:acme/app#12:2026-12-12T12:00:00.000Z',
    ]);
    const row = await gatehouse.outbox.get(keys[0]!);
    expect(row?.notice).toMatchObject({ kind: 'exception-expiring', owner: '@owner' });
  });
});
