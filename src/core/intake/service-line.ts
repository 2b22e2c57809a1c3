/**
 * The service line of an intake (the security service catalog): the requester's answer, or,
 * when it is missing, one inferred from the routing reasons where the routing makes it obvious.
 */
import type { Reason } from '../model.ts';

export const SERVICE_LINE_FIELD = 'service_line';
/** Where an inferred service line is kept in the intake record's answers. */
export const SERVICE_LINE_INFERRED = 'service_line_inferred';

export const SERVICE_LINES = {
  secureDesign: 'Secure design / architecture review',
  testing: 'Security testing and validation support',
  platform: 'Platform standards and golden paths',
  release: 'CI/CD and release governance',
  cloud: 'Cloud / Kubernetes control review',
  vulnerability: 'Vulnerability management and remediation governance',
  incident: 'Incident partnership and post-incident hardening',
  metrics: 'Metrics, reporting, and executive narrative',
} as const;

/** Change rules about CI/CD, deployment configuration and deploy keys. */
const RELEASE_RULES = /(^|-)(ci|cd|deploy|release|pipeline)(-|$)/;

export interface ServiceLineInput {
  /** The requester's answer (null or absent when not given). */
  answer: string | null | undefined;
  routes: readonly string[];
  reasons: readonly Reason[];
  /** The intake sits on a pull/merge request rather than an issue. */
  onChangeRequest: boolean;
  /** The policy's options for the field; an inferred line outside them is not offered. */
  options: readonly string[];
}

export interface ServiceLine {
  value: string;
  inferred: boolean;
  /** Why it was inferred (empty for an answer). */
  because: string;
}

/**
 * The answer when there is one; else, in this order: an incident route, an exception-board
 * route, a change request or a CI/CD rule, a tier-2/3 design rule. Null when none is obvious.
 */
export function serviceLine(input: ServiceLineInput): ServiceLine | null {
  if (typeof input.answer === 'string' && input.answer.trim() !== '') return { value: input.answer, inferred: false, because: '' };
  const offered = (value: string): boolean =>
    input.options.length === 0 || input.options.some((o) => o.trim().toLowerCase() === value.toLowerCase());
  const candidates: [boolean, string, string][] = [
    [input.routes.includes('incident'), SERVICE_LINES.incident, 'routed to incident'],
    [input.routes.includes('exception-board'), SERVICE_LINES.vulnerability, 'routed to the exception board'],
    [
      input.onChangeRequest || input.reasons.some((r) => RELEASE_RULES.test(r.rule)),
      SERVICE_LINES.release,
      input.onChangeRequest ? 'a change request' : 'CI/CD or deployment paths changed',
    ],
    [
      input.reasons.some((r) => r.tier !== null && r.tier >= 2 && r.route === null),
      SERVICE_LINES.secureDesign,
      'a tier-2/3 design rule fired',
    ],
  ];
  for (const [applies, value, because] of candidates) if (applies && offered(value)) return { value, inferred: true, because };
  return null;
}
