/**
 * The tooling lifecycle (the ProdSecEng workflows): an intake decision recorded by command comment
 * on a net-new tooling request or an ownership handover, which sets the tool's path forward and
 * criticality (and so its SLO/RTO) in the effective inventory; the co-create loops, the sunset and
 * the transfer checklists kept in the issue description.
 */
import type { Action } from '../actions.ts';
import { clockTargets, effectiveCriticality, isCriticality, type Criticality } from '../clock/index.ts';
import type { IssueCommentEvent, IssueEvent, IssueSnapshot } from '../model.ts';
import type { Policy, Tool } from '../policy/schema.ts';
import { neutralizeMentions } from '../text.ts';
import { readChecklist, readSection } from './sections.ts';
import { readToolingAnswers, toolingFormOf, type ToolingFormKind } from './tooling-forms.ts';
import { authorityKey, mayRun, refuseCommand, type CommandAuthority } from './commands.ts';

export type PathForward = Tool['pathForward'];

/** What a decision does to the inventory: a path forward and criticality, or only a status label. */
export interface DecisionEffect {
  /** null: the inventory is left as it is (wait, defer). */
  pathForward: PathForward | null;
  /** `requested`: the criticality the form (or the command) asks for; `keep`: the tool's current one. */
  criticality: 'requested' | 'keep' | Criticality | null;
  /** A status label instead of an inventory change. */
  status: 'waiting' | 'deferred' | null;
  /** Which checklist the decision opens. */
  checklist: 'co-create' | 'transfer' | null;
  meaning: string;
}

export const REQUEST_DECISIONS: Readonly<Record<string, DecisionEffect>> = {
  'build-internal': {
    pathForward: 'maintain',
    criticality: 'requested',
    status: null,
    checklist: null,
    meaning: 'Product Security Engineering builds and maintains the tool',
  },
  'build-in-product': {
    pathForward: 'integrate',
    criticality: 'requested',
    status: null,
    checklist: 'co-create',
    meaning: 'built into the product with its team (co-create)',
  },
  redirect: {
    pathForward: 'redirect',
    criticality: 'low',
    status: null,
    checklist: null,
    meaning: 'requesters are redirected to an existing tool',
  },
  'self-serve': {
    pathForward: 'redirect',
    criticality: 'low',
    status: null,
    checklist: null,
    meaning: 'requesters serve themselves with existing means',
  },
  wait: {
    pathForward: null,
    criticality: null,
    status: 'waiting',
    checklist: null,
    meaning: 'waiting for something (capacity, a dependency): no inventory change',
  },
  defer: {
    pathForward: null,
    criticality: null,
    status: 'deferred',
    checklist: null,
    meaning: 'deferred to a later planning round: no inventory change',
  },
};

export const HANDOVER_DECISIONS: Readonly<Record<string, DecisionEffect>> = {
  accept: {
    pathForward: 'maintain',
    criticality: 'requested',
    status: null,
    checklist: 'transfer',
    meaning: 'ownership accepted as the tool is',
  },
  'accept-with-plan': {
    pathForward: 'improve',
    criticality: 'requested',
    status: null,
    checklist: 'transfer',
    meaning: 'ownership accepted with an improvement plan',
  },
  'best-effort': {
    pathForward: 'maintain',
    criticality: 'low',
    status: null,
    checklist: null,
    meaning: 'kept running on a best-effort basis',
  },
  alternative: { pathForward: 'redirect', criticality: 'low', status: null, checklist: null, meaning: 'users move to an alternative' },
  reprioritise: { pathForward: 'improve', criticality: 'keep', status: null, checklist: null, meaning: 'reprioritised for improvement' },
};

export const decisionsFor = (kind: ToolingFormKind): Readonly<Record<string, DecisionEffect>> =>
  kind === 'request' ? REQUEST_DECISIONS : HANDOVER_DECISIONS;

