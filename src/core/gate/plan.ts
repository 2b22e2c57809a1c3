/**
 * planGate: a verdict → the actions that show and keep it. Pure.
 * - exactly one `gate::*` label (computed against the item's current labels, read from the API),
 *   none while the verdict is pending;
 * - one sticky comment (edited in place) with the verdict, the evidence table and every reason;
 * - the `gatehouse/release-gate` check: success for pass, warn and emergency, failure for block
 *   (neutral in advisory mode), in progress while pending;
 * - a release decision record when the verdict, the head or the reasons changed;
 * - escalations: `gate-block` for a blocked high-risk release, `emergency-release`, and
 *   `ship-despite-block` when the override label (or the emergency class label) is added while
 *   the gate blocks; `exception-expiring` for a waiver in use that expires soon;
 * - the emergency record and its retrospective issue.
 */
import type { Action } from '../actions.ts';
import { noticeChannel } from '../chat/route.ts';
import type { Notice, NoticeKind } from '../chat/notice.ts';
import { changeKey, type ChangeRequestSnapshot } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { tableCell } from '../text.ts';
import type { ReleaseEvidence } from './evidence.ts';
import { evaluateGate, scanTitle, type GateReason, type GateVerdict, type ReasonSeverity, type Verdict } from './evaluate.ts';
import type { GateException } from './exceptions.ts';
import { GATE_VERDICT_LABELS } from './policy.ts';
import type { ClassLabelFact } from './release-class.ts';

export const GATE_MARKER = '<!-- gatehouse:release-gate -->';
/**
 * The block of the gate's sticky comment that carries a release candidate's change classification
 * (`<!-- gatehouse:change-classification:start -->` … `:end -->`): rendered by Gatehouse on every
 * evaluation (from the change request's own events, or from its stored decision record when the
 * gate alone re-evaluates), never copied from the comment as read.
 */
export const GATE_CHANGE_SECTION = 'change-classification';
/** The marker of our section in release notes (`<!-- gatehouse:release-gate -->` … `<!-- /gatehouse:release-gate -->`). */
export const RELEASE_NOTE_MARKER = 'gatehouse:release-gate';

export type GateTemplate = 'comments/gate.md' | 'issues/retrospective.md';

export interface GateContext {
  policy: Policy;
  policySource: string;
  /** The policy's content hash (computed by the shell), kept in the decision record. */
  policyHash: string;
  now: Date;
  render: (name: GateTemplate, view: object) => string;
}

/** The latest stored decision for the change request (what the record chain holds). */
export interface PriorGateDecision {
  verdict: string;
  headSha: string;
  reasons: unknown[];
}

export interface GatePlanInput {
  change: ChangeRequestSnapshot;
  /** The change request's labels now (from the API: payload labels can be stale, check events carry none). */
  currentLabels: readonly string[];
  evidence: ReleaseEvidence;
  /** Exceptions scoped to the repository, whatever their state (`remindedAt` when the store has it). */
  exceptions: readonly (GateException & { remindedAt?: Date | null })[];
  previous: PriorGateDecision | null;
  /** The label added, when the trigger is a `labeled` event. */
  labelAdded?: string | null;
  /** Who caused the evaluation, as the webhook says (for the ship-despite-block notice; never authority). */
  actor?: string | null;
  /** Who added each class label that would lower the class, read from the platform's label events. */
  classLabels?: readonly ClassLabelFact[];
}

export interface GatePlan {
  verdict: GateVerdict;
  actions: Action[];
  note: string;
}

const lower = (s: string): string => s.trim().toLowerCase();
const SEVERITY_ORDER: ReasonSeverity[] = ['block', 'pending', 'warn', 'info'];
/** A GitHub comment holds 65,536 characters: beyond this many reasons the rest are counted (all are in the record). */
const SHOWN_REASONS = 150;

const VERDICT_TEXT: Record<Verdict, { icon: string; headline: string }> = {
  pass: { icon: '✅', headline: 'Pass' },
  warn: { icon: '⚠️', headline: 'Pass with warnings' },
  block: { icon: '⛔', headline: 'Blocked' },
  emergency: { icon: '🚨', headline: 'Emergency release' },
  pending: { icon: '⏳', headline: 'Pending' },
};

const STATUS_TEXT: Record<string, string> = {
  ok: '✅ ok',
  failed: '⛔ failed',
  missing: '❔ missing',
  pending: '⏳ pending',
  recorded: '📝 recorded',
  waived: '🎫 waived',
  error: '⚠️ unreadable',
};

export function verdictLabel(verdict: Verdict, policy: Pick<Policy, 'gate'>): string | null {
  return verdict === 'pending' ? null : policy.gate.labels.verdicts[verdict];
}

