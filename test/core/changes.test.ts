import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/core/actions.ts';
import type { ChangeRequestEvent } from '../../src/core/model.ts';
import { defaultPolicy, validatePolicy } from '../../src/core/policy/load.ts';
import type { Policy } from '../../src/core/policy/schema.ts';
import { CHANGE_MARKER, plan, type PriorDecision } from '../../src/core/plan.ts';
import { classifyChanges } from '../../src/core/routing/changes.ts';
import { createRenderer } from '../../src/render/templates.ts';
import { intakeBody } from '../builders/intake.ts';

const NOW = new Date('2026-11-20T10:00:00Z');
const render = createRenderer();

describe('classifyChanges with the default path rules', () => {
  it.each([
    ['authentication code', ['src/auth/login.ts'], 2, 'authentication-authorization-code'],
    ['an authorization service by name', ['lib/userAuthService.ts'], 2, 'authentication-authorization-code'],
    ['Terraform', ['infra/network/main.tf'], 2, 'iam-and-infrastructure-as-code'],
    ['an IAM policy', ['platform/iam/roles.json'], 2, 'iam-and-infrastructure-as-code'],
    ['a GitHub Actions workflow', ['.github/workflows/release.yml'], 2, 'ci-cd-and-deploy-keys'],
    ['GitLab CI', ['.gitlab-ci.yml'], 2, 'ci-cd-and-deploy-keys'],
    ['a deploy key', ['ops/keys/id_ed25519.pub'], 2, 'ci-cd-and-deploy-keys'],
    ['tenant isolation', ['app/models/tenant_scope.rb'], 2, 'tenant-isolation'],
    ['a public API definition', ['api/openapi.yaml'], 1, 'public-api-definitions'],
    ['protobuf', ['proto/payments/v1/payments.proto'], 1, 'public-api-definitions'],
  ] as const)('%s', (_name, paths, tier, rule) => {
    const d = classifyChanges(paths, defaultPolicy);
    expect(d.tier).toBe(tier);
    expect(d.reasons.map((r) => r.rule)).toEqual([rule]);
    expect(d.reasons[0]!.evidence).toEqual(paths.map((p) => `path ${p}`));
  });

  it.each([
    ['docs only', ['docs/authentication.md', 'README.md', 'docs/img/login.png']],
    ['ordinary code', ['src/index.ts', 'src/util/strings.ts']],
    ['nothing', []],
  ])('%s → no security tier', (_name, paths) => {
    expect(classifyChanges(paths, defaultPolicy)).toEqual({ tier: null, reasons: [] });
  });

  it('gives the highest tier of every rule that matched, with every rule as a reason, and caps the listed paths', () => {
    const paths = ['api/openapi.yaml', ...Array.from({ length: 7 }, (_, i) => `src/auth/f${i}.ts`)];
    const d = classifyChanges(paths, defaultPolicy);
    expect(d.tier).toBe(2);
    expect(d.reasons.map((r) => r.rule)).toEqual(['authentication-authorization-code', 'public-api-definitions']);
    expect(d.reasons[0]!.evidence).toHaveLength(6);
    expect(d.reasons[0]!.evidence[5]).toBe('and 2 more path(s)');
  });
});

