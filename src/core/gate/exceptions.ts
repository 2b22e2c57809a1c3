/**
 * The exception register, as the gate sees it: an approved, unexpired exception waives exactly
 * its finding (rule id or finding id) or control (`control:<scan kind>`, `control:rollback`) in
 * its scope (repository, optional path glob). Everything else is explained, never silently used.
 */
import picomatch from 'picomatch';
import type { Platform } from '../model.ts';

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

export type ExceptionMatch =
  | { applies: true; exception: GateException }
  | { applies: false; exception: GateException; why: string };

const lower = (s: string): string => s.trim().toLowerCase();

export const controlTarget = (name: string): string => `control:${name}`;

/** Whether `exception` waives `subject` in `repo` at `now`, and if not, why not; null when it names something else. */
export function matchException(exception: GateException, subject: WaiverSubject, repo: { platform: Platform; fullName: string }, now: Date): ExceptionMatch | null {
  if (!subject.names.some((n) => lower(n) === lower(exception.findingRef))) return null;
  const no = (why: string): ExceptionMatch => ({ applies: false, exception, why });
  if (lower(exception.scope.repo) !== lower(repoKey(repo))) return no(`exception ${exception.id} is scoped to ${exception.scope.repo}, not this repository`);
  const paths = exception.scope.paths;
  if (paths.length > 0 && !subject.control) {
    if (!subject.location) return no(`exception ${exception.id} is scoped to ${paths.join(', ')}; the finding has no location`);
    if (!picomatch(paths, { dot: true })(subject.location)) return no(`exception ${exception.id} is scoped to ${paths.join(', ')}, not ${subject.location}`);
  }
  if (exception.status !== 'approved') return no(`exception ${exception.id} is ${exception.status}, not approved`);
  if (exception.expiresAt.getTime() <= now.getTime()) return no(`exception ${exception.id} expired at ${exception.expiresAt.toISOString()}`);
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
