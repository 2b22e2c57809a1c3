/**
 * Slack on the shared server: `POST /slack/events` takes slash commands, interactivity (buttons)
 * and Events API requests. Our receiver checks the signature on the raw body and the timestamp
 * (both directions) before anything is parsed, then hands the request to Bolt, whose listeners
 * acknowledge within Slack's 3 seconds:
 *
 * - `help`, `status`, `queue` and typos are read-only: answered in the acknowledgement itself,
 *   visible only to the asker.
 * - `escalate` and the notice buttons change things: the request is stored in the inbox (durable,
 *   deduplicated on Slack's trigger id) and acknowledged; the worker does the work and answers
 *   through the request's response_url.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App } from '@slack/bolt';
import type { Logger } from 'pino';
import { helpText, parseCommand, type Hosts } from '../../core/chat/command.ts';
import type { SlackReader, SlackWork } from '../../ports/chat-work.ts';
import type { Inbox } from '../../ports/queue.ts';
import { BodyTimeout, BodyTooLarge, ByteBudget, ClientGone, readBody, refuse } from '../http/body.ts';
import { RefusalLog } from '../http/refusal-log.ts';
import type { Metrics } from '../../ports/metrics.ts';
import { ACK_ACTION, APPROVE_ACTION, OWN_ACTION, escapeSlack } from './blocks.ts';
import { approveValueSchema, blockActionsSchema, commandSchema } from './schema.ts';
import { verifySlackRequest } from './verify.ts';

type BoltApp = InstanceType<typeof App>;
type ReceiverEvent = Parameters<BoltApp['processEvent']>[0];

const SLACK_TYPES = new Set(['application/x-www-form-urlencoded', 'application/json']);

/**
 * A Slack body that could not be read: too large (`tooLarge`'s status; its error or the limit), no room in the
 * unverified budget in time (503), too slow (408, connection cut), or the client gone (nothing to
 * answer). Anything else is a fault of ours and is thrown.
 */
function unread(req: IncomingMessage, res: ServerResponse, err: unknown, tooLarge: { status: number; error?: string }): void {
  if (err instanceof BodyTooLarge) return refuse(req, res, tooLarge.status, { error: tooLarge.error ?? err.message });
  if (err instanceof BodyTimeout && err.reason === 'budget')
    return refuse(req, res, 503, { error: 'too many unverified requests in flight; retry later' }, { headers: { 'retry-after': '5' } });
  if (err instanceof BodyTimeout) {
    refuse(req, res, 408, { error: err.message });
    req.socket.destroy();
    return;
  }
  if (err instanceof ClientGone) return;
  throw err;
}

