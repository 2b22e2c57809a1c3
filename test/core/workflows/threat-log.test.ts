import { describe, expect, it } from 'vitest';
import type { Action, EnsureComment, RecordThreatDecision, RefuseCommand } from '../../../src/core/actions.ts';
import type { IssueCommentEvent } from '../../../src/core/model.ts';
import { plan } from '../../../src/core/plan.ts';
import { parsePolicy } from '../../../src/core/policy/load.ts';
import { COMMAND_REFUSED_MARKER, commandAuthority, NOBODY, type CommandAuthority } from '../../../src/core/workflows/commands.ts';
import {
  parseThreatDecision,
  planThreatDecision,
  THREAT_LOG_MARKER,
  threatLogComment,
  type ThreatDecision,
} from '../../../src/core/workflows/threat-log.ts';
import { withSection } from '../../../src/core/workflows/sections.ts';
import { planContext } from '../../builders/events.ts';

const NOW = new Date('2026-12-02T12:34:00Z');
const KEY = 'github:acme/app#7';
const deciders: CommandAuthority = { ...NOBODY, 'threat-decision': { github: ['Alice'], gitlab: ['gl-alice'] } };
const comment = (
  body: string,
  { login = 'alice', platform = 'github' as 'github' | 'gitlab', id = 1, issueBody = '### Service or system name\n\npayments-api' } = {},
): IssueCommentEvent => ({
  kind: 'comment',
  action: 'created',
  deliveryId: 'd',
  actor: { login, isBot: false },
  issue: {
    ref: { repo: { platform, fullName: 'acme/app', id: 1, defaultBranch: 'main' }, number: 7 },
    title: 'Review',
    body: issueBody,
    labels: [],
    state: 'open',
    author: { login: 'dev', isBot: false },
    assignees: [],
    url: 'https://github.com/acme/app/issues/7',
    createdAt: NOW.toISOString(),
  },
  comment: { id, body },
});
const stored = (over: Partial<ThreatDecision>): ThreatDecision => ({
  issueKey: KEY,
  commentId: '0',
  decidedBy: 'alice',
  decidedAt: new Date('2026-12-01T09:00:00Z'),
  text: 'Earlier decision',
  ...over,
});
const run = (event: IssueCommentEvent, { authority = deciders, log = [] as ThreatDecision[] | null, deepReview = true } = {}): Action[] =>
  planThreatDecision({ event, authority, log, deepReview, now: NOW });
const body = (a: Action[], marker: string): string | undefined =>
  a.find((x): x is EnsureComment => x.type === 'ensureComment' && x.marker === marker)?.body;

describe('parseThreatDecision', () => {
  it.each([
    [
      '/gatehouse threat-decision Accept SSRF risk on the webhook fetcher: egress proxy',
      'Accept SSRF risk on the webhook fetcher: egress proxy',
    ],
    ['/gatehouse threat-decision Keep mTLS\nbecause the mesh\nenforces it', 'Keep mTLS because the mesh enforces it'],
    ['\n\n/GATEHOUSE THREAT-DECISION x', 'x'],
    ['/gatehouse threat-decision', ''],
    [`/gatehouse threat-decision ${'a'.repeat(1200)}`, 'a'.repeat(1000)],
    ['/gatehouse decide build-internal', null],
    ['Looks good to me', null],
  ])('%j → %j', (text, expected) => {
    expect(parseThreatDecision(text)).toBe(expected);
  });
});

