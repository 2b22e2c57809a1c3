/** The shapes Gatehouse reads from Slack, checked with zod at the edge: Web API answers (web.ts) and the requests the ingress accepts (ingress.ts). */
import { z } from 'zod';

// Web API answers.
export const postedSchema = z.object({ ok: z.literal(true), channel: z.string(), ts: z.string() });

export const membersSchema = z.object({ ok: z.literal(true), users: z.array(z.string()).default([]) });

export const nextCursor = z.object({ next_cursor: z.string().optional() }).optional();

export const historySchema = z.object({
  ok: z.literal(true),
  messages: z
    .array(
      z.object({
        ts: z.string(),
        metadata: z.object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() }).optional(),
      }),
    )
    .default([]),
  response_metadata: nextCursor,
});

export const channelsSchema = z.object({
  ok: z.literal(true),
  channels: z.array(z.object({ id: z.string(), name: z.string().optional() })).default([]),
  response_metadata: nextCursor,
});

// Requests: slash commands and block actions (interactivity).
export const commandSchema = z.object({
  command: z.string(),
  text: z.string().default(''),
  user_id: z.string().min(1),
  user_name: z.string().default(''),
  team_id: z.string().optional(),
  channel_id: z.string().optional(),
  response_url: z.string().optional(),
  trigger_id: z.string().optional(),
});

export const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string(), username: z.string().optional(), name: z.string().optional() }),
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional(), action_ts: z.string().optional() })).min(1),
});

/** The Approve button's value (blocks.ts `approveValue`): the notice and the digest of the terms it showed. */
export const approveValueSchema = z.object({ notice: z.string().min(1), terms: z.string().nullable() });
