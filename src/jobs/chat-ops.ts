/**
 * Chat-ops: what Slack asks of Gatehouse. Read-only answers (`status`, `queue`) come straight from
 * the stored records; requests that change things (`escalate`, Acknowledge, Take ownership) arrive
 * here from the inbox, in the worker, after Slack was acknowledged. Permissions come from the
 * global policy only (a repository's override cannot grant itself Slack powers); every refusal is
 * in the audit log and answered to the asker alone.
 */
import { isConfidentialRecord } from '../core/chat/confidential.ts';
import type { Logger } from 'pino';
import { queueAnswer, statusAnswer, type QueueView, type StatusView } from '../core/chat/answers.ts';
import { parseCommand, type Hosts, type ItemRef } from '../core/chat/command.ts';
import { planManualEscalation } from '../core/chat/escalate.ts';
import { chatReaders } from '../core/chat/policy.ts';
import { parseExceptionRequest } from '../core/gate/exception-request.ts';
import { shortDigest, termsDigest } from '../core/gate/exception-terms.ts';
import { approvalRefusal } from '../core/gate/exceptions.ts';
import { changeKey, issueKey, type IssueRef, type IssueSnapshot } from '../core/model.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { Chat } from '../ports/chat.ts';
import type { PlatformAdapter } from '../ports/platform.ts';
import type { StoredDelivery } from '../ports/deliveries.ts';
import type { Metrics } from '../ports/metrics.ts';
import { slackWorkSchema, type SlackReader, type SlackWork } from '../ports/chat-work.ts';
import type { NoticeOutbox, OutboxRow } from '../ports/outbox.ts';
import type { GateStore } from '../ports/gate-store.ts';
import { neutralizeMentions } from '../core/text.ts';
import { execute, type PlanStore } from './execute.ts';

export interface ChatOpsDeps {
  store: PlanStore;
  outbox: NoticeOutbox;
  chat: Chat;
  /** The global policy (chat permissions are never taken from a repository's override). */
  policy: () => Policy;
  platforms: Partial<Record<'github' | 'gitlab', PlatformAdapter>>;
  hosts: Hosts;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  respond: (responseUrl: string, text: string) => Promise<void>;
  /** The last release-gate verdict of a change request, when gates are on. */
  gateVerdict?: (key: string) => Promise<{ verdict: string; releaseClass: string | null; decidedAt: Date } | null>;
  /** How long a user group's members are trusted. Default 5 minutes. */
  groupCacheMs?: number;
  /** The exception register, for the Approve exception button (the gate is off without it). */
  gateStore?: GateStore;
}

export class ChatOps implements SlackReader {
  readonly #groups = new Map<string, { at: number; members: Promise<string[]> }>();

  constructor(private readonly deps: ChatOpsDeps) {}

  static keysOf(item: ItemRef): { issue: string; change: string; target: IssueRef } {
    const target: IssueRef = {
      repo: { platform: item.platform, fullName: item.fullName, id: null, defaultBranch: null },
      number: item.number,
      kind: item.kind,
    };
    return { issue: issueKey(target), change: changeKey(target), target };
  }

