import type { CadencePolicy } from '../../src/core/digest/policy.ts';
import { dueDigests, type Cadence, type DigestSlot } from '../../src/core/digest/schedule.ts';

/** The latest slot of one cadence at or before `now`, whatever its age: what dueDigests gives with only that cadence on and no catch-up limit. */
export function latestSlot(cadence: Cadence, policy: CadencePolicy, tz: string, now: Date): DigestSlot {
  const on = (c: Cadence): boolean => c === cadence;
  const [slot] = dueDigests(
    {
      ...policy,
      catchUpHours: 1e9,
      weekly: { ...policy.weekly, enabled: on('weekly') },
      biweekly: { ...policy.biweekly, enabled: on('biweekly') },
      monthly: { ...policy.monthly, enabled: on('monthly') },
      quarterly: { ...policy.quarterly, enabled: on('quarterly') },
    },
    tz,
    now,
  );
  if (!slot) throw new Error(`no ${cadence} slot at ${now.toISOString()}`);
  return slot;
}
