/**
 * The exception register, as the gate sees it: an approved, unexpired exception waives exactly
 * its finding (rule id or finding id) or control (`control:<scan kind>`, `control:rollback`) in
 * its scope (repository, optional path glob). Everything else is explained, never silently used.
 */
import picomatch from 'picomatch';
import type { Platform } from '../model.ts';

export type ExceptionStatus = 'requested' | 'approved' | 'rejected' | 'revoked';

export interface GateException {
  /** The register's id: the exception request's issue key (`github:acme/app#12`). */
  id: string;
  /** What it waives: a finding's rule id or id (`js/sql-injection`, `code-scanning:42`), or `control:<name>`. */
  target: string;
  /** Kind of finding or control (`sast`, `secrets`, `provenance`…): repeated categories are escalated. */
  category: string;
  scope: {
    platform: Exclude<Platform, 'slack'>;
    /** `owner/name` (GitHub) or project path (GitLab). */
    repo: string;
    /** A picomatch glob the finding's location must match; null: the whole repository. */
    path: string | null;
  };
  status: ExceptionStatus;
  approvedBy: string | null;
  /** ISO-8601 UTC. */
  approvedAt: string | null;
  /** ISO-8601 UTC: the first moment it no longer waives. */
  expiresAt: string;
  requestedBy: string;
  businessOwner: string | null;
  compensatingControls: string;
  url: string | null;
  /** The exception this one renews, when it does. */
  renewalOf: string | null;
}

/** What an exception could waive: a finding (rule id and id, its location) or a control. */
export interface WaiverSubject {
  /** Names that an exception's target may use (case-insensitive). */
  names: readonly string[];
  /** Where the finding is (path globs apply to it); null for controls and findings without one. */
  location: string | null;
  /** Controls apply repository-wide: a path scope does not restrict them. */
  control: boolean;
}

export type ExceptionMatch =
  | { applies: true; exception: GateException }
  | { applies: false; exception: GateException; why: string };

const lower = (s: string): string => s.trim().toLowerCase();

export const controlTarget = (name: string): string => `control:${name}`;

/** Whether `exception` waives `subject` in `repo` at `now`, and if not, why not. */
export function matchException(exception: GateException, subject: WaiverSubject, repo: { platform: Platform; fullName: string }, now: Date): ExceptionMatch | null {
  if (!subject.names.some((n) => lower(n) === lower(exception.target))) return null;
  const no = (why: string): ExceptionMatch => ({ applies: false, exception, why });
  if (exception.scope.platform !== repo.platform || lower(exception.scope.repo) !== lower(repo.fullName)) {
    return no(`exception ${exception.id} is scoped to ${exception.scope.platform} ${exception.scope.repo}, not this repository`);
  }
  if (exception.scope.path && !subject.control) {
    if (!subject.location) return no(`exception ${exception.id} is scoped to ${exception.scope.path}; the finding has no location`);
    if (!picomatch(exception.scope.path, { dot: true })(subject.location)) return no(`exception ${exception.id} is scoped to ${exception.scope.path}, not ${subject.location}`);
  }
  if (exception.status !== 'approved') return no(`exception ${exception.id} is ${exception.status}, not approved`);
  const expires = Date.parse(exception.expiresAt);
  if (Number.isNaN(expires) || expires <= now.getTime()) return no(`exception ${exception.id} expired at ${exception.expiresAt}`);
  return { applies: true, exception };
}

/** The first exception that waives `subject`, and the reasons the others (naming it) do not. */
export function findWaiver(exceptions: readonly GateException[], subject: WaiverSubject, repo: { platform: Platform; fullName: string }, now: Date): { waiver: GateException | null; refused: string[] } {
  const refused: string[] = [];
  for (const e of exceptions) {
    const m = matchException(e, subject, repo, now);
    if (!m) continue;
    if (m.applies) return { waiver: m.exception, refused: [] };
    refused.push(m.why);
  }
  return { waiver: null, refused };
}
