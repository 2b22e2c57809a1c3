/**
 * Exception expiry, on a schedule: an approved exception that expires within the policy's reminder
 * days gets one `exception-expiring` notice (its business owner and requester named) before it
 * lapses, whether or not a release is being evaluated; one that has lapsed gets one notice saying
 * the gate blocks again. Pure: the stored exceptions in, the actions out.
 */
import type { Action } from '../actions.ts';
import { noticeChannel } from '../chat/route.ts';
import type { Policy } from '../policy/schema.ts';
import type { GateException } from './exceptions.ts';

const DAY_MS = 86_400_000;

export interface RemindableException extends GateException {
  remindedAt: Date | null;
}

export function planExceptionReminders(exceptions: readonly RemindableException[], policy: Policy, now: Date): Action[] {
  const soon = now.getTime() + policy.gate.exceptions.reminderDays * DAY_MS;
  const actions: Action[] = [];
  for (const e of exceptions) {
    if (e.status !== 'approved' || e.expiresAt.getTime() > soon) continue;
    const expired = e.expiresAt.getTime() <= now.getTime();
    // One reminder before expiry, and one more once it has lapsed (the reminder was before expiry).
    const remindedForThis = e.remindedAt !== null && (expired ? e.remindedAt.getTime() >= e.expiresAt.getTime() : true);
    if (remindedForThis) continue;
    const kind = 'exception-expiring';
    const when = expired ? 'expired' : 'expires soon';
    actions.push(
      {
        type: 'notifyChat',
        key: `exception-${expired ? 'expired' : 'expiring'}:${e.id}:${e.expiresAt.toISOString()}`,
        channel: noticeChannel(policy, kind, 'exception-board'),
        text: `Exception ${e.id} ${when} (${e.expiresAt.toISOString()}): ${e.findingRef} in ${e.scope.repo}`,
        notice: {
          kind,
          title: `Exception ${when}: ${e.findingRef} in ${e.scope.repo}`,
          reasons: [
            expired
              ? 'The waiver has lapsed: the next evaluation of a release it covered blocks again'
              : `It lapses at ${e.expiresAt.toISOString()}; after that the gate blocks again`,
            `Compensating controls: ${e.compensatingControls || '(none stated)'}`,
            'Renew it (a new exception request naming this one) or fix the finding',
          ],
          severity: e.category,
          owner: e.businessOwner,
          due: [{ label: expired ? 'Expired' : 'Expires', at: e.expiresAt.toISOString() }],
          url: null,
          labels: [],
          route: 'exception-board',
          itemKey: e.id,
        },
      },
      { type: 'markExceptionReminded', id: e.id, at: now },
    );
  }
  return actions;
}
