/**
 * The `chat` section of the policy: where escalation notices go and who may act from Slack.
 *
 * ```yaml
 * chat:
 *   escalationChannel: '#prodsec-escalations'   # every notice no rule below routes elsewhere
 *   incidentChannel: '#prodsec-incidents'       # route `incident`
 *   command: /gatehouse                         # the slash command's name
 *   escalationLabel: escalated                  # put on an item escalated with /gatehouse escalate
 *   channels:                                   # first match wins; a rule names a route or kinds
 *     - { route: exception-board, channel: '#exception-board' }
 *     - { kinds: [gate-block, emergency-release], channel: '#release-gates' }
 *   readers: { groups: [S0456DEF] }                         # may /gatehouse status and queue (default: the escalators; nobody when both are empty)
 *   escalators: { users: [U0123ABC], groups: [S0456DEF] }    # may /gatehouse escalate
 *   acknowledgers: { users: [], groups: [S0456DEF] }         # may press Acknowledge / Take ownership
 *   accounts:                                   # Slack user id -> forge accounts (Take ownership)
 *     U0123ABC: { github: octocat, gitlab: octocat }
 *   sendIntervalMs: 1000                        # at most one message per channel this often
 * ```
 */
import { z } from 'zod';
import { NOTICE_KINDS, type NoticeKind } from './notice.ts';

const nonEmpty = z.string().trim().min(1);
const channel = nonEmpty.regex(/^[#A-Za-z0-9][\w.-]*$/, 'a channel is #name or a channel id');
const principals = z.object({ users: z.array(nonEmpty).default([]), groups: z.array(nonEmpty).default([]) }).strict();

export const channelRuleSchema = z
  .object({
    route: nonEmpty.optional(),
    kinds: z
      .array(z.enum(NOTICE_KINDS as [NoticeKind, ...NoticeKind[]]))
      .min(1)
      .optional(),
    channel,
  })
  .strict()
  .refine((r) => r.route !== undefined || r.kinds !== undefined, { message: 'a channel rule names a route or kinds' });

export const chatPolicySchema = z
  .object({
    escalationChannel: channel,
    incidentChannel: channel,
    command: z
      .string()
      .regex(/^\/[a-z0-9_-]+$/, 'a slash command is /name in lower case')
      .default('/gatehouse'),
    /** Put on an item escalated from chat. */
    escalationLabel: nonEmpty.default('escalated'),
    channels: z.array(channelRuleSchema).default([]),
    /**
     * May read `status` and `queue`. Nobody named (the default) means the escalators (`chat.escalators`);
     * when both are empty nobody may: Slack guests and other members never read the records by default.
     */
    readers: principals.prefault({}),
    escalators: principals.prefault({}),
    acknowledgers: principals.prefault({}),
    accounts: z.record(nonEmpty, z.object({ github: nonEmpty.optional(), gitlab: nonEmpty.optional() }).strict()).default({}),
    sendIntervalMs: z.number().int().min(0).default(1000),
  })
  .strict();

export type ChatPolicy = z.infer<typeof chatPolicySchema>;

export type ChatPrincipals = ChatPolicy['readers'];

/** Who may read `status` and `queue`: the readers the policy names, else its escalators (possibly nobody). */
export function chatReaders(chat: Pick<ChatPolicy, 'readers' | 'escalators'>): {
  who: ChatPrincipals;
  from: 'chat.readers' | 'chat.escalators' | null;
} {
  const named = (p: ChatPrincipals): boolean => p.users.length > 0 || p.groups.length > 0;
  if (named(chat.readers)) return { who: chat.readers, from: 'chat.readers' };
  if (named(chat.escalators)) return { who: chat.escalators, from: 'chat.escalators' };
  return { who: { users: [], groups: [] }, from: null };
}