function policyWith(over: object): Policy {
  const r = validatePolicy(over, defaultPolicy);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

function changeEvent({
  action = 'opened',
  body = '',
  labels = [],
  platform = 'github',
}: {
  action?: ChangeRequestEvent['action'];
  body?: string;
  labels?: string[];
  platform?: 'github' | 'gitlab';
}): ChangeRequestEvent {
  return {
    kind: 'change',
    action,
    deliveryId: 'd1',
    actor: { login: 'dev', isBot: false },
    change: {
      ref: { repo: { platform, fullName: 'acme/payments', id: 1, defaultBranch: 'main' }, number: 7 },
      title: 'Rework login',
      body,
      labels,
      state: 'open',
      author: { login: 'dev', isBot: false },
      url: 'https://example.test/acme/payments/pull/7',
      headSha: 'abc',
      targetBranch: 'main',
      draft: false,
    },
  };
}

const run = (
  event: ChangeRequestEvent,
  changedPaths: string[],
  { policy = defaultPolicy, history = [] as PriorDecision[] } = {},
): Action[] =>
  plan(event, { policy, policySource: 'built-in default', policyWarnings: [], now: NOW, render, history, changedPaths }).actions;

const reviewers = policyWith({ changes: { reviewers: { github: ['acme/prodsec', 'alice'], gitlab: ['prodsec-bot'] } } });

describe('plan for pull/merge requests', () => {
  it('labels an authentication change deep-review, names the path in the comment, and requests a review', () => {
    const actions = run(changeEvent({}), ['src/auth/session.ts', 'README.md'], { policy: reviewers });
    expect(actions.map((a) => a.type)).toEqual(['recordDecision', 'ensureComment', 'ensureLabels', 'requestReview']);
    expect(actions.find((a) => a.type === 'ensureLabels')).toMatchObject({ add: ['tier::deep-review'], remove: [] });
    const comment = actions.find((a) => a.type === 'ensureComment');
    expect(comment).toMatchObject({ marker: CHANGE_MARKER });
    expect(comment && 'body' in comment ? comment.body : '').toContain('path src/auth/session.ts');
    expect(actions.find((a) => a.type === 'requestReview')).toMatchObject({ reviewers: ['acme/prodsec', 'alice'] });
  });

  it('also asks the accounts only requested (a repository override’s reviewers), once each, after the security reviewers', () => {
    const policy = policyWith({
      changes: { reviewers: { github: ['acme/prodsec', 'alice'] }, requestReviewers: { github: ['friend', 'Alice'], gitlab: ['other'] } },
    });
    const actions = run(changeEvent({}), ['src/auth/session.ts'], { policy });
    expect(actions.find((a) => a.type === 'requestReview')).toMatchObject({ reviewers: ['acme/prodsec', 'alice', 'friend'] });
  });

  it('uses the GitLab reviewers on GitLab', () => {
    const actions = run(changeEvent({ platform: 'gitlab' }), ['src/auth/session.ts'], { policy: reviewers });
    expect(actions.find((a) => a.type === 'requestReview')).toMatchObject({ reviewers: ['prodsec-bot'] });
  });

  it('gives a docs-only change no security tier and does nothing', () => {
    expect(run(changeEvent({}), ['docs/auth.md', 'README.md'], { policy: reviewers })).toEqual([]);
  });

  it('asks for review only when the tier first reaches the threshold, not on every new commit', () => {
    const history: PriorDecision[] = [{ tier: 2, routes: [], reasons: [], decidedAt: NOW }];
    const actions = run(changeEvent({ action: 'synchronize', labels: ['tier::deep-review'] }), ['src/auth/session.ts'], {
      policy: reviewers,
      history,
    });
    expect(actions.map((a) => a.type)).not.toContain('requestReview');
  });

  it('counts an intake form in the description together with the paths: the highest tier wins', () => {
    const body = intakeBody({ blast_radius: 'multiple products or trust domains' });
    const actions = run(changeEvent({ body }), ['api/openapi.yaml']);
    expect(actions.find((a) => a.type === 'ensureLabels')).toMatchObject({ add: ['tier::leadership'] });
    const decision = actions.find((a) => a.type === 'recordDecision');
    expect(decision && 'reasons' in decision ? decision.reasons.map((r) => r.rule) : []).toEqual([
      'public-api-definitions',
      'cross-domain-blast-radius',
    ]);
    expect(actions.map((a) => a.type)).toContain('saveIntake');
  });

  it('removes the tier label when new commits take the security-relevant paths out again', () => {
    const history: PriorDecision[] = [{ tier: 2, routes: [], reasons: [], decidedAt: NOW }];
    const actions = run(changeEvent({ action: 'synchronize', labels: ['tier::deep-review', 'bug'] }), ['src/index.ts'], { history });
    expect(actions.find((a) => a.type === 'ensureLabels')).toMatchObject({ add: [], remove: ['tier::deep-review'] });
    const comment = actions.find((a) => a.type === 'ensureComment');
    expect(comment && 'body' in comment ? comment.body : '').toContain('No security tier');
  });

  it('ignores closed change requests and events that cannot change the classification', () => {
    expect(run(changeEvent({ action: 'closed' }), ['src/auth/x.ts'])).toEqual([]);
    expect(run(changeEvent({ action: 'labeled' }), ['src/auth/x.ts'])).toEqual([]);
  });
});
