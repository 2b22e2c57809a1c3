/**
 * Which webhook secrets a GitLab delivery's token matches, and whether they cover its project.
 * Every secret is compared, in constant time, whatever matched before: the time taken says
 * nothing about which secret (or which prefix of one) was close.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** A secret and the project or group path it covers (`null`: every project). */
export interface ScopedSecret {
  scope: string | null;
  secret: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant time, whatever the lengths: both sides are hashed to 32 bytes first. */
export function tokenMatches(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(secret));
}

/** The secrets a single secret or a map stands for. */
export const scopedSecrets = (secret: string | readonly ScopedSecret[]): readonly ScopedSecret[] =>
  typeof secret === 'string' ? [{ scope: null, secret }] : secret;

/** The scopes whose secret is `given` (`null` in the list: every project); empty: no secret matches. */
export function matchingScopes(given: string | undefined, secrets: readonly ScopedSecret[]): (string | null)[] {
  const scopes: (string | null)[] = [];
  for (const s of secrets) {
    if (tokenMatches(given, s.secret)) scopes.push(s.scope);
  }
  return scopes;
}

/** Whether a project path is one of the scopes, or inside one of the groups (paths compare case-insensitively, as GitLab's do). */
export function covers(scopes: readonly (string | null)[], projectPath: string | null): boolean {
  if (scopes.includes(null)) return true;
  if (projectPath === null) return false;
  const path = projectPath.toLowerCase();
  return scopes.some((scope) => scope !== null && (path === scope || path.startsWith(`${scope}/`)));
}
