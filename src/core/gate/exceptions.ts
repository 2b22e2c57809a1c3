/**
 * The exception register, as the gate sees it: an approved, unexpired exception waives exactly
 * its finding (rule id or finding id) or control (`control:<scan kind>`, `control:rollback`) in
 * its scope (repository, optional path glob) — and only while its approval still holds: given for
 * these very terms (their digest), by an account that the global policy still names as an
 * exception approver, who is not the requester, and (for an exception scoped to another repository
 * than the request's) who is also a cross-repository approver. Everything else is explained, never
 * silently used.
 */
import picomatch from 'picomatch';
import { globProblem } from '../policy/glob.ts';
import type { Platform } from '../model.ts';
import { shortDigest, termsDigest } from './exception-terms.ts';

export type ExceptionStatus = 'requested' | 'approved' | 'rejected' | 'revoked';

/** One entry of the exception register (the same shape the GateStore keeps). */
export interface GateException {
  /** The register's id: the exception request's issue key (`github:acme/app#12`). */
  id: string;
  /** What it waives: a finding's rule id or id (`js/sql-injection`, `code-scanning:42`), or `control:<name>`. */
  findingRef: string;
  /** Kind of finding or control (`sast`, `secrets`, `provenance`…): repeated categories are escalated. */
  category: string | null;
  scope: {
    /** The repository key: `github:owner/name` or `gitlab:group/project`. */
    repo: string;
    /** Picomatch globs the finding's location must match (any); empty: the whole repository. */
    paths: string[];
  };
  status: ExceptionStatus;
  approvedBy: string | null;
  approvedAt: Date | null;
  /** The digest of the terms the approval was given for (exception-terms.ts); null when not approved. */
  approvedDigest: string | null;
  /** The first moment it no longer waives. */
  expiresAt: Date;
  requestedBy: string;
  requestedAt: Date;
  businessOwner: string;
  compensatingControls: string;
  /** The exception this one renews, when it does. */
  renewalOf: string | null;
}

/** The repository key exceptions are scoped by. */
export const repoKey = (repo: { platform: Platform; fullName: string }): string => `${repo.platform}:${repo.fullName}`;

/** What an exception could waive: a finding (rule id and id, its location) or a control. */
export interface WaiverSubject {
  /** Names that an exception's target may use (case-insensitive). */
  names: readonly string[];
  /** Where the finding is (path globs apply to it); null for controls and findings without one. */
  location: string | null;
  /** Controls apply repository-wide: a path scope does not restrict them. */
  control: boolean;
}

const lower = (s: string): string => s.trim().toLowerCase();

/** Who may approve exceptions: the global policy's `gate.exceptions` lists, per platform. */
export interface ExceptionAuthority {
  approvers: { github: readonly string[]; gitlab: readonly string[] };
  crossRepoApprovers: { github: readonly string[]; gitlab: readonly string[] };
}

/** The repository key of the request issue (`github:acme/requests` of `github:acme/requests#12`). */
export const requestRepoOf = (id: string): string => id.replace(/#\d+$/, '');

const platformOf = (e: Pick<GateException, 'id'>): 'github' | 'gitlab' => (e.id.startsWith('gitlab:') ? 'gitlab' : 'github');
const names = (list: readonly string[]): string => (list.length > 0 ? list.join(', ') : 'none');

/**
 * Why `approver` may not approve `e` (null: they may): not an exception approver in the global
 * policy, the requester, or — for an exception scoped to another repository than the request's —
 * not a cross-repository approver.
 */
export function approvalRefusal(
  e: Pick<GateException, 'id' | 'scope' | 'requestedBy'>,
  approver: string,
  authority: ExceptionAuthority,
): string | null {
  const platform = platformOf(e);
  const approvers = authority.approvers[platform];
  const cross = authority.crossRepoApprovers[platform];
  const who = lower(approver);
  if (!approvers.some((a) => lower(a) === who))
    return `${approver} is not an exception approver (${approvers.length > 0 ? approvers.join(', ') : 'the policy names none: gate.exceptions.approvers'})`;
  if (lower(e.requestedBy) === who) return `${approver} requested this exception, and a requester cannot approve their own exception`;
  const home = requestRepoOf(e.id);
  if (lower(home) !== lower(e.scope.repo) && !cross.some((a) => lower(a) === who)) {
    return `the exception is for ${e.scope.repo}, another repository than the request's (${home}), and ${approver} is not a cross-repository approver (gate.exceptions.crossRepoApprovers: ${names(cross)})`;
  }
  return null;
}

/** Why an approved exception's approval no longer holds (null: it holds). */
export function approvalProblem(e: GateException, authority: ExceptionAuthority): string | null {
  if (!e.approvedBy) return 'it names no approver';
  if (!e.approvedDigest) return 'it was approved before approvals were bound to the terms; it needs approving again';
  const digest = termsDigest(e);
  if (e.approvedDigest !== digest) return `the approval was for other terms (${shortDigest(e.approvedDigest)}, now ${shortDigest(digest)})`;
  return approvalRefusal(e, e.approvedBy, authority);
}

export type ExceptionMatch = { applies: true; exception: GateException } | { applies: false; exception: GateException; why: string };

export const controlTarget = (name: string): string => `control:${name}`;

/** Whether `exception` waives `subject` in `repo` at `now`, and if not, why not; null when it names something else. */
export function matchException(
  exception: GateException,
  subject: WaiverSubject,
  repo: { platform: Platform; fullName: string },
  now: Date,
  authority: ExceptionAuthority,
): ExceptionMatch | null {
  if (!subject.names.some((n) => lower(n) === lower(exception.findingRef))) return null;
  const no = (why: string): ExceptionMatch => ({ applies: false, exception, why });
  if (lower(exception.scope.repo) !== lower(repoKey(repo)))
    return no(`exception ${exception.id} is scoped to ${exception.scope.repo}, not this repository`);
  const paths = exception.scope.paths;
  if (paths.length > 0 && !subject.control) {
    if (!subject.location) return no(`exception ${exception.id} is scoped to ${paths.join(', ')}; the finding has no location`);
    // Registered before globs were checked: a glob too costly to match scopes the exception to nothing.
    const costly = paths.find((p) => globProblem(p) !== null);
    if (costly !== undefined)
      return no(`exception ${exception.id} is scoped to a glob that would take too long to match (${costly.slice(0, 80)})`);
    if (!picomatch(paths, { dot: true })(subject.location))
      return no(`exception ${exception.id} is scoped to ${paths.join(', ')}, not ${subject.location}`);
  }
  if (exception.status !== 'approved') return no(`exception ${exception.id} is ${exception.status}, not approved`);
  if (exception.expiresAt.getTime() <= now.getTime())
    return no(`exception ${exception.id} expired at ${exception.expiresAt.toISOString()}`);
  const problem = approvalProblem(exception, authority);
  if (problem) return no(`exception ${exception.id}: approval no longer valid: ${problem}`);
  return { applies: true, exception };
}

/** The first exception that waives `subject`, and the reasons the others (naming it) do not. */
export function findWaiver(
  exceptions: readonly GateException[],
  subject: WaiverSubject,
  repo: { platform: Platform; fullName: string },
  now: Date,
  authority: ExceptionAuthority,
): { waiver: GateException | null; refused: string[] } {
  const refused: string[] = [];
  for (const e of exceptions) {
    const m = matchException(e, subject, repo, now, authority);
    if (!m) continue;
    if (m.applies) return { waiver: m.exception, refused: [] };
    refused.push(m.why);
  }
  return { waiver: null, refused };
}
