import { describe, expect, it } from 'vitest';
import type {
  Action,
  EnsureBodySection,
  EnsureComment,
  EnsureLabels,
  RecordToolDecision,
  RefuseCommand,
} from '../../../src/core/actions.ts';
import type { IssueCommentEvent } from '../../../src/core/model.ts';
import { plan } from '../../../src/core/plan.ts';
import { parsePolicy } from '../../../src/core/policy/load.ts';
import type { Policy } from '../../../src/core/policy/schema.ts';
import { setChecklist, withSection } from '../../../src/core/workflows/sections.ts';
import { readToolingAnswers, toolingFormOf, TOOLING_FORMS } from '../../../src/core/workflows/tooling-forms.ts';
import {
  CO_CREATE_SECTION,
  coCreateChecklist,
  effectiveInventory,
  HAND_OFF_MARKER,
  parseDecideCommand,
  retirementChecklist,
  SUNSET_SECTION,
  TOOL_DECISION_MARKER,
  TRANSFER_SECTION,
  type ToolDecisionRecord,
} from '../../../src/core/workflows/tooling.ts';
import { issueEvent, planContext } from '../../builders/events.ts';
import { COMMAND_REFUSED_MARKER, commandAuthority } from '../../../src/core/workflows/commands.ts';

const NOW = new Date('2026-11-24T10:00:00Z');

