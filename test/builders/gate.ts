/** Release candidates, their evidence and exceptions for the gate's tests. */
import type { ApprovalEvidence, CheckEvidence, Finding, ReleaseEvidence } from '../../src/core/gate/evidence.ts';
import { termsDigest } from '../../src/core/gate/exception-terms.ts';
import type { GateException } from '../../src/core/gate/exceptions.ts';
import type { GateInput } from '../../src/core/gate/evaluate.ts';
import type { ChangeRequestSnapshot, RepoRef } from '../../src/core/model.ts';
import { defaultPolicy, validatePolicy } from '../../src/core/policy/load.ts';
import type { Policy } from '../../src/core/policy/schema.ts';

export const NOW = new Date('2026-11-20T10:00:00Z');
export const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
export const gateRepo: RepoRef = { platform: 'github', fullName: 'acme/shop', id: 99, defaultBranch: 'main' };

export function gatePolicy(gate: object = {}, extra: object = {}): Policy {
  const r = validatePolicy({ gate, ...extra }, defaultPolicy);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

export function releaseChange({
  labels = ['release'],
  body = 'Ships the spring release.',
  targetBranch = 'main',
  repo = gateRepo,
  number = 12,
  author = 'dev',
}: {
  labels?: string[];
  body?: string;
  targetBranch?: string;
  repo?: RepoRef;
  number?: number;
  author?: string;
} = {}): ChangeRequestSnapshot {
  return {
    ref: { repo, number, kind: 'change' },
    title: 'Release 2026.11',
    body,
    labels,
    state: 'open',
    author: { login: author, isBot: false },
    url: `https://github.com/${repo.fullName}/pull/${number}`,
    headSha: HEAD,
    targetBranch,
    draft: false,
  };
}

export const check = (name: string, state: CheckEvidence['state'] = 'success'): CheckEvidence => ({
  name,
  state,
  source: 'check-run',
  url: `https://ci.example/${encodeURIComponent(name)}`,
});

/** The checks a prod release passes with: a secrets scan and a provenance attestation. */
export const PROD_CHECKS: CheckEvidence[] = [check('secret-scanning'), check('slsa-provenance'), check('unit tests')];
export const ALL_CHECKS: CheckEvidence[] = [...PROD_CHECKS, check('CodeQL'), check('dependency-review')];

export function finding(over: Partial<Finding> = {}): Finding {
  return {
    id: 'code-scanning:42',
    ruleId: 'js/sql-injection',
    category: 'sast',
    severity: 'critical',
    title: 'Database query built from user-controlled sources',
    location: 'src/db/query.ts',
    tool: 'CodeQL',
    url: null,
    ...over,
  };
}

/** An approval of the head commit by an account with write access (override any fact). */
export function approval(login: string, over: Partial<ApprovalEvidence> = {}): ApprovalEvidence {
  return { login, atHead: true, commitSha: HEAD, bot: false, canWrite: true, lastPusher: false, ...over };
}

export function evidence(over: Partial<ReleaseEvidence> = {}): ReleaseEvidence {
  return {
    headSha: HEAD,
    collectedAt: NOW.toISOString(),
    checks: PROD_CHECKS,
    approvals: [approval('alice')],
    changesRequestedBy: [],
    changedPaths: ['src/cart.ts'],
    findings: [],
    errors: [],
    stats: { apiCalls: 5, checkRuns: 3, findings: 0 },
    ...over,
  };
}

/** An exception; approved ones carry the digest of their own terms unless `approvedDigest` is given. */
export function exception(over: Partial<GateException> = {}): GateException {
  const e: Omit<GateException, 'approvedDigest'> = {
    id: 'github:acme/shop#50',
    findingRef: 'js/sql-injection',
    category: 'sast',
    scope: { repo: 'github:acme/shop', paths: [] },
    status: 'approved',
    approvedBy: 'ciso',
    approvedAt: new Date('2026-11-01T00:00:00.000Z'),
    expiresAt: new Date('2026-12-31T00:00:00.000Z'),
    requestedBy: 'dev',
    requestedAt: new Date('2026-10-30T00:00:00.000Z'),
    businessOwner: '@owner',
    compensatingControls: 'WAF rule 1234',
    renewalOf: null,
    ...over,
  };
  return {
    ...e,
    approvedDigest: 'approvedDigest' in over ? (over.approvedDigest ?? null) : e.status === 'approved' ? termsDigest(e) : null,
  };
}

export function gateInput({
  change = releaseChange(),
  ev = evidence(),
  exceptions = [],
}: { change?: ChangeRequestSnapshot; ev?: ReleaseEvidence; exceptions?: GateException[] } = {}): GateInput {
  return { change, evidence: ev, exceptions };
}
