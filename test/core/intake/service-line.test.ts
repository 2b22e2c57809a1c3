import { describe, expect, it } from 'vitest';
import { SERVICE_LINE_INFERRED, SERVICE_LINES, serviceLine, type ServiceLineInput } from '../../../src/core/intake/service-line.ts';
import type { Reason } from '../../../src/core/model.ts';
import { plan } from '../../../src/core/plan.ts';
import { defaultPolicy } from '../../../src/core/policy/load.ts';
import type { SaveIntake } from '../../../src/core/actions.ts';
import { issueEvent, planContext } from '../../builders/events.ts';
import { intakeBody } from '../../builders/intake.ts';

const reason = (rule: string, tier: Reason['tier'], route: string | null = null): Reason => ({
  rule,
  summary: rule,
  evidence: [],
  tier,
  route,
});
const options = defaultPolicy.intake.fields.find((f) => f.id === 'service_line')!.options!;
const base: ServiceLineInput = { answer: null, routes: [], reasons: [], onChangeRequest: false, options };

describe('serviceLine', () => {
  const table: [string, Partial<ServiceLineInput>, string | null, boolean][] = [
    ['an answer wins over every inference', { answer: SERVICE_LINES.cloud, routes: ['incident'] }, SERVICE_LINES.cloud, false],
    ['an incident route', { routes: ['incident'], reasons: [reason('active-exploitation', 3, 'incident')] }, SERVICE_LINES.incident, true],
    ['the exception board', { routes: ['exception-board'] }, SERVICE_LINES.vulnerability, true],
    ['incident before the exception board', { routes: ['exception-board', 'incident'] }, SERVICE_LINES.incident, true],
    ['a change request', { onChangeRequest: true }, SERVICE_LINES.release, true],
    ['CI/CD paths', { reasons: [reason('ci-cd-and-deploy-keys', 2)] }, SERVICE_LINES.release, true],
    [
      'CI/CD before design',
      { reasons: [reason('public-endpoint-or-identity-boundary', 2), reason('ci-cd-and-deploy-keys', 2)] },
      SERVICE_LINES.release,
      true,
    ],
    ['a tier-2 design rule', { reasons: [reason('public-endpoint-or-identity-boundary', 2)] }, SERVICE_LINES.secureDesign, true],
    ['a tier-3 rule', { reasons: [reason('cross-domain-blast-radius', 3)] }, SERVICE_LINES.secureDesign, true],
    ['tier 1 is not obvious', { reasons: [reason('iam-or-network-single-service', 1)] }, null, false],
    ['nothing fired', {}, null, false],
    ['a blank answer counts as missing', { answer: '  ', routes: ['incident'] }, SERVICE_LINES.incident, true],
    ['an inference outside the policy options is not offered', { routes: ['incident'], options: ['Something else'] }, null, false],
  ];
  it.each(table)('%s', (_name, input, value, inferred) => {
    const line = serviceLine({ ...base, ...input });
    if (value === null) expect(line).toBeNull();
    else expect(line).toMatchObject({ value, inferred });
  });
});

describe('plan keeps the service line with the intake record', () => {
  const saved = (body: string): SaveIntake =>
    plan(issueEvent({ body, labels: [] }), planContext()).actions.find((a): a is SaveIntake => a.type === 'saveIntake')!;
  const comment = (body: string): string => {
    const c = plan(issueEvent({ body, labels: [] }), planContext()).actions.find((a) => a.type === 'ensureComment');
    return c && 'body' in c ? c.body : '';
  };

  it('an answer is kept as given and shown plainly', () => {
    const body = intakeBody({ exposure: 'new public endpoint', service_line: SERVICE_LINES.cloud });
    expect(saved(body).record.answers['service_line']).toBe(SERVICE_LINES.cloud);
    expect(saved(body).record.answers[SERVICE_LINE_INFERRED]).toBeUndefined();
    expect(comment(body)).toContain(`**Service line:** ${SERVICE_LINES.cloud}\n`);
  });

  it('a missing answer is inferred from the routing, stored apart and shown as inferred', () => {
    const body = intakeBody({ active_exploitation: 'yes' });
    expect(saved(body).record.answers['service_line']).toBeNull();
    expect(saved(body).record.answers[SERVICE_LINE_INFERRED]).toBe(SERVICE_LINES.incident);
    expect(comment(body)).toContain(`**Service line:** ${SERVICE_LINES.incident} (inferred) — routed to incident`);
  });

  it('nothing obvious: no line and no inference', () => {
    const body = intakeBody({});
    expect(saved(body).record.answers[SERVICE_LINE_INFERRED]).toBeUndefined();
    expect(comment(body)).not.toContain('Service line');
  });
});