/** A decision as stored (the inventory overlay is made of these). */
export interface ToolDecisionRecord {
  tool: string;
  issueKey: string;
  form: ToolingFormKind;
  decision: string;
  pathForward: PathForward | null;
  criticality: Criticality | null;
  repos: string[];
  owners: string[];
  decidedBy: string;
  decidedAt: Date;
}

// ---------------------------------------------------------------------------------------------
// The command

export type DecideCommand = { ok: true; decision: string; criticality: Criticality | null } | { ok: false; problem: string };

// The blanks before the command stay on its line (`\s*` across lines made each line start rescan them).
const COMMAND = /^[^\S\n\r\u2028\u2029]*\/gatehouse\s+decide\b(.*)$/im;

/** Whether the comment is a decide command at all (its first non-empty line). */
export function isDecideCommand(body: string): boolean {
  const first =
    body
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  return /^\s*\/gatehouse\s+decide\b/i.test(first);
}

/** `/gatehouse decide <decision> [critical|high|medium|low]`, checked against the form's decisions. */
export function parseDecideCommand(body: string, kind: ToolingFormKind): DecideCommand {
  const m = COMMAND.exec(body);
  const valid = Object.keys(decisionsFor(kind));
  const usage = `use \`/gatehouse decide ${valid.join('|')}\` (optionally followed by a criticality: critical, high, medium or low)`;
  if (!m) return { ok: false, problem: `not a decide command: ${usage}` };
  const words = m[1]!.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { ok: false, problem: `no decision given: ${usage}` };
  const [decision, criticality, ...rest] = words as [string, string | undefined, ...string[]];
  if (!valid.includes(decision))
    return {
      ok: false,
      problem: `\`${neutralizeMentions(decision).slice(0, 40)}\` is not a decision for a ${kind === 'request' ? 'tooling request' : 'handover'}: ${usage}`,
    };
  if (criticality !== undefined && !isCriticality(criticality))
    return { ok: false, problem: `\`${neutralizeMentions(criticality).slice(0, 40)}\` is not a criticality: ${usage}` };
  if (rest.length > 0) return { ok: false, problem: `unexpected words after the decision: ${usage}` };
  return { ok: true, decision, criticality: criticality && isCriticality(criticality) ? criticality : null };
}

// ---------------------------------------------------------------------------------------------
// The effective inventory

/** The policy's inventory overlaid with the stored decisions (the latest per tool wins). */
export function effectiveInventory(inventory: readonly Tool[], decisions: readonly ToolDecisionRecord[]): Tool[] {
  const out = inventory.map((t) => ({ ...t }));
  const ordered = [...decisions].filter((d) => d.pathForward !== null).sort((a, b) => a.decidedAt.getTime() - b.decidedAt.getTime());
  for (const d of ordered) {
    const i = out.findIndex((t) => t.name === d.tool);
    const pathForward = d.pathForward!;
    if (i >= 0) {
      const t = out[i]!;
      out[i] = {
        ...t,
        pathForward,
        criticality: d.criticality ?? t.criticality,
        repos: t.repos.length > 0 ? t.repos : d.repos,
        owners: t.owners.length > 0 ? t.owners : d.owners,
      };
    } else {
      out.push({
        name: d.tool,
        description: '',
        repos: d.repos,
        criticality: d.criticality ?? 'medium',
        pathForward,
        owners: d.owners,
        health: 'green',
        note: `decided ${d.decision} on ${d.issueKey}`,
      });
    }
  }
  return out;
}

/** The policy the clocks and feature requests see: its inventory overlaid with stored decisions. */
export function withDecisions(policy: Policy, decisions: readonly ToolDecisionRecord[]): Policy {
  if (decisions.length === 0) return policy;
  return { ...policy, tooling: { ...policy.tooling, inventory: effectiveInventory(policy.tooling.inventory, decisions) } };
}

// ---------------------------------------------------------------------------------------------
// Checklists

export const CO_CREATE_SECTION = 'tool-co-create';
export const SUNSET_SECTION = 'tool-sunset';
export const TRANSFER_SECTION = 'tool-transfer';
export const TOOL_DECISION_MARKER = '<!-- gatehouse:tool-decision -->';
export const HAND_OFF_MARKER = '<!-- gatehouse:tool-hand-off -->';
export const SUNSET_DONE_MARKER = '<!-- gatehouse:tool-sunset-done -->';

