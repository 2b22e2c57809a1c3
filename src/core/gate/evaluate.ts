/**
 * The release gate's verdict: (change request, evidence, exception register, policy, now) →
 * pass, warn, block, emergency or pending, with every reason. Pure.
 *
 * Rules (the contract's defaults; the policy tunes each):
 * - BLOCK on an open finding of a blocking severity (critical) that no exception waives;
 * - BLOCK when a scan the class requires (prod: secrets, provenance) failed, did not conclude or is missing;
 *   a check counts for a scan only from the sources `gate.sources` names for its kind (./sources.ts),
 *   else by its name alone (info `scan-unpinned`); name matches from elsewhere are listed as ignored;
 * - BLOCK when the class requires SAST and code scanning is off or has no analysis of the head;
 * - BLOCK when a listing was cut short (a platform cap, more pages than read): `evidence-incomplete`;
 * - BLOCK when approvals are missing (prod: 1; high-risk: 2, one from a security reviewer); an
 *   approval counts only at the head commit, from an account with write access that is not the
 *   author, a bot or the head commit's pusher (each approval that does not count is named, and why);
 * - a `release-class::*` label only raises the class, unless a class setter of the global policy
 *   added it (`classLabels`: read by the shell from the platform's label events); a refused one is named;
 * - BLOCK a high-risk release without a non-empty `Rollback` section in the description;
 * - WARN on high findings, on failed scans the class does not require, on changes requested;
 * - medium and low findings are recorded;
 * - evidence that could not be read, or a required scan still running: `pending`, never a pass;
 * - emergency class: blocked unless an emergency approver named in the policy approved the head commit (and the
 *   description gives the emergency reason); then `emergency`, and every reason that would have
 *   blocked is a control bypassed in the emergency record.
 */
import type { Platform, ChangeRequestSnapshot } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { descriptionCut, descriptionSection } from './description.ts';
import type { CheckEvidence, EvidenceError, Finding, ReleaseEvidence, Severity } from './evidence.ts';
import { controlTarget, findWaiver, type GateException } from './exceptions.ts';
import type { GateMode, ReleaseClass } from './policy.ts';
import { describeIgnored, scanChecks, type ScanChecks } from './sources.ts';
import { releaseClass as classify, type ClassLabelFact, type ReleaseClassDecision } from './release-class.ts';

export type Verdict = 'pass' | 'warn' | 'block' | 'emergency' | 'pending';

/** block / warn decide the verdict; pending holds it; info is recorded. */
export type ReasonSeverity = 'block' | 'warn' | 'pending' | 'info';

export interface GateReason {
  /** Rule id: `finding-blocking`, `scan-missing`, `approvals-missing`… */
  rule: string;
  severity: ReasonSeverity;
  summary: string;
  /** The facts it rests on: check names and states, finding ids, logins, exceptions that did not apply. */
  evidence: string[];
  /** The finding (`code-scanning:42`) or control (`control:secrets`) it is about, when one. */
  subject: string | null;
}

export interface EvidenceRow {
  /** What: `Secrets scan`, `Approvals`, `Findings`… */
  item: string;
  /** Whether the release class requires it. */
  required: boolean;
  status: 'ok' | 'failed' | 'missing' | 'pending' | 'recorded' | 'waived' | 'error';
  detail: string;
  url: string | null;
}

export interface WaivedItem {
  /** The finding or control waived. */
  subject: string;
  finding: Finding | null;
  /** The reason it would have been. */
  reason: GateReason;
  exception: GateException;
}

/** The minimum emergency record: why, on what evidence, who approved, what was bypassed, what follows. */
export interface EmergencyRecord {
  reason: string;
  approver: string;
  /** The commit the emergency approver approved (the head: an approval of another commit does not count). */
  approvedSha: string;
  /** ISO-8601 UTC. */
  decidedAt: string;
  headSha: string;
  evidence: {
    checks: { name: string; state: string }[];
    findings: Record<string, number>;
    approvals: string[];
    approvedSha: string;
    collectedAt: string;
  };
  controlsBypassed: GateReason[];
  followUp: { kind: 'retrospective'; title: string; dueDate: string };
}