function sortedReasons(reasons: readonly GateReason[]): GateReason[] {
  return [...reasons].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
}

const signature = (reasons: readonly unknown[]): string =>
  JSON.stringify(
    reasons.map((r) => {
      const o = typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : {};
      return [o['rule'], o['severity'], o['subject'], o['summary']];
    }),
  );

function checkOf(
  v: GateVerdict,
  cls: string,
): { conclusion: 'success' | 'failure' | 'neutral' | 'pending'; title: string; summary: string } {
  const counts = (s: ReasonSeverity): number => v.reasons.filter((r) => r.severity === s).length;
  const advisory = v.mode === 'advisory';
  const conclusion = v.verdict === 'pending' ? 'pending' : v.verdict === 'block' ? (advisory ? 'neutral' : 'failure') : 'success';
  const title =
    v.verdict === 'block'
      ? `Blocked: ${counts('block')} blocking reason(s) (${cls}${advisory ? ', advisory' : ''})`
      : v.verdict === 'pending'
        ? `Pending: waiting for evidence (${cls})`
        : v.verdict === 'emergency'
          ? `Emergency release approved by ${v.emergency?.approver ?? 'an emergency approver'} (${v.emergency?.controlsBypassed.length ?? 0} control(s) bypassed)`
          : v.verdict === 'warn'
            ? `Pass with ${counts('warn')} warning(s) (${cls})`
            : `Pass (${cls})`;
  const lines = sortedReasons(v.reasons)
    .filter((r) => r.severity !== 'info')
    .slice(0, 200)
    .map((r) => `- **${r.severity}** \`${r.rule}\`: ${tableCell(r.summary)}`);
  const summary = [
    `Release class **${cls}** (${tableCell(v.classDecision.detail)}); mode ${v.mode}.`,
    '',
    ...(lines.length > 0 ? lines : ['No blocking reasons and no warnings.']),
  ].join('\n');
  return { conclusion, title, summary };
}

function notice(
  kind: NoticeKind,
  key: string,
  change: ChangeRequestSnapshot,
  v: GateVerdict,
  policy: Policy,
  title: string,
  reasons: string[],
  extra: Partial<Notice> = {},
): Action {
  const n: Notice = {
    kind,
    title,
    reasons,
    severity: v.releaseClass === 'high-risk' ? 'high-risk prod' : v.releaseClass,
    owner: null,
    due: [],
    url: change.url,
    labels: [verdictLabel(v.verdict, policy), policy.gate.labels.classes[v.releaseClass]].filter((l): l is string => l !== null),
    route: null,
    itemKey: changeKey(change.ref),
    ...extra,
  };
  return { type: 'notifyChat', key, channel: noticeChannel(policy, kind, null), text: `${title} — ${change.url}`, notice: n };
}

const itemName = (change: ChangeRequestSnapshot): string =>
  `${change.ref.repo.fullName}${change.ref.repo.platform === 'gitlab' ? '!' : '#'}${change.ref.number}`;