export interface SlackIngressOptions {
  signingSecret: string;
  botToken: string;
  /** The slash command's name (policy chat.command). */
  command: string;
  hosts: Hosts;
  inbox: Inbox;
  reader: SlackReader;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Largest body read (Slack's requests are small). Default 1 MiB. */
  maxBodyBytes?: number;
  /** The bound on unverified bytes in flight, shared with the other routes (default: 8 MiB for this route). */
  unauthenticated?: ByteBudget;
  /** How long an unverified body may take to arrive whole, waits for room in that bound included (default 10 s). */
  bodyDeadlineMs?: number;
  /** When a listener has not acknowledged, answer this long after the request arrived. Default 2500 ms. */
  ackDeadlineMs?: number;
  /** A read-only answer that takes longer is sent later through response_url. Default 2000 ms. */
  answerBudgetMs?: number;
  /** Posts a later answer to a response_url (tests and the worker share it). */
  respond: (responseUrl: string, text: string) => Promise<void>;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32);

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The Approve button's value (blocks.ts `approveValue`); a bare notice key (an older message) carries no terms. */
function approveTarget(value: string): { noticeKey: string; terms: string | null } {
  try {
    const v = approveValueSchema.parse(JSON.parse(value));
    return { noticeKey: v.notice, terms: v.terms };
  } catch {
    return { noticeKey: value, terms: null };
  }
}

/** An ephemeral answer: only the asker sees it; the text is escaped, so nothing in it pings or links. */
export const ephemeral = (text: string): { response_type: 'ephemeral'; text: string } => ({
  response_type: 'ephemeral',
  text: escapeSlack(text),
});

/** Bolt's logger interface over pino. */
function boltLogger(logger: Logger): NonNullable<ConstructorParameters<typeof App>[0]>['logger'] {
  const log = logger.child({ component: 'slack' });
  return {
    debug: (...m: unknown[]) => log.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => log.debug(m.map(String).join(' ')),
    warn: (...m: unknown[]) => log.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => log.error(m.map(String).join(' ')),
    setLevel: () => undefined,
    getLevel: () => 'info' as never,
    setName: () => undefined,
  };
}

export interface SlackIngress {
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export function createSlackIngress(opts: SlackIngressOptions): SlackIngress {
  const { metrics, logger } = opts;
  const max = opts.maxBodyBytes ?? 1024 * 1024;
  const budget = opts.unauthenticated ?? new ByteBudget(8 * 1024 * 1024);
  // A receiver of our own: Bolt's HTTPReceiver refuses only old timestamps, and reads the body itself.
  const receiver = { init: () => undefined, start: async () => undefined, stop: async () => undefined };
  const app = new App({
    receiver,
    authorize: async () => ({ botToken: opts.botToken }),
    logger: boltLogger(logger),
    ignoreSelf: false,
  });
  app.error(async (err) => {
    logger.error({ err: err.message }, 'Slack listener failed');
  });

  const accept = async (work: SlackWork, eventName: string): Promise<void> => {
    await opts.inbox.accept({
      platform: 'slack',
      deliveryId: `${eventName}:${work.requestId}`,
      eventName,
      payload: JSON.stringify(work),
      receivedAt: opts.now(),
    });
  };

  app.command(opts.command, async ({ command, ack }) => {
    const parsed = commandSchema.safeParse(command);
    if (!parsed.success) {
      metrics.slackRequests.inc({ kind: 'command', outcome: 'invalid' });
      await ack(ephemeral('Gatehouse could not read this command (missing user).'));
      return;
    }
    const c = parsed.data;
    const asked = parseCommand(c.text, opts.command, opts.hosts);
    switch (asked.kind) {
      case 'help':
        metrics.slackRequests.inc({ kind: 'command', outcome: 'help' });
        return ack(ephemeral(helpText(opts.command)));
      case 'invalid':
        metrics.slackRequests.inc({ kind: 'command', outcome: 'invalid' });
        return ack(ephemeral(asked.message));
      case 'status':
      case 'queue': {
        const answer = asked.kind === 'status' ? opts.reader.status(asked.item, c.user_id) : opts.reader.queue(c.user_id);
        const timeout = new Promise<null>((r) => setTimeout(() => r(null), opts.answerBudgetMs ?? 2000).unref());
        const fast = await Promise.race([answer, timeout]).catch((err: unknown) => {
          logger.error({ err }, `Slack ${asked.kind} failed`);
          return `Gatehouse could not read its records just now (${err instanceof Error ? err.message : 'error'}). Try again in a moment.`;
        });
        metrics.slackRequests.inc({ kind: 'command', outcome: asked.kind });
        if (fast !== null) return ack(ephemeral(fast));
        // Slow: acknowledge now, answer when ready.
        await ack(ephemeral(`Looking that up…`));
        const url = c.response_url;
        void answer
          .then((text) => (url ? opts.respond(url, text) : undefined))
          .catch((err: unknown) => logger.error({ err }, 'late Slack answer failed'));
        return;
      }
      case 'escalate': {
        const requestId = c.trigger_id ?? sha(`${c.user_id}:${c.text}:${opts.now().toISOString()}`);
        await accept(
          {
            type: 'escalate',
            text: c.text,
            userId: c.user_id,
            userName: c.user_name,
            teamId: c.team_id ?? null,
            channelId: c.channel_id ?? null,
            responseUrl: c.response_url ?? null,
            requestId,
          },
          'slash_command',
        );
        metrics.slackRequests.inc({ kind: 'command', outcome: 'escalate' });
        return ack(ephemeral(`Escalating ${asked.item.url}… Gatehouse will confirm here.`));
      }
    }
  });

  // Another command pointed at this URL (a renamed command, a copy-pasted manifest).
  app.command(/.*/, async ({ command, ack }) => {
    if (command.command === opts.command) return;
    metrics.slackRequests.inc({ kind: 'command', outcome: 'unknown' });
    await ack(ephemeral(`Gatehouse answers ${opts.command}, not ${command.command}. Try \`${opts.command} help\`.`));
  });

  const actionIds = { acknowledge: ACK_ACTION, 'take-ownership': OWN_ACTION, 'approve-exception': APPROVE_ACTION } as const;
  const onButton =
    (type: keyof typeof actionIds) =>
    async ({ ack, body }: { ack: () => Promise<void>; body: unknown }): Promise<void> => {
      await ack();
      const parsed = blockActionsSchema.safeParse(body);
      const action = parsed.success ? parsed.data.actions.find((a) => a.action_id === actionIds[type]) : undefined;
      if (!parsed.success || !action?.value) {
        metrics.slackRequests.inc({ kind: 'action', outcome: 'invalid' });
        logger.warn('Slack button without a notice key; ignored');
        return;
      }
      const p = parsed.data;
      const requestId = p.trigger_id ?? sha(`${p.user.id}:${action.value}:${action.action_ts ?? ''}`);
      const { noticeKey, terms } = type === 'approve-exception' ? approveTarget(action.value) : { noticeKey: action.value, terms: null };
      await accept(
        {
          type,
          noticeKey,
          ...(type === 'approve-exception' ? { terms } : {}),
          userId: p.user.id,
          userName: p.user.username ?? p.user.name ?? p.user.id,
          responseUrl: p.response_url ?? null,
          requestId,
        },
        'block_actions',
      );
      metrics.slackRequests.inc({ kind: 'action', outcome: type });
    };
  app.action(ACK_ACTION, onButton('acknowledge'));
  app.action(OWN_ACTION, onButton('take-ownership'));
  app.action(APPROVE_ACTION, onButton('approve-exception'));
  // The Open button is a link: nothing to do but acknowledge.
  app.action('gatehouse_open', async ({ ack }) => ack());

  const refusals = new RefusalLog(logger, 'Slack request refused');
  const unauthorized = (req: IncomingMessage, res: ServerResponse, reason: string): void => {
    metrics.slackRequests.inc({ kind: 'unknown', outcome: 'unauthorized' });
    refusals.note(reason);
    refuse(req, res, 401, { error: reason });
  };
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Slack signs every request: without the signature and its timestamp, nothing is read.
    if (req.headers['x-slack-signature'] === undefined || req.headers['x-slack-request-timestamp'] === undefined)
      return unauthorized(req, res, 'missing X-Slack-Signature or X-Slack-Request-Timestamp');
    if (
      !SLACK_TYPES.has(
        String(req.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase(),
      )
    ) {
      return refuse(req, res, 415, { error: 'Slack sends application/x-www-form-urlencoded or application/json' });
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, max, { budget, deadlineMs: opts.bodyDeadlineMs ?? 10_000 });
    } catch (err) {
      return unread(req, res, err, { status: 413 });
    }
    const verified = verifySlackRequest(req.headers, raw, opts.signingSecret, opts.now().getTime());
    if (!verified.ok) return unauthorized(req, res, verified.reason);
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    let body: Record<string, unknown>;
    try {
      if (type === 'application/x-www-form-urlencoded') {
        const form = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
        body = typeof form['payload'] === 'string' ? (JSON.parse(form['payload']) as Record<string, unknown>) : form;
      } else if (type === 'application/json') {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } else {
        return send(res, 415, { error: 'Slack sends application/x-www-form-urlencoded or application/json' });
      }
    } catch {
      return send(res, 400, { error: 'body is not valid form data or JSON' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return send(res, 400, { error: 'body is not an object' });
    if (body['ssl_check'] === '1') return send(res, 200, '');
    if (body['type'] === 'url_verification' && typeof body['challenge'] === 'string')
      return send(res, 200, { challenge: body['challenge'] });
    const retryNum = Number(req.headers['x-slack-retry-num'] ?? 0) || undefined;
    if (body['type'] === 'event_callback') {
      // Events are acknowledged at once; Gatehouse subscribes to none that needs work today.
      metrics.slackRequests.inc({ kind: 'event', outcome: retryNum ? 'retry' : 'ignored' });
      return send(res, 200, '');
    }

    let acked = false;
    const ack = async (response?: unknown): Promise<void> => {
      if (acked) return;
      acked = true;
      if (response === undefined || response === '') send(res, 200, '');
      else send(res, 200, typeof response === 'string' ? ephemeral(response) : response);
    };
    // Slack gives up after 3 s: whatever a listener does, the request is acknowledged in time.
    const deadline = setTimeout(() => {
      if (!acked) {
        logger.warn('Slack request not acknowledged by a listener in time; acknowledged empty');
        void ack();
      }
    }, opts.ackDeadlineMs ?? 2500);
    const event: ReceiverEvent = {
      body,
      ack,
      retryNum,
      retryReason: typeof req.headers['x-slack-retry-reason'] === 'string' ? req.headers['x-slack-retry-reason'] : undefined,
    };
    try {
      await app.processEvent(event);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'Slack request failed');
      if (!acked) await ack(ephemeral('Gatehouse hit an error handling this; nothing was changed. Try again, or check its log.'));
    } finally {
      clearTimeout(deadline);
      if (!acked) await ack();
    }
  };
  return { handler };
}

export interface SlackUrlCheckOptions {
  signingSecret: string;
  /** What every other request is answered (503): why Slack is not on yet. */
  reason: string;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  unauthenticated?: ByteBudget;
}

/**
 * `/slack/events` while only the signing secret is set: Slack's `url_verification` (and
 * `ssl_check`), signed, are answered so that the app can be created in the order Slack's set-up
 * takes; every other request gets 503 with the reason, and an unsigned one 401.
 */
export function createSlackUrlCheck(opts: SlackUrlCheckOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const max = 64 * 1024;
  const budget = opts.unauthenticated ?? new ByteBudget(1024 * 1024);
  const refusals = new RefusalLog(opts.logger, 'Slack request refused');
  return async (req, res) => {
    if (req.headers['x-slack-signature'] === undefined || req.headers['x-slack-request-timestamp'] === undefined) {
      refusals.note('missing X-Slack-Signature or X-Slack-Request-Timestamp');
      return refuse(req, res, 401, { error: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' });
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, max, { budget, deadlineMs: 10_000 });
    } catch (err) {
      return unread(req, res, err, { status: 503, error: opts.reason });
    }
    const verified = verifySlackRequest(req.headers, raw, opts.signingSecret, opts.now().getTime());
    if (!verified.ok) {
      opts.metrics.slackRequests.inc({ kind: 'unknown', outcome: 'unauthorized' });
      refusals.note(verified.reason);
      return refuse(req, res, 401, { error: verified.reason });
    }
    let body: unknown = null;
    try {
      const text = raw.toString('utf8');
      body = String(req.headers['content-type'] ?? '').startsWith('application/json')
        ? JSON.parse(text)
        : Object.fromEntries(new URLSearchParams(text));
    } catch {
      body = null;
    }
    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    if (fields['type'] === 'url_verification' && typeof fields['challenge'] === 'string') {
      opts.logger.info("Slack's URL check answered; set SLACK_BOT_TOKEN and restart to turn Slack on");
      return send(res, 200, { challenge: fields['challenge'] });
    }
    if (fields['ssl_check'] === '1') return send(res, 200, '');
    opts.metrics.slackRequests.inc({ kind: 'unknown', outcome: 'off' });
    return send(res, 503, { error: opts.reason });
  };
}