export const CO_CREATE_LOOPS = [
  {
    heading: 'Loop 1: product validation and proof of concept',
    items: ['Validated proposal', 'Technical design', 'Stakeholder alignment'],
  },
  { heading: 'Loop 2: product integration', items: ['Feature shipped', 'Docs published', 'API available'] },
] as const;

export const RETIREMENT_STEPS = ['Plan migration', 'Validate parity', 'Communicate timeline', 'Decommission', 'Lessons learned'] as const;

export function coCreateChecklist(): string {
  const groups = CO_CREATE_LOOPS.flatMap((g) => [`**${g.heading}**`, ...g.items.map((i) => `- [ ] ${i}`), '']);
  return [
    '### Co-create loops (Gatehouse)',
    '',
    'Tick each item when it is done; when loop 2 is complete the tool is handed off and its sunset checklist opens.',
    '',
    ...groups,
  ]
    .join('\n')
    .trim();
}

export function retirementChecklist(kind: 'sunset' | 'transfer'): string {
  const title = kind === 'sunset' ? '### Sunset checklist (Gatehouse)' : '### Transfer checklist (Gatehouse)';
  return [title, '', 'Tick each step when it is done.', '', ...RETIREMENT_STEPS.map((s) => `- [ ] ${s}`)].join('\n');
}

const lower = (s: string): string => s.trim().toLowerCase();
const hasLabel = (labels: readonly string[], l: string): boolean => labels.some((x) => lower(x) === lower(l));

/** Checklists on issue events of tooling requests and handovers: path::integrate → co-create, the hand-off and path::sunset → sunset. */
export function planToolingIssue(event: IssueEvent, policy: Policy): Action[] {
  const { issue } = event;
  if (issue.state !== 'open' || toolingFormOf(issue, policy) === null) return [];
  const target = issue.ref;
  const t = policy.tooling;
  const actions: Action[] = [];
  const coCreate = readSection(issue.body, CO_CREATE_SECTION);
  const sunset = readSection(issue.body, SUNSET_SECTION);
  if (coCreate === null && hasLabel(issue.labels, `${t.pathPrefix}integrate`))
    actions.push({ type: 'ensureBodySection', target, sections: [{ name: CO_CREATE_SECTION, text: coCreateChecklist() }] });
  const loop2 = coCreate === null ? [] : readChecklist(coCreate).slice(CO_CREATE_LOOPS[0].items.length);
  const handedOff = loop2.length === CO_CREATE_LOOPS[1].items.length && loop2.every((i) => i.checked);
  if (sunset === null && (handedOff || hasLabel(issue.labels, `${t.pathPrefix}sunset`))) {
    actions.push({ type: 'ensureBodySection', target, sections: [{ name: SUNSET_SECTION, text: retirementChecklist('sunset') }] });
    if (handedOff)
      actions.push({
        type: 'ensureComment',
        target,
        marker: HAND_OFF_MARKER,
        body: `${HAND_OFF_MARKER}\n**Hand-off.** Loop 2 (product integration) is complete: the feature shipped, its docs are published and its API is available. The sunset checklist of the interim tool is now in the description.`,
      });
  }
  for (const [section, name] of [
    [SUNSET_SECTION, 'Sunset'],
    [TRANSFER_SECTION, 'Transfer'],
  ] as const) {
    const text = readSection(issue.body, section);
    const items = text === null ? [] : readChecklist(text);
    if (items.length > 0 && items.every((i) => i.checked)) {
      const marker = section === SUNSET_SECTION ? SUNSET_DONE_MARKER : '<!-- gatehouse:tool-transfer-done -->';
      actions.push({
        type: 'ensureComment',
        target,
        marker,
        body: `${marker}\n**${name} complete.** Every step is ticked: ${RETIREMENT_STEPS.join(', ').toLowerCase()}.`,
      });
    }
  }
  return actions;
}

