/**
 * Slack work between the ingress (adapters/slack/ingress.ts), which verifies a request and queues
 * it, and ChatOps (jobs/chat-ops.ts), which carries it out and answers the read-only commands.
 */
import { z } from 'zod';
import type { parseCommand } from '../core/chat/command.ts';

/** Read-only answers, computed from stored records. */
export interface SlackReader {
  status(item: Extract<ReturnType<typeof parseCommand>, { kind: 'status' }>['item'], userId: string): Promise<string>;
  queue(userId: string): Promise<string>;
}

/** What the worker receives for a Slack request it must carry out. */
export const slackWorkSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('escalate'),
    text: z.string(),
    userId: z.string(),
    userName: z.string(),
    teamId: z.string().nullable(),
    channelId: z.string().nullable(),
    responseUrl: z.string().nullable(),
    requestId: z.string(),
  }),
  z.object({
    type: z.enum(['acknowledge', 'take-ownership', 'approve-exception']),
    noticeKey: z.string(),
    /** Approve exception: the digest of the terms the clicked notice showed (null: it showed none). */
    terms: z.string().nullable().optional(),
    userId: z.string(),
    userName: z.string(),
    responseUrl: z.string().nullable(),
    requestId: z.string(),
  }),
]);
export type SlackWork = z.infer<typeof slackWorkSchema>;