export interface GateVerdict {
  verdict: Verdict;
  releaseClass: ReleaseClass;
  classDecision: ReleaseClassDecision;
  mode: GateMode;
  headSha: string;
  reasons: GateReason[];
  evidence: EvidenceRow[];
  waived: WaivedItem[];
  emergency: EmergencyRecord | null;
  /** Waivers in use that expire within the policy's reminder days. */
  expiring: GateException[];
  /** Evidence sources to read again (pending because of them). */
  retry: boolean;
}

export interface GateInput {
  change: Pick<ChangeRequestSnapshot, 'ref' | 'labels' | 'targetBranch' | 'body' | 'author' | 'title' | 'url'>;
  evidence: ReleaseEvidence;
  exceptions: readonly GateException[];
  /** Who added each class label that would lower the class (read by the shell from the platform's label events). */
  classLabels?: readonly ClassLabelFact[];
}

const SCAN_TITLES: Record<string, string> = {
  secrets: 'Secrets scan',
  sast: 'SAST',
  dependencies: 'Dependency scan',
  provenance: 'Provenance / signing',
};
export const scanTitle = (kind: string): string => SCAN_TITLES[kind] ?? `${kind} scan`;

const lower = (s: string): string => s.trim().toLowerCase();
const DAY_MS = 86_400_000;
const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'info', 'unknown'];

/**
 * How an evidence error counts. `retry`: transient (an API error, a timeout, a rate limit): pending.
 * `missing`: the source is not there (code scanning off, no analysis for this head): a warning
 * that the evidence is missing. `untrusted`: read but incomplete or unreadable (more pages than
 * read, a report that does not parse): retrying will not help, and it is no pass: a block.
 */
export function errorWeight(e: EvidenceError): 'retry' | 'missing' | 'untrusted' {
  // Only code scanning may be absent (off, or no analysis for this head): it is then a warning.
  // Reviews, approvals, files or checks that cannot be read (a 403 for a missing App permission, a
  // 404) are never "missing evidence that warns": a gate that cannot read approvals cannot pass.
  if ((e.kind === 'not-enabled' || e.kind === 'no-analysis') && (e.source === 'findings' || e.source === 'reports')) return 'missing';
  if (e.kind === 'truncated' || e.kind === 'invalid') return 'untrusted';
  if (
    e.kind === undefined &&
    (e.source === 'findings' || e.source === 'reports') &&
    e.status !== undefined &&
    (e.status === 404 || e.status === 410)
  )
    return 'missing';
  if (e.status === 403 && !/rate limit/i.test(e.message)) return 'untrusted';
  if (e.status === 404 || e.status === 410) return 'untrusted';
  return 'retry';
}

export function gateMode(repo: { fullName: string }, cls: ReleaseClass, policy: Pick<Policy, 'gate'>): GateMode {
  const { mode } = policy.gate;
  const byRepo = Object.entries(mode.repos).find(([name]) => lower(name) === lower(repo.fullName));
  if (byRepo) return byRepo[1];
  return mode.classes[cls] ?? mode.default;
}

const principalsFor = (p: { github: string[]; gitlab: string[] }, platform: Platform): string[] =>
  platform === 'gitlab' ? p.gitlab : platform === 'github' ? p.github : [];

/**
 * Security reviewers (logins): the gate's own list, else the change reviewers who are people (not
 * `org/team`). Both are the global policy's: a repository override never sets `gate`, and the
 * reviewers it names go to `changes.requestReviewers`, which never count (core/policy/tighten.ts).
 */
export function securityReviewers(policy: Pick<Policy, 'gate' | 'changes'>, platform: Platform): string[] {
  const own = principalsFor(policy.gate.securityReviewers, platform);
  if (own.length > 0) return own;
  return principalsFor(policy.changes.reviewers, platform).filter((r) => !r.includes('/'));
}