// ---------------------------------------------------------------------------------------------
// The decision

export interface DecisionInput {
  event: IssueCommentEvent;
  policy: Policy;
  now: Date;
  /** The issue's key (platform:repo#number). */
  issueKey: string;
  /** Who may run commands, from the global policy (never the repository's override). */
  authority: CommandAuthority;
}

const TOOL_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** The tool the issue is about: the form's `Tool name`, else its `tool::<name>` label. */
export function toolNameOf(issue: Pick<IssueSnapshot, 'body' | 'labels'>, kind: ToolingFormKind, policy: Policy): string | null {
  const answer = readToolingAnswers(issue.body, kind)['tool'];
  if (answer !== undefined) return lower(answer);
  const prefix = lower(policy.tooling.outageLabel).split('::')[0] + '::';
  const outage = lower(policy.tooling.outageLabel);
  const label = issue.labels
    .map(lower)
    .find(
      (l) => l.startsWith(prefix) && l !== outage && l !== lower(policy.tooling.requestLabel) && l !== lower(policy.tooling.handoverLabel),
    );
  return label ? label.slice(prefix.length) : null;
}

const list = (text: string | undefined, by: RegExp): string[] =>
  (text ?? '')
    .split(by)
    .map((s) => s.replace(/^[-*]\s+/, '').trim())
    .filter(Boolean);

const hours = (minutes: number | null): string => (minutes === null ? 'none' : `${minutes / 60} business hours`);