  /** `status` and `queue` are for the policy's chat.readers (default: its escalators; nobody when both are empty). */
  async #mayRead(userId: string, what: 'status' | 'queue', itemKey: string | null): Promise<string | null> {
    const readers = chatReaders(this.deps.policy().chat);
    if (readers.from !== null && userId !== '' && (await this.#allowed(userId, readers.who))) return null;
    const why =
      readers.from === null
        ? 'the policy names no chat.readers (and no chat.escalators, the default readers)'
        : `not named by the policy's ${readers.from}`;
    await this.deps.store.appendAudit({
      at: this.deps.now(),
      deliveryId: null,
      issueKey: itemKey,
      action: 'chat.read',
      detail: { slackUser: userId, command: what },
      outcome: 'skipped',
      error: why,
    });
    this.deps.metrics.slackRequests.inc({ kind: 'command', outcome: 'refused' });
    this.deps.logger.warn({ user: userId, command: what }, 'Slack read refused: not allowed by the policy');
    return readers.from === null
      ? "Gatehouse's records are not readable from Slack yet: the policy names nobody in chat.readers (nor chat.escalators, who read by default). Ask the security team to set chat.readers."
      : `You are not allowed to read Gatehouse's records from Slack: the policy's ${readers.from} names who may${readers.from === 'chat.escalators' ? ' (chat.readers is not set)' : ''}.`;
  }

  async status(item: ItemRef, userId = ''): Promise<string> {
    const { issue, change } = ChatOps.keysOf(item);
    const refusal = await this.#mayRead(userId, 'status', item.kind === 'change' ? change : issue);
    if (refusal) return refusal;
    const { store, outbox } = this.deps;
    // GitLab merge requests and GitHub pull requests are kept as changes; GitHub issues and PRs share numbers.
    const keys = item.kind === 'change' ? (item.platform === 'github' ? [change, issue] : [change]) : [issue];
    let view: StatusView = { item, intake: null, decision: null, clocks: [], gate: null, escalations: [] };
    for (const key of keys) {
      const [intake, decision, clocks, escalations, gate] = await Promise.all([
        store.getIntake(key),
        store.latestDecision(key),
        store.getClocks(key),
        outbox.forItem(key),
        this.deps.gateVerdict && key === change ? this.deps.gateVerdict(key) : Promise.resolve(null),
      ]);
      view = {
        item,
        intake:
          view.intake ??
          (intake
            ? {
                complete: intake.complete,
                problems: intake.problems,
                service: str(intake.answers['service']),
                owner: str(intake.answers['owner']),
              }
            : null),
        decision:
          view.decision ??
          (decision ? { tier: decision.tier, routes: decision.routes, reasons: decision.reasons, decidedAt: decision.decidedAt } : null),
        clocks: view.clocks.length > 0 ? view.clocks : (clocks?.clocks ?? []),
        gate: view.gate ?? gate,
        escalations: [
          ...view.escalations,
          ...escalations.map((e) => ({
            key: e.key,
            kind: e.notice?.kind ?? 'manual',
            acknowledgedBy: e.acknowledgedBy,
            createdAt: e.createdAt,
          })),
        ],
      };
    }
    return statusAnswer(view, this.deps.policy(), this.deps.now());
  }

  async queue(userId = ''): Promise<string> {
    const refusal = await this.#mayRead(userId, 'queue', null);
    if (refusal) return refusal;
    const { outbox } = this.deps;
    const [intakes, clocks, escalations] = await Promise.all([
      outbox.openIntakes(500),
      outbox.activeClocks(500),
      outbox.openEscalations(200),
    ]);
    const view: QueueView = {
      intakes,
      clocks,
      escalations: escalations.map((e) => ({
        key: e.key,
        kind: e.notice?.kind ?? 'manual',
        title: e.notice?.title ?? e.text,
        channel: e.channel,
        createdAt: e.createdAt,
      })),
    };
    return queueAnswer(view, this.deps.policy(), this.deps.now());
  }

  /** Carries out a stored Slack request (the worker calls this for platform `slack`). */
  async handle(delivery: StoredDelivery): Promise<'done' | 'invalid'> {
    let work: SlackWork;
    try {
      work = slackWorkSchema.parse(JSON.parse(delivery.payload));
    } catch {
      this.deps.logger.warn({ delivery: delivery.deliveryId }, 'stored Slack request is not readable; dropped as invalid');
      return 'invalid';
    }
    if (work.type === 'escalate') await this.#escalate(work, delivery.deliveryId);
    else await this.#button(work, delivery.deliveryId);
    return 'done';
  }

  async #allowed(userId: string, who: { users: string[]; groups: string[] }): Promise<boolean> {
    if (who.users.includes(userId)) return true;
    for (const g of who.groups) if ((await this.#members(g)).includes(userId)) return true;
    return false;
  }

  #members(group: string): Promise<string[]> {
    const hit = this.#groups.get(group);
    const ttl = this.deps.groupCacheMs ?? 300_000;
    if (hit && Date.now() - hit.at < ttl) return hit.members;
    const members = this.deps.chat.groupMembers(group);
    this.#groups.set(group, { at: Date.now(), members });
    members.catch(() => this.#groups.delete(group));
    return members;
  }

  async #refuse(
    work: SlackWork,
    deliveryId: string,
    action: string,
    itemKey: string | null,
    message: string,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    await this.deps.store.appendAudit({
      at: this.deps.now(),
      deliveryId,
      issueKey: itemKey,
      action,
      detail: { slackUser: work.userId, slackName: work.userName, ...detail },
      outcome: 'skipped',
      error: 'not allowed by the policy',
    });
    this.deps.metrics.slackRequests.inc({ kind: work.type === 'escalate' ? 'command' : 'action', outcome: 'refused' });
    this.deps.logger.warn({ user: work.userId, action, item: itemKey }, 'Slack request refused: not allowed by the policy');
    if (work.responseUrl) await this.deps.respond(work.responseUrl, message);
  }

  async #escalate(work: Extract<SlackWork, { type: 'escalate' }>, deliveryId: string): Promise<void> {
    const policy = this.deps.policy();
    const asked = parseCommand(work.text, policy.chat.command, this.deps.hosts);
    if (asked.kind !== 'escalate') {
      if (work.responseUrl) await this.deps.respond(work.responseUrl, asked.kind === 'invalid' ? asked.message : 'Nothing to escalate.');
      return;
    }
    const { issue, change, target } = ChatOps.keysOf(asked.item);
    const itemKey = asked.item.kind === 'change' ? change : issue;
    if (!(await this.#allowed(work.userId, policy.chat.escalators))) {
      return this.#refuse(
        work,
        deliveryId,
        'chat.escalate',
        itemKey,
        `You are not allowed to escalate with ${policy.chat.command}: the policy's chat.escalators names who may. Nothing was changed.`,
      );
    }
    const adapter = this.deps.platforms[asked.item.platform];
    if (!adapter?.forgeForRepo) {
      if (work.responseUrl)
        await this.deps.respond(
          work.responseUrl,
          `${asked.item.platform === 'github' ? 'GitHub' : 'GitLab'} is not configured in Gatehouse: cannot escalate ${asked.item.url}.`,
        );
      return;
    }
    const unreachable = async (err: unknown): Promise<boolean> => {
      const status = httpStatusOf(err);
      if (status === undefined || ![401, 403, 404, 410, 422].includes(status)) return false;
      await this.deps.store.appendAudit({
        at: this.deps.now(),
        deliveryId,
        issueKey: itemKey,
        action: 'chat.escalate',
        detail: { slackUser: work.userId, status },
        outcome: 'error',
        error: err instanceof Error ? err.message : String(err),
      });
      if (work.responseUrl)
        await this.deps.respond(
          work.responseUrl,
          `Gatehouse cannot reach ${asked.item.url} (HTTP ${status}): the app is not installed on that repository, or there is no such item. Nothing was escalated.`,
        );
      return true;
    };
    let forge: Awaited<ReturnType<NonNullable<PlatformAdapter['forgeForRepo']>>>;
    try {
      forge = await adapter.forgeForRepo(target.repo);
    } catch (err) {
      if (await unreachable(err)) return;
      throw err;
    }
    const isChange = asked.item.kind === 'change';
    const [intake, decision] = await Promise.all([
      // A change request's intake is kept under its own key; a GitHub pull request's may also be
      // under the issue key (GitHub issues and pull requests share numbers; earlier versions kept it there).
      this.deps.store
        .getIntake(isChange ? change : issue)
        .then((found) => found ?? (isChange && asked.item.platform === 'github' ? this.deps.store.getIntake(issue) : null)),
      this.deps.store.latestDecision(isChange ? change : issue),
    ]);
    const tier = decision?.tier ?? null;
    const actions = planManualEscalation(
      {
        item: asked.item,
        target,
        itemKey,
        reason: asked.reason,
        requestedBy: { name: work.userName || work.userId, id: work.userId },
        requestId: work.requestId,
        // A confidential issue's answers stay off chat: the notice names the item alone.
        known: {
          service: isConfidentialRecord(intake?.answers) ? null : str(intake?.answers['service']),
          owner: isConfidentialRecord(intake?.answers) ? null : str(intake?.answers['owner']),
          severity: tier === null ? null : `Tier ${tier} (${policy.tiers[tier]?.name ?? '?'})`,
        },
      },
      policy,
      this.deps.now(),
    );
    try {
      await execute(actions, {
        forge,
        store: this.deps.store,
        metrics: this.deps.metrics,
        now: this.deps.now,
        deliveryId,
        installationId: null,
      });
    } catch (err) {
      if (await unreachable(err)) return;
      throw err;
    }
    await this.deps.store.appendAudit({
      at: this.deps.now(),
      deliveryId,
      issueKey: itemKey,
      action: 'chat.escalate',
      detail: { slackUser: work.userId, reason: asked.reason },
      outcome: 'ok',
    });
    if (work.responseUrl)
      await this.deps.respond(
        work.responseUrl,
        `Escalated ${asked.item.url}: labelled ${policy.chat.escalationLabel}, commented, and posted to ${actions.find((a) => a.type === 'notifyChat')?.channel ?? 'the escalation channel'}.`,
      );
  }