interface ScanResult {
  kind: string;
  checks: CheckEvidence[];
  status: 'ok' | 'failed' | 'missing' | 'pending';
  detail: string;
}

function scanResult(kind: string, pattern: string, found: ScanChecks): ScanResult {
  const mine = found.counted;
  const describe = mine.map((c) => `${c.name}: ${c.state}`).join(', ');
  if (mine.length === 0) {
    const none = found.pinned ? `no check from the sources the policy names (gate.sources.${kind})` : `no check named like /${pattern}/i`;
    return { kind, checks: [], status: 'missing', detail: none };
  }
  if (mine.some((c) => c.state === 'failure' || c.state === 'cancelled')) return { kind, checks: mine, status: 'failed', detail: describe };
  if (mine.some((c) => c.state === 'pending')) return { kind, checks: mine, status: 'pending', detail: describe };
  if (mine.some((c) => c.state === 'success')) return { kind, checks: mine, status: 'ok', detail: describe };
  return { kind, checks: mine, status: 'failed', detail: `${describe} (did not succeed)` };
}

function findingLabel(f: Finding): string {
  return `${f.id} ${f.ruleId} (${f.severity}, ${f.tool})${f.location ? ` at ${f.location}` : ''}: ${f.title}`;
}

const short = (sha: string | null): string => (sha ? sha.slice(0, 12) : 'an earlier commit');

/** An approval that did not count, and why (shown in the evidence table and the reasons). */
export interface ApprovalNotCounted {
  login: string;
  why: string;
}

/**
 * The approvals that count: the latest of each account, at the head commit, from an account with
 * write access (as the platform answered), never the change request's author (read from the
 * API when the adapter could), a bot, or the account that pushed the head commit.
 */
export function reviewApprovals(
  evidence: Pick<ReleaseEvidence, 'approvals' | 'headSha' | 'authorLogin'>,
  payloadAuthor: string,
): { counted: string[]; notCounted: ApprovalNotCounted[] } {
  const author = lower(evidence.authorLogin ?? payloadAuthor);
  const counted = new Map<string, string>();
  const notCounted = new Map<string, ApprovalNotCounted>();
  for (const a of evidence.approvals) {
    const key = lower(a.login);
    const no = (why: string): void => void notCounted.set(key, { login: a.login, why: `${a.login} ${why}` });
    if (key === author) no('is the author of the change request');
    else if (a.bot) no('is a bot');
    else if (!a.atHead) no(`approved commit ${short(a.commitSha)}, not the head ${short(evidence.headSha)}`);
    else if (a.lastPusher) no('pushed the head commit (the last pusher cannot approve)');
    else if (a.canWrite === null) no('has a write access that could not be read');
    else if (!a.canWrite) no('has no write access to the repository');
    else {
      counted.set(key, a.login);
      continue;
    }
    counted.delete(key);
  }
  for (const k of counted.keys()) notCounted.delete(k);
  return { counted: [...counted.values()], notCounted: [...notCounted.values()] };
}