describe('planThreatDecision', () => {
  it("a decider's command records one attributed entry and shows the whole stored log in Gatehouse's comment", () => {
    const a = run(comment('/gatehouse threat-decision Tokens stay in the vault @secops', { id: 42 }), { log: [stored({})] });
    expect(a.map((x) => x.type)).toEqual(['recordThreatDecision', 'ensureComment']);
    expect((a[0] as RecordThreatDecision).decision).toEqual({
      issueKey: KEY,
      commentId: '42',
      decidedBy: 'alice',
      decidedAt: NOW,
      text: 'Tokens stay in the vault @secops',
    });
    const shown = body(a, THREAT_LOG_MARKER)!;
    expect(shown).toContain('2 decisions, kept by Gatehouse');
    expect(shown).toContain(
      '- 2026-12-01 09:00 UTC · alice: Earlier decision\n- 2026-12-02 12:34 UTC · alice: Tokens stay in the vault @\u200bsecops',
    );
  });

  it('escapes markup, and a redelivered command (same comment) adds nothing', () => {
    const again = run(comment('/gatehouse threat-decision <b>No</b> public S3', { id: 9 }), {
      log: [stored({ commentId: '9', text: '<b>No</b> public S3' })],
    });
    expect((again[0] as RecordThreatDecision).decision.commentId).toBe('9');
    expect(body(again, THREAT_LOG_MARKER)).toContain('1 decision,');
    expect(body(again, THREAT_LOG_MARKER)).toContain('&lt;b&gt;No&lt;/b&gt; public S3');
  });

  it.each([
    ['an account the policy does not name', { login: 'mallory' }, {}, 'planning.threatDeciders.github'],
    ['a GitHub decider on GitLab', { platform: 'gitlab' as const }, {}, 'planning.threatDeciders.gitlab'],
    ['anyone when the global policy names nobody (the default)', {}, { authority: NOBODY }, 'planning.threatDeciders.github'],
    ['a log that could not be read', {}, { log: null }, 'could not read the stored decision log'],
    ['an issue that is no deep review', {}, { deepReview: false }, 'logged on deep reviews'],
    ['an empty decision', { text: '/gatehouse threat-decision' }, {}, 'no decision given'],
  ])('%s: refused, audited with the actor, one sticky refusal comment, nothing recorded', (_, who, ctx, reason) => {
    const { text = '/gatehouse threat-decision Accept it', ...opts } = who as {
      text?: string;
      login?: string;
      platform?: 'github' | 'gitlab';
    };
    const a = run(comment(text, { ...opts, id: 5 }), ctx);
    expect(a.map((x) => x.type)).toEqual(['refuseCommand', 'ensureComment']);
    expect(a[0]).toMatchObject({ command: 'threat-decision', actor: opts.login ?? 'alice', commentId: '5' });
    expect((a[0] as RefuseCommand).reason).toContain(reason);
    expect(body(a, COMMAND_REFUSED_MARKER)).toContain('Nothing was changed');
  });

  it('a comment that is no threat-decision command plans nothing', () => {
    expect(run(comment('thanks!'))).toEqual([]);
  });

  it('the log comment is bounded: the newest 40 entries, the count of the rest', () => {
    const log = Array.from({ length: 45 }, (_, i) => stored({ commentId: String(i), text: `decision ${i}` }));
    const shown = threatLogComment(log);
    expect(shown).toContain('45 decisions');
    expect(shown).toContain('_5 earlier decisions in the plan bundle._');
    expect(shown).not.toContain('decision 4\n');
    expect(shown).toContain('decision 44');
  });
});

describe('threat-decision through plan()', () => {
  const policy = (yaml: string) => {
    const r = parsePolicy(yaml);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.policy;
  };
  const deep = { tier: 2 as const, routes: [], reasons: [], decidedAt: NOW };
  const event = comment('/gatehouse threat-decision Accept it', {
    issueBody: withSection('### Service or system name\n\nx', 'planning', '- [ ] 1. Context'),
  });

  it('deciders come from the authority the shell passes (the global policy), not the repository policy in ctx.policy', () => {
    const repo = policy('planning:\n  threatDeciders: { github: [alice] }\n');
    const refused = plan(event, {
      ...planContext({ policy: repo, history: [deep] }),
      authority: commandAuthority(policy('')),
      threatLog: [],
    }).actions;
    expect(refused[0]).toMatchObject({ type: 'refuseCommand', reason: expect.stringContaining('planning.threatDeciders.github') });
    const noAuthority = plan(event, { ...planContext({ policy: repo, history: [deep] }), authority: undefined, threatLog: [] }).actions;
    expect(noAuthority[0]?.type).toBe('refuseCommand');
    const allowed = plan(event, {
      ...planContext({ policy: policy(''), history: [deep] }),
      authority: commandAuthority(repo),
      threatLog: [],
    }).actions;
    expect(allowed[0]?.type).toBe('recordThreatDecision');
  });

  it('a deep review is what Gatehouse classified (the stored tier), not a planning block pasted into the description', () => {
    const p = policy('planning:\n  threatDeciders: { github: [alice] }\n');
    const advisory = plan(event, { ...planContext({ policy: p, history: [{ ...deep, tier: 1 }] }), threatLog: [] }).actions;
    expect(advisory[0]).toMatchObject({ type: 'refuseCommand', reason: expect.stringContaining('deep reviews') });
    expect(plan(event, { ...planContext({ policy: p }), threatLog: [] }).actions[0]?.type).toBe('refuseCommand');
  });

  it('the policy key defaults to nobody and is strict', () => {
    expect(policy('').planning.threatDeciders).toEqual({ github: [], gitlab: [] });
    expect(parsePolicy('planning:\n  threatDeciders: { jira: [a] }\n').ok).toBe(false);
  });
});