  async #button(work: Extract<SlackWork, { noticeKey: string }>, deliveryId: string): Promise<void> {
    const policy = this.deps.policy();
    const row = await this.deps.outbox.get(work.noticeKey);
    if (!row) {
      if (work.responseUrl) await this.deps.respond(work.responseUrl, 'Gatehouse has no record of this notice any more.');
      return;
    }
    if (work.type === 'approve-exception') return this.#approveException(work, row, deliveryId);
    const action = work.type === 'acknowledge' ? 'chat.acknowledge' : 'chat.take-ownership';
    if (!(await this.#allowed(work.userId, policy.chat.acknowledgers))) {
      return this.#refuse(
        work,
        deliveryId,
        action,
        row.itemKey,
        `You are not allowed to ${work.type === 'acknowledge' ? 'acknowledge' : 'take ownership of'} escalations: the policy's chat.acknowledgers names who may. Nothing was changed.`,
      );
    }
    const now = this.deps.now();
    if (work.type === 'acknowledge') {
      const done = await this.deps.outbox.acknowledge(row.key, work.userId, now);
      await this.deps.store.appendAudit({
        at: now,
        deliveryId,
        issueKey: row.itemKey,
        action,
        detail: { slackUser: work.userId, notice: row.key, already: done === null },
        outcome: 'ok',
      });
      if (!done && work.responseUrl)
        await this.deps.respond(work.responseUrl, `Already acknowledged (by Slack user ${row.acknowledgedBy}).`);
      return;
    }
    if (row.owner && row.owner !== work.userId) {
      if (work.responseUrl) await this.deps.respond(work.responseUrl, `Slack user ${row.owner} already owns this escalation.`);
      return;
    }
    const account = policy.chat.accounts[work.userId];
    const platform = row.itemKey?.startsWith('gitlab:') ? 'gitlab' : 'github';
    const login = account?.[platform];
    let assigned: string | null = null;
    if (login && row.itemKey && row.notice?.url) {
      const item = parseCommand(`status ${row.notice.url}`, policy.chat.command, this.deps.hosts);
      const adapter = this.deps.platforms[platform];
      if (item.kind === 'status' && adapter?.forgeForRepo) {
        const { target } = ChatOps.keysOf(item.item);
        const forge = await adapter.forgeForRepo(target.repo);
        if (forge.assign) {
          await forge.assign(target, login);
          assigned = login;
        }
      }
    }
    await this.deps.outbox.takeOwnership(row.key, work.userId, now);
    await this.deps.store.appendAudit({
      at: now,
      deliveryId,
      issueKey: row.itemKey,
      action,
      detail: { slackUser: work.userId, notice: row.key, assigned },
      outcome: 'ok',
    });
    if (work.responseUrl && !assigned) {
      await this.deps.respond(
        work.responseUrl,
        login
          ? 'You own this escalation now (the item could not be assigned from here).'
          : `You own this escalation now. To be assigned the issue too, map your Slack id ${work.userId} to your ${platform === 'github' ? 'GitHub' : 'GitLab'} account in the policy's chat.accounts.`,
      );
    }
  }

  /**
   * The Approve exception button approves the terms the clicked notice showed, and only those: the
   * clicker's forge account (chat.accounts) must be an exception approver of the global policy; the
   * request is read from the platform as it is now, and a click whose digest differs from the
   * request's current terms (or from the registered ones) is refused ("the request changed since
   * this notice"), as is the requester approving their own exception and an exception for another
   * repository by an approver who is not a cross-repository approver. The register entry is approved
   * with the digest, the approval label added (our own label event is ignored as the bot's), and the
   * request commented (one comment, edited in place). Every refusal is audited with the clicker.
   */
  async #approveException(work: Extract<SlackWork, { noticeKey: string }>, row: OutboxRow, deliveryId: string): Promise<void> {
    const policy = this.deps.policy();
    const now = this.deps.now();
    const id = row.itemKey;
    const target = id ? issueRefOf(id) : null;
    const gateStore = this.deps.gateStore;
    if (!id || !target || !gateStore) {
      if (work.responseUrl) await this.deps.respond(work.responseUrl, 'This notice is not an exception request Gatehouse can approve.');
      return;
    }
    const platform = target.repo.platform === 'gitlab' ? 'gitlab' : 'github';
    const login = policy.chat.accounts[work.userId]?.[platform] ?? null;
    const approvers = policy.gate.exceptions.approvers[platform].map((a) => a.toLowerCase());
    const refuse = (why: string, detail: Record<string, unknown> = {}): Promise<void> =>
      this.#refuse(work, deliveryId, 'chat.approve-exception', id, `You cannot approve this exception: ${why}. Nothing was changed.`, {
        approver: login,
        terms: work.terms ?? null,
        reason: why,
        ...detail,
      });
    if (!login || !approvers.includes(login.toLowerCase())) {
      return refuse(
        login
          ? `your ${platform === 'github' ? 'GitHub' : 'GitLab'} account ${login} is not an exception approver (gate.exceptions.approvers)`
          : `your Slack id ${work.userId} is not mapped to a ${platform === 'github' ? 'GitHub' : 'GitLab'} account (chat.accounts)`,
      );
    }
    const stored = await gateStore.getException(id);
    if (!stored || stored.status !== 'requested') {
      if (work.responseUrl)
        await this.deps.respond(
          work.responseUrl,
          stored
            ? `This exception is ${stored.status}; only a requested one can be approved.`
            : 'Gatehouse has no complete exception request for this issue.',
        );
      return;
    }
    const adapter = this.deps.platforms[platform];
    if (!adapter?.forgeForRepo) {
      if (work.responseUrl)
        await this.deps.respond(
          work.responseUrl,
          `${platform === 'github' ? 'GitHub' : 'GitLab'} is not configured in Gatehouse: cannot approve.`,
        );
      return;
    }
    const forge = await adapter.forgeForRepo(target.repo);
    if (!forge.readIssue) return refuse(`Gatehouse cannot read the request from ${platform === 'github' ? 'GitHub' : 'GitLab'}`);
    // The request as it is now, not as the notice or the register last saw it.
    const current = await forge.readIssue(target);
    const { remindedAt: _reminded, ...registered } = stored;
    const issue: IssueSnapshot = {
      ref: target,
      title: '',
      body: current.body,
      labels: current.labels,
      state: current.state,
      author: { login: current.author ?? 'ghost', isBot: false },
      assignees: [],
      url: row.notice?.url ?? '',
      createdAt: stored.requestedAt.toISOString(),
    };
    const parsed = parseExceptionRequest(issue, policy, now).exception;
    const digest = parsed ? termsDigest(parsed) : null;
    if (!parsed || !digest || !work.terms || work.terms !== digest || termsDigest(registered) !== digest) {
      const why = !work.terms
        ? 'this notice does not say which terms it shows (it predates term-bound approvals); use the updated notice'
        : 'the request changed since this notice; review the updated notice';
      return refuse(why, { current: digest });
    }
    const authority = approvalRefusal(parsed, login, policy.gate.exceptions);
    if (authority) return refuse(authority, { current: digest });
    const who = escapeComment(neutralizeMentions(login));
    const marker = '<!-- gatehouse:exception-approved -->';
    await execute(
      [
        {
          type: 'saveException',
          target,
          exception: { ...parsed, status: 'approved', approvedBy: login, approvedAt: now, approvedDigest: digest },
        },
        { type: 'ensureLabels', target, add: [policy.gate.exceptions.approvedLabel], remove: [] },
        {
          type: 'ensureComment',
          target,
          marker,
          body: `${marker}\n✅ Exception approved from Slack by ${who} at ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC for the terms \`${shortDigest(digest)}\`: it waives ${escapeComment(neutralizeMentions(parsed.findingRef))} until ${parsed.expiresAt.toISOString()}. Any change of the terms withdraws it.`,
        },
      ],
      { forge, store: this.deps.store, metrics: this.deps.metrics, now: this.deps.now, deliveryId, installationId: null, gateStore },
    );
    await this.deps.outbox.acknowledge(row.key, work.userId, now);
    await this.deps.store.appendAudit({
      at: now,
      deliveryId,
      issueKey: id,
      action: 'chat.approve-exception',
      detail: { slackUser: work.userId, approver: login, expiresAt: parsed.expiresAt, terms: digest },
      outcome: 'ok',
    });
  }
}

/** `github:owner/repo#12` → the issue it names. */
function issueRefOf(key: string): IssueRef | null {
  const m = /^(github|gitlab):(.+)#(\d+)$/.exec(key);
  return m
    ? {
        repo: { platform: m[1] as 'github' | 'gitlab', fullName: m[2]!, id: null, defaultBranch: null },
        number: Number(m[3]),
        kind: 'issue',
      }
    : null;
}

/** The HTTP status of an Octokit or gitbeaker error, when it has one. */
function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; cause?: { response?: { status?: unknown } } };
  if (typeof e.status === 'number') return e.status;
  const s = e.cause?.response?.status;
  return typeof s === 'number' ? s : undefined;
}

const escapeComment = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