export function planGate(input: GatePlanInput, ctx: GateContext): GatePlan {
  const { change, evidence, previous } = input;
  const { policy, now } = ctx;
  const { gate } = policy;
  const v = evaluateGate({ change, evidence, exceptions: input.exceptions, classLabels: input.classLabels ?? [] }, policy, now);
  const refused = v.classDecision.refused;
  const target = change.ref;
  const key = changeKey(target);
  const cls = v.releaseClass;
  const actions: Action[] = [];

  // Exactly one verdict label (none while pending).
  const want = verdictLabel(v.verdict, policy);
  const managed = GATE_VERDICT_LABELS.map((k) => lower(gate.labels.verdicts[k]));
  const have = input.currentLabels;
  const add = want && !have.some((l) => lower(l) === lower(want)) ? [want] : [];
  // ... and a class label that would have lowered the class without the authority to is removed.
  const remove = have.filter(
    (l) => (managed.includes(lower(l)) && (!want || lower(l) !== lower(want))) || refused.some((r) => lower(r.label) === lower(l)),
  );
  if (add.length > 0 || remove.length > 0) actions.push({ type: 'ensureLabels', target, add, remove });
  for (const r of refused)
    actions.push({ type: 'refuseClassLabel', target, label: r.label, actor: r.actor, sender: input.actor ?? null, reason: r.reason });

  // The check on the head commit.
  const check = checkOf(v, cls);
  actions.push({ type: 'setGateCheck', target, headSha: v.headSha, check });

  // Escalations.
  const blockReasons = v.reasons.filter((r) => r.severity === 'block').map((r) => r.summary);
  const requested =
    input.labelAdded && [gate.labels.override, gate.labels.classes.emergency].some((l) => lower(l) === lower(input.labelAdded!));
  const shipDespite = !!requested && (previous?.verdict === 'block' || v.verdict === 'block');
  if (shipDespite) {
    actions.push(
      notice(
        'ship-despite-block',
        `ship-despite-block:${key}:${v.headSha}:${lower(input.labelAdded!)}`,
        change,
        v,
        policy,
        `Request to ship despite a blocked release gate: ${change.title} (${itemName(change)})`,
        [
          `${input.actor ? `${input.actor} added` : 'Added'} ${input.labelAdded} while the gate ${previous?.verdict === 'block' ? 'was' : 'is'} blocked`,
          `Verdict now: ${v.verdict}`,
          ...blockReasons,
        ],
      ),
    );
  }
  // A refused lowering label while the gate blocks is a request to ship despite the block.
  const blocked = previous?.verdict === 'block' || v.verdict === 'block';
  for (const r of blocked ? refused : []) {
    actions.push(
      notice(
        'ship-despite-block',
        `ship-despite-block:${key}:${v.headSha}:${lower(r.label)}`,
        change,
        v,
        policy,
        `Request to ship despite a blocked release gate: ${change.title} (${itemName(change)})`,
        [
          `${r.actor ? `${r.actor} added` : 'An account the platform does not attribute added'} ${r.label}, which would lower the release class; refused and removed`,
          r.reason,
          `Verdict now: ${v.verdict}`,
          ...blockReasons,
        ],
      ),
    );
  }
  // One message per blocked release, updated as commits come and go (the key has no commit in it),
  // and updated once more when the gate stops blocking.
  if (v.verdict === 'block' && cls === 'high-risk') {
    actions.push(
      notice(
        'gate-block',
        `gate-block:${key}`,
        change,
        v,
        policy,
        `Release gate blocked a high-risk release: ${change.title} (${itemName(change)})`,
        [`At commit ${v.headSha.slice(0, 12)}`, ...blockReasons],
      ),
    );
  } else if (previous?.verdict === 'block' && cls === 'high-risk' && v.verdict !== 'pending') {
    actions.push(
      notice(
        'gate-block',
        `gate-block:${key}`,
        change,
        v,
        policy,
        `Resolved: the release gate no longer blocks ${change.title} (${itemName(change)})`,
        [`Verdict ${v.verdict} at commit ${v.headSha.slice(0, 12)}`],
      ),
    );
  }
  if (v.expiring.length > 0) {
    for (const e of input.exceptions.filter((x) => v.expiring.some((y) => y.id === x.id))) {
      if (e.remindedAt) continue;
      actions.push(
        notice(
          'exception-expiring',
          `exception-expiring:${e.id}:${e.expiresAt.toISOString()}`,
          change,
          v,
          policy,
          `Exception ${e.id} expires soon; ${itemName(change)} will be blocked again`,
          [`Waives ${e.findingRef} in ${e.scope.repo}`, `Business owner: ${e.businessOwner}`],
          {
            due: [{ label: 'Exception expires', at: e.expiresAt.toISOString() }],
            owner: e.businessOwner || null,
          },
        ),
      );
      actions.push({ type: 'markExceptionReminded', id: e.id, at: now });
    }
  }

  // The emergency lane: record, retrospective, notice.
  let retrospective: { title: string; dueDate: string } | null = null;
  if (v.emergency) {
    const e = v.emergency;
    retrospective = { title: e.followUp.title, dueDate: e.followUp.dueDate };
    const body = ctx.render('issues/retrospective.md', {
      item: itemName(change),
      url: change.url,
      // One line each: a multi-line reason could start a line with a GitLab quick action (`/label`).
      title: tableCell(change.title),
      approver: tableCell(e.approver),
      reason: tableCell(e.reason),
      headSha: e.headSha,
      decidedAt: e.decidedAt,
      dueDate: e.followUp.dueDate,
      bypassed: e.controlsBypassed.map((r) => ({ rule: r.rule, summary: tableCell(r.summary) })),
    });
    actions.push({
      type: 'recordEmergency',
      target,
      key,
      record: e,
      retrospective: {
        key: `retrospective:${key}`,
        title: e.followUp.title,
        body,
        labels: gate.emergency.retrospectiveLabels,
        dueDate: e.followUp.dueDate,
      },
    });
    actions.push(
      notice(
        'emergency-release',
        `emergency-release:${key}`,
        change,
        v,
        policy,
        `Emergency release: ${change.title} (${itemName(change)}), approved by ${e.approver}`,
        [`Reason: ${e.reason}`, ...e.controlsBypassed.map((r) => `Bypassed: ${r.summary}`)],
        {
          due: [{ label: 'Retrospective due', at: `${e.followUp.dueDate}T00:00:00.000Z` }],
        },
      ),
    );
  }

  // The decision record, when something changed.
  const changed =
    !previous || previous.verdict !== v.verdict || previous.headSha !== v.headSha || signature(previous.reasons) !== signature(v.reasons);
  if (changed) {
    actions.push({
      type: 'recordGateDecision',
      target,
      key,
      headSha: v.headSha,
      releaseClass: cls,
      verdict: v.verdict,
      reasons: v.reasons,
      policyHash: ctx.policyHash,
      // The gate's whole input (what `gatehouse decisions explain` replays), and what it made of it.
      inputs: {
        change: {
          ref: change.ref,
          labels: [...input.currentLabels],
          targetBranch: change.targetBranch,
          body: change.body,
          author: change.author,
          title: change.title,
          url: change.url,
        },
        evidence: { ...evidence },
        exceptions: input.exceptions.map(({ remindedAt: _reminded, ...e }) => e),
        classLabels: [...(input.classLabels ?? [])],
        classDecision: v.classDecision,
        mode: v.mode,
        waived: v.waived.map((w) => ({
          subject: w.subject,
          exception: w.exception.id,
          expiresAt: w.exception.expiresAt.toISOString(),
          approvedBy: w.exception.approvedBy,
        })),
      },
    });
  }

  // The sticky comment, last: it says what was done.
  const reasons = sortedReasons(v.reasons);
  const body = ctx.render('comments/gate.md', {
    marker: GATE_MARKER,
    icon: VERDICT_TEXT[v.verdict].icon,
    headline: VERDICT_TEXT[v.verdict].headline,
    label: want,
    releaseClass: cls,
    classLabel: gate.labels.classes[cls],
    classDetail: tableCell(v.classDecision.detail),
    advisory: v.mode === 'advisory',
    checkName: gate.checkName,
    conclusion: check.conclusion,
    headSha: v.headSha.slice(0, 12),
    evaluatedAt: now.toISOString(),
    evidence: v.evidence.map((r) => ({
      item: r.item,
      required: r.required,
      status: STATUS_TEXT[r.status] ?? r.status,
      detail: tableCell(r.detail),
      url:
        r.url && /^https?:\/\//.test(r.url)
          ? r.url.replace(/[()\s<>[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
          : null,
    })),
    reasons: reasons.slice(0, SHOWN_REASONS).map((r) => ({
      severity: r.severity,
      rule: r.rule,
      summary: tableCell(r.summary),
      evidence: r.evidence.slice(0, 12).map(tableCell),
    })),
    moreReasons: reasons.length > SHOWN_REASONS ? reasons.length - SHOWN_REASONS : 0,
    waived: v.waived.map((w) => ({
      subject: tableCell(w.subject),
      exception: tableCell(w.exception.id),
      expiresAt: w.exception.expiresAt.toISOString(),
      approvedBy: tableCell(w.exception.approvedBy ?? ''),
    })),
    emergency: v.emergency
      ? { approver: tableCell(v.emergency.approver), reason: tableCell(v.emergency.reason), bypassed: v.emergency.controlsBypassed.length }
      : null,
    retrospective,
    shipDespite: shipDespite ? { label: input.labelAdded } : null,
    refusedLabels: refused.map((r) => ({
      label: r.label,
      actor: r.actor ? tableCell(r.actor) : null,
      reason: tableCell(r.reason),
      escalated: blocked,
    })),
    overrideLabel: gate.labels.override,
    pendingRetry: v.retry,
    policySource: ctx.policySource,
    scanNames: Object.keys(gate.scans).map(scanTitle),
  });
  actions.push({ type: 'ensureComment', target, marker: GATE_MARKER, body });

  return { verdict: v, actions, note: `release gate: ${v.verdict} (${cls}${v.mode === 'advisory' ? ', advisory' : ''})` };
}

/** The text of our section in a release's notes: the verdict of the tagged commit. */
export function releaseNoteText(
  sha: string,
  decision: { verdict: string; releaseClass: string; key: string; decidedAt: Date; seq: number; reasons: unknown[] } | null,
  policy: Pick<Policy, 'gate'>,
): string {
  if (!decision) return `**Release gate** (${policy.gate.checkName}): no gate decision recorded for commit \`${sha.slice(0, 12)}\`.`;
  const blocking = decision.reasons.filter(
    (r) => typeof r === 'object' && r !== null && (r as Record<string, unknown>)['severity'] === 'block',
  ).length;
  return [
    `**Release gate** (${policy.gate.checkName}): **${decision.verdict}** for commit \`${sha.slice(0, 12)}\` (release class ${decision.releaseClass}${blocking > 0 ? `, ${blocking} blocking reason(s)` : ''}).`,
    `Decision record #${decision.seq} for ${decision.key}, ${decision.decidedAt.toISOString()}.`,
  ].join('\n');
}
