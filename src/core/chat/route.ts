/** Which channel a notice goes to: the policy's first matching channel rule, else the defaults. */
import type { Policy } from '../policy/schema.ts';
import type { NoticeKind } from './notice.ts';

export function noticeChannel(policy: Pick<Policy, 'chat'>, kind: NoticeKind, route: string | null): string {
  const { chat } = policy;
  for (const rule of chat.channels) {
    const routeOk = rule.route === undefined || (route !== null && rule.route.toLowerCase() === route.toLowerCase());
    const kindOk = rule.kinds === undefined || rule.kinds.includes(kind);
    if (routeOk && kindOk) return rule.channel;
  }
  if (route === 'incident' || kind === 'incident') return chat.incidentChannel;
  return chat.escalationChannel;
}