export function evaluateGate(input: GateInput, policy: Policy, now: Date): GateVerdict {
  const { change, evidence, exceptions } = input;
  const { gate } = policy;
  const repo = change.ref.repo;
  const classDecision = classify(change, evidence.changedPaths, policy, input.classLabels ?? []);
  const cls = classDecision.releaseClass;
  const needs = gate.classes[cls];
  const mode = gateMode(repo, cls, policy);
  const reasons: GateReason[] = [];
  const rows: EvidenceRow[] = [];
  const waived: WaivedItem[] = [];
  const used = new Map<string, GateException>();

  /** Adds a reason unless an exception waives its subject; a refused exception is named in it. */
  const add = (
    reason: GateReason,
    subject?: { names: string[]; location: string | null; control: boolean; finding?: Finding },
  ): boolean => {
    if (subject && (reason.severity === 'block' || reason.severity === 'warn')) {
      const { waiver, refused } = findWaiver(exceptions, subject, repo, now, gate.exceptions);
      if (waiver) {
        waived.push({ subject: reason.subject ?? subject.names[0]!, finding: subject.finding ?? null, reason, exception: waiver });
        used.set(waiver.id, waiver);
        reasons.push({
          rule: 'exception-applied',
          severity: 'info',
          summary: `Waived by exception ${waiver.id} until ${waiver.expiresAt.toISOString()}: ${reason.summary}`,
          evidence: [
            `approved by ${waiver.approvedBy ?? 'unknown'}`,
            ...(waiver.scope.paths.length > 0 ? [`scope ${waiver.scope.paths.join(', ')}`] : []),
          ],
          subject: reason.subject,
        });
        return false;
      }
      reason = { ...reason, evidence: [...reason.evidence, ...refused] };
    }
    reasons.push(reason);
    return true;
  };

  // Class labels that would have lowered the class without the authority to (removed and escalated by planGate).
  for (const r of classDecision.refused) {
    reasons.push({
      rule: 'class-label-refused',
      severity: 'warn',
      summary: `Label ${r.label} does not lower the release class: it was removed`,
      evidence: [r.reason],
      subject: null,
    });
  }

  // Evidence that could not be read.
  let retry = false;
  for (const e of evidence.errors) {
    const weight = errorWeight(e);
    const detail = e.status ? `HTTP ${e.status}: ${e.message}` : e.message;
    if (weight === 'missing' && needs.requires.includes('sast') && (e.source === 'findings' || e.source === 'reports')) {
      // SAST is required: "no analysis" is no evidence that there are no open findings.
      add(
        {
          rule: 'sast-analysis-missing',
          severity: 'block',
          summary: `The ${e.source === 'findings' ? 'code scanning' : 'security report'} analysis is missing${e.kind ? ` (${e.kind})` : ''} and SAST is required for ${cls}: the open findings cannot be known`,
          evidence: [detail],
          subject: controlTarget('sast'),
        },
        { names: [controlTarget('sast')], location: null, control: true },
      );
    } else if (weight === 'missing') {
      reasons.push({
        rule: 'evidence-unavailable',
        severity: 'warn',
        summary: `The ${e.source} could not be read${e.kind ? ` (${e.kind})` : ''}: that evidence is missing`,
        evidence: [detail],
        subject: null,
      });
    } else if (weight === 'untrusted') {
      reasons.push({
        rule: 'evidence-incomplete',
        severity: 'block',
        summary: `The ${e.source} were read only in part or could not be parsed (${e.kind}): the gate cannot rely on them`,
        evidence: [detail],
        subject: null,
      });
    } else {
      retry = true;
      reasons.push({
        rule: 'evidence-error',
        severity: 'pending',
        summary: `The ${e.source} could not be read; the gate waits and retries`,
        evidence: [detail],
        subject: null,
      });
    }
  }

  // Scans.
  const required = new Set(needs.requires);
  for (const [kind, pattern] of Object.entries(gate.scans)) {
    const found = scanChecks({
      pattern,
      checks: evidence.checks,
      ownCheck: gate.checkName,
      sources: gate.sources[kind],
      platform: repo.platform,
      changedPaths: evidence.changedPaths,
    });
    const r = scanResult(kind, pattern, found);
    const isRequired = required.has(kind);
    const title = scanTitle(kind);
    const ignored = found.ignored.map(describeIgnored);
    if (ignored.length > 0) {
      reasons.push({
        rule: 'scan-ignored',
        severity: 'info',
        summary: `${ignored.length} check(s) named like ${title.toLowerCase()} ignored: not from a source the policy names (gate.sources.${kind})`,
        evidence: ignored,
        subject: controlTarget(kind),
      });
      r.detail = `${r.detail} (${ignored.length} ignored: not from a named source)`;
    } else if (!found.pinned && found.counted.length > 0) {
      reasons.push({
        rule: 'scan-unpinned',
        severity: 'info',
        summary: `${title} is recognised by check name only: the policy names no source for it (gate.sources.${kind})`,
        evidence: found.counted.map((c) => `${c.name} (${c.source})`),
        subject: controlTarget(kind),
      });
    }
    const url = r.checks.find((c) => c.url)?.url ?? null;
    const subject = { names: [controlTarget(kind)], location: null, control: true };
    let status: EvidenceRow['status'] = r.status;
    if (r.status === 'failed') {
      const counted = add(
        {
          rule: 'scan-failed',
          severity: isRequired ? 'block' : 'warn',
          summary: `${title} failed${isRequired ? ` (required for ${cls})` : ''}`,
          evidence: [r.detail],
          subject: controlTarget(kind),
        },
        subject,
      );
      if (!counted) status = 'waived';
    } else if (r.status === 'missing') {
      if (isRequired) {
        const counted = add(
          {
            rule: 'scan-missing',
            severity: 'block',
            summary: `${title} is missing (required for ${cls})`,
            evidence: [r.detail, ...ignored],
            subject: controlTarget(kind),
          },
          subject,
        );
        if (!counted) status = 'waived';
      } else {
        reasons.push({
          rule: 'scan-missing',
          severity: 'info',
          summary: `No ${title.toLowerCase()} (not required for ${cls})`,
          evidence: [r.detail],
          subject: controlTarget(kind),
        });
      }
    } else if (r.status === 'pending') {
      if (isRequired)
        reasons.push({
          rule: 'scan-pending',
          severity: 'pending',
          summary: `${title} has not concluded yet (required for ${cls})`,
          evidence: [r.detail],
          subject: controlTarget(kind),
        });
      else
        reasons.push({
          rule: 'scan-pending',
          severity: 'info',
          summary: `${title} has not concluded yet (not required for ${cls})`,
          evidence: [r.detail],
          subject: controlTarget(kind),
        });
    }
    rows.push({ item: title, required: isRequired, status, detail: r.detail, url });
  }

  // Findings.
  const findingsSource = evidence.errors.find((e) => e.source === 'findings' || e.source === 'reports');
  const counts: Record<string, number> = {};
  const waivedCounts: Record<string, number> = {};
  const recorded: Record<string, Finding[]> = {};
  for (const f of evidence.findings) {
    counts[f.severity] = (counts[f.severity] ?? 0) + 1;
    const blocking = gate.findings.block.includes(f.severity);
    const warning = !blocking && gate.findings.warn.includes(f.severity);
    if (!blocking && !warning) {
      (recorded[f.severity] ??= []).push(f);
      continue;
    }
    const counted = add(
      {
        rule: blocking ? 'finding-blocking' : 'finding-warning',
        severity: blocking ? 'block' : 'warn',
        summary: `Open ${f.severity} finding: ${f.title}`,
        evidence: [findingLabel(f), ...(f.url ? [f.url] : [])],
        subject: f.id,
      },
      { names: [f.id, f.ruleId], location: f.location, control: false, finding: f },
    );
    if (!counted) waivedCounts[f.severity] = (waivedCounts[f.severity] ?? 0) + 1;
  }
  for (const sev of SEVERITIES) {
    const list = recorded[sev];
    if (!list) continue;
    const shown = list.slice(0, 10).map(findingLabel);
    if (list.length > 10) shown.push(`and ${list.length - 10} more`);
    reasons.push({
      rule: 'finding-recorded',
      severity: 'info',
      summary: `${list.length} open ${sev} finding(s) recorded`,
      evidence: shown,
      subject: null,
    });
  }
  const summaryOf = SEVERITIES.filter((s) => counts[s]).map(
    (s) => `${s} ${counts[s]}${waivedCounts[s] ? ` (${waivedCounts[s]} waived)` : ''}`,
  );
  rows.push({
    item: 'Open findings',
    required: false,
    status: findingsSource
      ? 'error'
      : evidence.findings.some((f) => [...gate.findings.block].includes(f.severity) && !waived.some((w) => w.finding?.id === f.id))
        ? 'failed'
        : Object.keys(waivedCounts).length > 0
          ? 'waived'
          : 'recorded',
    detail: findingsSource ? `could not be read: ${findingsSource.message}` : summaryOf.length > 0 ? summaryOf.join(', ') : 'none open',
    url: null,
  });

  // Approvals: only at the head commit, from accounts with write access, never the author's, a bot's or the last pusher's.
  const review = reviewApprovals(evidence, change.author.login);
  const approvers = review.counted;
  const approvalsError = evidence.errors.some((e) => e.source === 'reviews' || e.source === 'approvals');
  const security = securityReviewers(policy, repo.platform).map(lower);
  const securityApprovers = approvers.filter((l) => security.includes(lower(l)));
  const approvalEvidence = [
    `approved at the head commit by ${approvers.length > 0 ? approvers.join(', ') : 'nobody'}`,
    ...review.notCounted.map((n) => n.why),
  ];
  if (review.notCounted.length > 0) {
    reasons.push({
      rule: 'approval-not-counted',
      severity: 'info',
      summary: `${review.notCounted.length} approval(s) did not count`,
      evidence: review.notCounted.map((n) => n.why),
      subject: null,
    });
  }
  if (!approvalsError && approvers.length < needs.approvals) {
    reasons.push({
      rule: 'approvals-missing',
      severity: 'block',
      summary: `${approvers.length} of ${needs.approvals} required approval(s) for ${cls}`,
      evidence: approvalEvidence,
      subject: null,
    });
  }
  if (!approvalsError && securityApprovers.length < needs.securityApprovals) {
    reasons.push({
      rule: 'security-approval-missing',
      severity: 'block',
      summary: `${securityApprovers.length} of ${needs.securityApprovals} required approval(s) from a security reviewer for ${cls}`,
      evidence: [
        security.length > 0
          ? `security reviewers: ${security.join(', ')}`
          : 'the policy names no security reviewers (gate.securityReviewers)',
        ...approvalEvidence,
      ],
      subject: null,
    });
  }
  if (evidence.changesRequestedBy.length > 0) {
    reasons.push({
      rule: 'changes-requested',
      severity: 'warn',
      summary: `Changes requested by ${evidence.changesRequestedBy.join(', ')}`,
      evidence: [],
      subject: null,
    });
  }
  rows.push({
    item: 'Approvals',
    required: needs.approvals > 0,
    status: approvalsError
      ? 'error'
      : approvers.length >= needs.approvals && securityApprovers.length >= needs.securityApprovals
        ? 'ok'
        : 'missing',
    detail: `${approvers.length} of ${needs.approvals}${needs.securityApprovals > 0 ? `, security ${securityApprovers.length} of ${needs.securityApprovals}` : ''}: ${approvers.length > 0 ? approvers.join(', ') : 'none'}${review.notCounted.length > 0 ? `; not counted: ${review.notCounted.map((n) => n.why).join('; ')}` : ''}`,
    url: null,
  });

  // Rollback notes.
  // A description cut at the platform's limit gives no evidence (fail closed, saying why).
  const cut = descriptionCut(change.body, repo.platform);
  const rollback = cut ? null : descriptionSection(change.body, ['Rollback', 'Rollback plan']);
  if (needs.rollback) {
    let status: EvidenceRow['status'] = rollback ? 'ok' : 'missing';
    if (!rollback) {
      const counted = add(
        {
          rule: 'rollback-missing',
          severity: 'block',
          summary: `A ${cls} release needs a non-empty Rollback section in its description`,
          evidence: [cut ?? 'no "Rollback" heading with text under it'],
          subject: controlTarget('rollback'),
        },
        { names: [controlTarget('rollback')], location: null, control: true },
      );
      if (!counted) status = 'waived';
    }
    rows.push({
      item: 'Rollback notes',
      required: true,
      status,
      detail: rollback ? 'Rollback section present' : (cut ?? 'no Rollback section'),
      url: null,
    });
  } else {
    rows.push({
      item: 'Rollback notes',
      required: false,
      status: rollback ? 'ok' : 'missing',
      detail: rollback ? 'Rollback section present' : 'not required',
      url: null,
    });
  }

  // Exceptions in use that will expire soon.
  const soon = now.getTime() + gate.exceptions.reminderDays * DAY_MS;
  const expiring = [...used.values()].filter((e) => e.expiresAt.getTime() <= soon);
  for (const e of expiring)
    reasons.push({
      rule: 'exception-expiring',
      severity: 'info',
      summary: `Exception ${e.id} expires at ${e.expiresAt.toISOString()}; after that the gate blocks again`,
      evidence: [`waives ${e.findingRef}`],
      subject: e.findingRef,
    });

  // The verdict.
  const has = (s: ReasonSeverity): boolean => reasons.some((r) => r.severity === s);
  let verdict: Verdict;
  let emergency: EmergencyRecord | null = null;
  if (cls === 'emergency' && !retry) {
    const named = principalsFor(gate.emergencyApprovers, repo.platform).map(lower);
    // Bound to its commit: only an approval of the head counts (reviewApprovals drops the others).
    const approver = approvers.find((a) => named.includes(lower(a))) ?? null;
    const why = cut ? null : descriptionSection(change.body, ['Emergency reason', 'Reason']);
    const bypassed = reasons.filter((r) => r.severity === 'block' || r.severity === 'pending');
    if (!approver) {
      reasons.push({
        rule: 'emergency-approver-missing',
        severity: 'block',
        summary: 'An emergency release needs an approval from an emergency approver named in the policy',
        evidence: [
          named.length > 0
            ? `emergency approvers: ${named.join(', ')}`
            : 'the policy names no emergency approvers (gate.emergencyApprovers)',
          ...approvalEvidence,
          ...review.notCounted
            .filter((n) => named.includes(lower(n.login)))
            .map((n) => `the emergency approval of ${n.login} does not count: ${n.why}`),
        ],
        subject: null,
      });
    }
    if (!why)
      reasons.push({
        rule: 'emergency-reason-missing',
        severity: 'block',
        summary: 'An emergency release needs an "Emergency reason" section in its description',
        evidence: cut ? [cut] : [],
        subject: null,
      });
    rows.push({
      item: 'Emergency approver',
      required: true,
      status: approver ? 'ok' : 'missing',
      detail: approver ?? `none of ${named.length > 0 ? named.join(', ') : '(none named)'}`,
      url: null,
    });
    if (approver && why) {
      verdict = 'emergency';
      const due = new Date(now.getTime() + gate.emergency.retrospectiveDueDays * DAY_MS).toISOString().slice(0, 10);
      emergency = {
        reason: why,
        approver,
        approvedSha: evidence.headSha,
        decidedAt: now.toISOString(),
        headSha: evidence.headSha,
        evidence: {
          checks: evidence.checks.map((c) => ({ name: c.name, state: c.state })),
          findings: counts,
          approvals: approvers,
          approvedSha: evidence.headSha,
          collectedAt: evidence.collectedAt,
        },
        controlsBypassed: bypassed,
        followUp: {
          kind: 'retrospective',
          title: `Retrospective: emergency release ${repo.fullName}${change.ref.kind === 'change' && repo.platform === 'gitlab' ? '!' : '#'}${change.ref.number}`,
          dueDate: due,
        },
      };
      reasons.push({
        rule: 'emergency-approved',
        severity: 'info',
        summary: `Emergency release approved by ${approver} at commit ${evidence.headSha.slice(0, 12)}; ${bypassed.length} control(s) bypassed; retrospective due ${due}`,
        evidence: bypassed.map((r) => r.summary),
        subject: null,
      });
    } else {
      verdict = 'block';
    }
  } else if (retry) {
    verdict = 'pending';
  } else if (has('block')) {
    verdict = 'block';
  } else if (has('pending')) {
    verdict = 'pending';
  } else if (has('warn')) {
    verdict = 'warn';
  } else {
    verdict = 'pass';
  }

  return {
    verdict,
    releaseClass: cls,
    classDecision,
    mode,
    headSha: evidence.headSha,
    reasons,
    evidence: rows,
    waived,
    emergency,
    expiring,
    retry,
  };
}