/** A `/gatehouse decide …` comment: the decision recorded, labels and inventory updated, or a refusal. */
export function planToolDecision({ event, policy, now, issueKey, authority }: DecisionInput): Action[] {
  const { issue } = event;
  if (!isDecideCommand(event.comment.body)) return [];
  const refuse = (_: IssueCommentEvent, reason: string): Action[] => refuseCommand(event, 'decide', reason, now);
  const platform = issue.ref.repo.platform;
  if (!mayRun(authority, 'decide', event))
    return refuse(
      event,
      `only the policy's tooling deciders (\`${authorityKey('decide', platform)}\` in the global policy) may record a decision`,
    );
  const kind = toolingFormOf(issue, policy);
  if (kind === null)
    return refuse(
      event,
      `this issue is not a tooling request or handover (label \`${policy.tooling.requestLabel}\` or \`${policy.tooling.handoverLabel}\`)`,
    );
  if (issue.state !== 'open') return refuse(event, 'the issue is closed');
  const cmd = parseDecideCommand(event.comment.body, kind);
  if (!cmd.ok) return refuse(event, cmd.problem);
  const tool = toolNameOf(issue, kind, policy);
  if (tool === null || !TOOL_NAME.test(tool))
    return refuse(event, `the issue names no valid tool (its \`Tool name\` answer: lower-case letters, digits, dots and dashes)`);

  const effect = decisionsFor(kind)[cmd.decision]!;
  const answers = readToolingAnswers(issue.body, kind);
  const current = policy.tooling.inventory.find((t) => t.name === tool) ?? null;
  const asked = answers['criticality'] ? lower(answers['criticality']) : '';
  const requested: Criticality = cmd.criticality ?? (isCriticality(asked) ? asked : (current?.criticality ?? 'medium'));
  const criticality: Criticality | null =
    effect.pathForward === null
      ? null
      : effect.criticality === 'requested'
        ? requested
        : effect.criticality === 'keep'
          ? (current?.criticality ?? requested)
          : effect.criticality;

  const t = policy.tooling;
  const target = issue.ref;
  const record: ToolDecisionRecord = {
    tool,
    issueKey,
    form: kind,
    decision: cmd.decision,
    pathForward: effect.pathForward,
    criticality,
    repos: list(answers['repos'], /\n|,/),
    owners: list(answers['owners'] ?? answers['current-owner'], /,|\n/),
    decidedBy: event.actor.login,
    decidedAt: now,
  };
  const statusLabels = [t.waitingLabel, t.deferredLabel];
  const add: string[] = [];
  const remove: string[] = [];
  if (effect.pathForward !== null && criticality !== null) {
    const pathLabel = `${t.pathPrefix}${effect.pathForward}`;
    const critLabel = `${t.criticalityPrefix}${criticality}`;
    for (const l of issue.labels) {
      const ll = lower(l);
      if (
        (ll.startsWith(lower(t.pathPrefix)) && ll !== lower(pathLabel)) ||
        (ll.startsWith(lower(t.criticalityPrefix)) && ll !== lower(critLabel)) ||
        statusLabels.some((s) => lower(s) === ll)
      )
        remove.push(l);
    }
    for (const l of [pathLabel, critLabel]) if (!hasLabel(issue.labels, l)) add.push(l);
  } else {
    const status = effect.status === 'waiting' ? t.waitingLabel : t.deferredLabel;
    for (const l of issue.labels) if (statusLabels.some((s) => lower(s) === lower(l)) && lower(l) !== lower(status)) remove.push(l);
    if (!hasLabel(issue.labels, status)) add.push(status);
  }

  const lines = [
    TOOL_DECISION_MARKER,
    `**Decision: \`${cmd.decision}\`** for \`${tool}\` by @${neutralizeMentions(event.actor.login)} — ${effect.meaning}.`,
    '',
  ];
  if (effect.pathForward !== null && criticality !== null) {
    const clocks = clockTargets(policy.clocks, effectiveCriticality(criticality, effect.pathForward));
    const before = current ? `${current.pathForward}, ${current.criticality}` : 'not in the inventory';
    lines.push(
      '| | Now | Before |',
      '|---|---|---|',
      `| Path forward | ${effect.pathForward} | ${current?.pathForward ?? '—'} |`,
      `| Criticality | ${criticality}${effectiveCriticality(criticality, effect.pathForward) !== criticality ? ` (clocks capped at ${effectiveCriticality(criticality, effect.pathForward)})` : ''} | ${current?.criticality ?? '—'} |`,
    );
    lines.push(
      `| SLO (response) | ${hours(clocks.slo)} | |`,
      `| RTO (recovery) | ${hours(clocks.rto)} | |`,
      '',
      `Inventory: \`${tool}\` (${before}) is now ${effect.pathForward}, ${criticality}.`,
    );
  } else {
    lines.push(`The inventory is unchanged; the issue is labelled \`${effect.status === 'waiting' ? t.waitingLabel : t.deferredLabel}\`.`);
  }
  if (add.length > 0 || remove.length > 0)
    lines.push('', `Labels: ${[...add.map((l) => `+\`${l}\``), ...remove.map((l) => `−\`${l}\``)].join(' ')}`);

  const actions: Action[] = [{ type: 'recordToolDecision', target, decision: record }];
  if (add.length > 0 || remove.length > 0) actions.push({ type: 'ensureLabels', target, add, remove });
  if (effect.checklist === 'co-create' && readSection(issue.body, CO_CREATE_SECTION) === null)
    actions.push({ type: 'ensureBodySection', target, sections: [{ name: CO_CREATE_SECTION, text: coCreateChecklist() }] });
  if (effect.checklist === 'transfer' && readSection(issue.body, TRANSFER_SECTION) === null)
    actions.push({ type: 'ensureBodySection', target, sections: [{ name: TRANSFER_SECTION, text: retirementChecklist('transfer') }] });
  actions.push({ type: 'ensureComment', target, marker: TOOL_DECISION_MARKER, body: lines.join('\n') });
  return actions;
}

/** Whether the shell must overlay the stored decisions on the policy before planning: commands, outages and feature requests. */
export function needsToolDecisions(event: { kind: string; issue?: Pick<IssueSnapshot, 'labels'> }, policy: Policy): boolean {
  if (event.kind === 'comment') return true;
  if (event.kind !== 'issue' || !event.issue) return false;
  const t = policy.tooling;
  return event.issue.labels.some((l) => lower(l) === lower(t.outageLabel) || t.featureLabels.some((f) => lower(f) === lower(l)));
}