function policyOf(yaml: string): Policy {
  const r = parsePolicy(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const policy = policyOf(`
tooling:
  deciders: { github: [lead], gitlab: [lead] }
  inventory:
    - { name: scanner, criticality: high, pathForward: maintain, repos: [acme/scanner] }
`);

const requestBody = (tool = 'secret-sweeper', criticality = 'high'): string =>
  `### Tool name\n\n${tool}\n\n### Problem to solve\n\nLeaked keys\n\n### Who will use it\n\nPlatform team\n\n### Requested criticality\n\n${criticality}\n\n### Repositories\n\nacme/sweeper\n\n### Proposed owners\n\nalice, bob\n\n### Alternatives considered\n\n_No response_`;
const handoverBody = (tool = 'scanner'): string =>
  `### Tool name\n\n${tool}\n\n### Current owner\n\nplatform\n\n### Reason for the handover\n\nreorg\n\n### Current criticality\n\nmedium\n\n### Users and dependants\n\neveryone`;

function commentEvent({
  body,
  labels = ['tooling::request'],
  issueBody = requestBody(),
  login = 'lead',
  platform = 'github' as 'github' | 'gitlab',
  id = 11,
}: {
  body: string;
  labels?: string[];
  issueBody?: string;
  login?: string;
  platform?: 'github' | 'gitlab';
  id?: number;
}): IssueCommentEvent {
  const base = issueEvent({ body: issueBody, labels });
  return {
    kind: 'comment',
    action: 'created',
    deliveryId: `c-${id}`,
    actor: { login, isBot: false },
    comment: { id, body },
    issue: { ...base.issue, ref: { ...base.issue.ref, repo: { ...base.issue.ref.repo, platform } } },
  };
}

const run = (e: IssueCommentEvent, p: Policy = policy): Action[] => plan(e, planContext({ policy: p, now: NOW })).actions;
const record = (a: Action[]): ToolDecisionRecord | undefined =>
  a.find((x): x is RecordToolDecision => x.type === 'recordToolDecision')?.decision;
const labels = (a: Action[]): EnsureLabels | undefined => a.find((x): x is EnsureLabels => x.type === 'ensureLabels');
const sections = (a: Action[]): string[] =>
  a.filter((x): x is EnsureBodySection => x.type === 'ensureBodySection').flatMap((x) => x.sections.map((s) => s.name));
const comment = (a: Action[], marker = TOOL_DECISION_MARKER): string | undefined =>
  a.find((x): x is EnsureComment => x.type === 'ensureComment' && x.marker === marker)?.body;

describe('the decide command', () => {
  it.each([
    ['build-internal', 'maintain', 'high', 'path::maintain', 'criticality::high', []],
    ['build-in-product', 'integrate', 'high', 'path::integrate', 'criticality::high', [CO_CREATE_SECTION]],
    ['redirect', 'redirect', 'low', 'path::redirect', 'criticality::low', []],
    ['self-serve', 'redirect', 'low', 'path::redirect', 'criticality::low', []],
  ])('request %s → %s, %s', (decision, path, crit, pathLabel, critLabel, opened) => {
    const a = run(commentEvent({ body: `/gatehouse decide ${decision}` }));
    expect(record(a)).toMatchObject({
      tool: 'secret-sweeper',
      form: 'request',
      decision,
      pathForward: path,
      criticality: crit,
      repos: ['acme/sweeper'],
      owners: ['alice', 'bob'],
      decidedBy: 'lead',
      decidedAt: NOW,
    });
    expect(labels(a)?.add).toEqual([pathLabel, critLabel]);
    expect(sections(a)).toEqual(opened);
    expect(comment(a)).toContain(`Decision: \`${decision}\``);
    expect(comment(a)).toMatch(/SLO \(response\) \| .+ \|/);
  });

  it.each([
    ['wait', 'tooling::waiting'],
    ['defer', 'tooling::deferred'],
  ])('request %s: no inventory change, a status label', (decision, status) => {
    const a = run(commentEvent({ body: `/gatehouse decide ${decision}`, labels: ['tooling::request', 'tooling::waiting'] }));
    expect(record(a)).toMatchObject({ pathForward: null, criticality: null });
    if (status === 'tooling::waiting') expect(labels(a)).toBeUndefined();
    else expect(labels(a)).toMatchObject({ add: ['tooling::deferred'], remove: ['tooling::waiting'] });
    expect(comment(a)).toContain('inventory is unchanged');
  });

  it.each([
    ['accept', 'maintain', 'medium', [TRANSFER_SECTION]],
    ['accept-with-plan', 'improve', 'medium', [TRANSFER_SECTION]],
    ['best-effort', 'maintain', 'low', []],
    ['alternative', 'redirect', 'low', []],
    ['reprioritise', 'improve', 'high', []],
  ])('handover %s → %s, %s', (decision, path, crit, opened) => {
    const a = run(
      commentEvent({
        body: `/gatehouse decide ${decision}`,
        labels: ['tooling::handover', 'path::maintain', 'criticality::high'],
        issueBody: handoverBody(),
      }),
    );
    expect(record(a)).toMatchObject({ tool: 'scanner', form: 'handover', pathForward: path, criticality: crit });
    expect(sections(a)).toEqual(opened);
    const l = labels(a);
    if (path !== 'maintain') expect(l?.remove).toContain('path::maintain');
    if (crit !== 'high') expect(l?.remove).toContain('criticality::high');
  });

  it('a criticality after the decision overrides the requested one', () => {
    expect(record(run(commentEvent({ body: '/gatehouse decide build-internal critical' })))).toMatchObject({ criticality: 'critical' });
  });

  it('redirect caps the clocks at low in the comment', () => {
    const a = run(commentEvent({ body: '/gatehouse decide redirect high' }));
    expect(record(a)?.criticality).toBe('low');
  });

  it.each([
    ['an unauthorised account', { body: '/gatehouse decide build-internal', login: 'mallory' }, 'tooling deciders'],
    ['an unknown decision', { body: '/gatehouse decide ship-it' }, 'not a decision for a tooling request'],
    ['a handover decision on a request', { body: '/gatehouse decide accept' }, 'not a decision for a tooling request'],
    ['no decision', { body: '/gatehouse decide' }, 'no decision given'],
    ['a bad criticality', { body: '/gatehouse decide build-internal urgent' }, 'not a criticality'],
    [
      'not a tooling issue',
      { body: '/gatehouse decide build-internal', labels: ['intake'], issueBody: 'hello' },
      'not a tooling request or handover',
    ],
    ['no tool name', { body: '/gatehouse decide build-internal', issueBody: '### Problem to solve\n\nx' }, 'names no valid tool'],
    ['an invalid tool name', { body: '/gatehouse decide build-internal', issueBody: requestBody('Bad Name!') }, 'names no valid tool'],
  ])('%s is refused, audited, and changes nothing', (_, input, reason) => {
    const a = run(commentEvent(input));
    expect(a.map((x) => x.type)).toEqual(['refuseCommand', 'ensureComment']);
    expect(a[0]).toMatchObject({ command: 'decide', actor: 'login' in input ? input.login : 'lead', commentId: '11' });
    expect((a[0] as RefuseCommand).reason).toContain(reason);
    // One refusal comment per issue, edited in place: refused commands never pile up comments.
    expect(comment(a, COMMAND_REFUSED_MARKER)).toContain('Nothing was changed');
  });

  it('deciders are per forge', () => {
    const p = policyOf('tooling:\n  deciders: { github: [lead], gitlab: [gl-lead] }\n');
    expect(run(commentEvent({ body: '/gatehouse decide wait', platform: 'gitlab' }), p)[0]?.type).toBe('refuseCommand');
    expect(record(run(commentEvent({ body: '/gatehouse decide wait', platform: 'gitlab', login: 'GL-Lead' }), p))).toBeDefined();
  });

  it('deciders come from the global policy the shell passes: a repository policy naming one grants nothing', () => {
    const repoPolicy = policyOf('tooling:\n  deciders: { github: [mallory] }\n');
    const ctx = { ...planContext({ policy: repoPolicy, now: NOW }), authority: commandAuthority(policyOf('')) };
    const a = plan(commentEvent({ body: '/gatehouse decide build-internal', login: 'mallory' }), ctx).actions;
    expect(a[0]).toMatchObject({ type: 'refuseCommand', reason: expect.stringContaining('tooling.deciders.github') });
    expect(
      plan(commentEvent({ body: '/gatehouse decide build-internal', login: 'mallory' }), { ...ctx, authority: undefined }).actions[0]?.type,
    ).toBe('refuseCommand');
  });

  it('a comment that is no decide command plans nothing', () => {
    expect(run(commentEvent({ body: 'looks good to me' }))).toEqual([]);
  });

  it('parses the command strictly', () => {
    expect(parseDecideCommand('/gatehouse decide  Build-Internal  HIGH', 'request')).toEqual({
      ok: true,
      decision: 'build-internal',
      criticality: 'high',
    });
    expect(parseDecideCommand('/gatehouse decide accept now please', 'handover')).toMatchObject({ ok: false });
  });
});

describe('the effective inventory', () => {
  const d = (over: Partial<ToolDecisionRecord>): ToolDecisionRecord => ({
    tool: 'scanner',
    issueKey: 'github:a/b#1',
    form: 'handover',
    decision: 'x',
    pathForward: 'improve',
    criticality: 'low',
    repos: [],
    owners: [],
    decidedBy: 'lead',
    decidedAt: NOW,
    ...over,
  });

  it('overlays the latest decision per tool, adds new tools, skips status-only decisions', () => {
    const inv = effectiveInventory(policy.tooling.inventory, [
      d({ decidedAt: new Date('2026-11-25T00:00:00Z'), pathForward: 'redirect', criticality: 'low' }),
      d({ decidedAt: new Date('2026-11-20T00:00:00Z'), pathForward: 'improve', criticality: 'critical' }),
      d({ tool: 'sweeper', pathForward: 'maintain', criticality: 'high', repos: ['acme/sweeper'] }),
      d({ tool: 'later', pathForward: null, criticality: null }),
    ]);
    expect(inv.find((t) => t.name === 'scanner')).toMatchObject({ pathForward: 'redirect', criticality: 'low', repos: ['acme/scanner'] });
    expect(inv.find((t) => t.name === 'sweeper')).toMatchObject({ pathForward: 'maintain', criticality: 'high', repos: ['acme/sweeper'] });
    expect(inv.find((t) => t.name === 'later')).toBeUndefined();
    expect(policy.tooling.inventory[0]).toMatchObject({ pathForward: 'maintain', criticality: 'high' });
  });
});

describe('co-create, sunset and transfer checklists', () => {
  const ev = (body: string, labels: string[]) => issueEvent({ action: 'edited', body, labels });
  const run2 = (body: string, labels: string[]): Action[] => plan(ev(body, labels), planContext({ policy, now: NOW })).actions;
  const withCoCreate = (checks: boolean[]): string =>
    withSection(requestBody(), CO_CREATE_SECTION, setChecklist(coCreateChecklist(), checks));

  it('path::integrate opens the two loops; not on an issue that is no tooling form', () => {
    expect(sections(run2(requestBody(), ['tooling::request', 'path::integrate']))).toEqual([CO_CREATE_SECTION]);
    expect(coCreateChecklist()).toMatch(
      /Validated proposal[\s\S]*Technical design[\s\S]*Stakeholder alignment[\s\S]*Feature shipped[\s\S]*Docs published[\s\S]*API available/,
    );
    expect(sections(run2('plain issue', ['path::integrate']))).toEqual([]);
  });

  it('loop 2 all ticked is the hand-off: the sunset checklist opens, once', () => {
    expect(sections(run2(withCoCreate([true, true, true, true, true, false]), ['tooling::request', 'path::integrate']))).toEqual([]);
    const a = run2(withCoCreate([false, false, false, true, true, true]), ['tooling::request', 'path::integrate']);
    expect(sections(a)).toEqual([SUNSET_SECTION]);
    expect(comment(a, HAND_OFF_MARKER)).toContain('Hand-off');
    const opened = withSection(withCoCreate([true, true, true, true, true, true]), SUNSET_SECTION, retirementChecklist('sunset'));
    expect(sections(run2(opened, ['tooling::request', 'path::integrate']))).toEqual([]);
  });

  it('path::sunset opens the sunset checklist; all ticked says complete', () => {
    expect(sections(run2(requestBody(), ['tooling::request', 'path::sunset']))).toEqual([SUNSET_SECTION]);
    expect(retirementChecklist('sunset')).toMatch(
      /Plan migration[\s\S]*Validate parity[\s\S]*Communicate timeline[\s\S]*Decommission[\s\S]*Lessons learned/,
    );
    const done = withSection(requestBody(), SUNSET_SECTION, setChecklist(retirementChecklist('sunset'), [true, true, true, true, true]));
    expect(comment(run2(done, ['tooling::request', 'path::sunset']), '<!-- gatehouse:tool-sunset-done -->')).toContain('Sunset complete');
  });
});

describe('the tooling forms', () => {
  it('are recognised by label (policy-renamable) or first heading', () => {
    const renamed = policyOf('tooling:\n  requestLabel: ask::tool\n');
    expect(toolingFormOf({ labels: ['ask::tool'], body: '' }, renamed)).toBe('request');
    expect(toolingFormOf({ labels: ['tooling::request'], body: '' }, renamed)).toBeNull();
    expect(toolingFormOf({ labels: ['Tooling::Handover'], body: '' }, policy)).toBe('handover');
    expect(toolingFormOf({ labels: [], body: '## Net-new tooling request\n\n### Tool name\n\nx' }, policy)).toBe('request');
    expect(toolingFormOf({ labels: [], body: '## Ownership handover\n' }, policy)).toBe('handover');
    expect(toolingFormOf({ labels: [], body: '## Something else\n## Ownership handover' }, policy)).toBeNull();
  });

  it('read answers by label, leaving out empty ones', () => {
    expect(readToolingAnswers(requestBody(), 'request')).toEqual({
      tool: 'secret-sweeper',
      problem: 'Leaked keys',
      users: 'Platform team',
      criticality: 'high',
      repos: 'acme/sweeper',
      owners: 'alice, bob',
    });
    expect(TOOLING_FORMS.handover.fields.map((f) => f.id)).toContain('current-owner');
  });
});

describe('the tooling lifecycle policy', () => {
  it('has defaults (no deciders: every command refused) and is strict', () => {
    expect(policyOf('').tooling).toMatchObject({
      requestLabel: 'tooling::request',
      handoverLabel: 'tooling::handover',
      deciders: { github: [], gitlab: [] },
      waitingLabel: 'tooling::waiting',
      deferredLabel: 'tooling::deferred',
    });
    const r = parsePolicy('tooling:\n  deciders: { jira: [lead] }\n');
    expect(r.ok).toBe(false);
    const refused = plan(commentEvent({ body: '/gatehouse decide wait' }), planContext({ policy: policyOf(''), now: NOW })).actions;
    expect(refused[0]?.type).toBe('refuseCommand');
  });
});
