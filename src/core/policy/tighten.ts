/**
 * A repository's override (`.github/gatehouse.yml`, `.gitlab/gatehouse.yml`, default branch) applied
 * to the global policy: it may only tighten. It may add rules, raise tiers, ask more people for a
 * review and shorten clocks; it never removes or weakens what the global policy says, and it never
 * names who holds authority (reviewers that count for the gate, deciders, approvers, chat
 * permissions) nor anything the release gate reads. Whatever it cannot set is left out and listed
 * in `ignored` with the reason; every key not in the table below is global only.
 *
 * | key                                   | an override may                                                     |
 * |---------------------------------------|----------------------------------------------------------------------|
 * | routes                                | add routes with new names and labels of their own (a global route    |
 * |                                       | cannot be redefined, a label the global policy uses not reused)      |
 * | routing.rules                         | add rules with new names; a global rule always applies and cannot be |
 * |                                       | replaced; an added rule's tier is at least the default tier (a lower |
 * |                                       | one would lower intakes no other rule routes)                        |
 * | routing.defaultTier                   | raise it                                                             |
 * | routing.defaultReason                 | set it together with a raised default tier                           |
 * | changes.rules                         | add rules with new names (a global rule cannot be replaced)          |
 * | changes.ignore                        | narrow it: only global entries it lists still apply (new ones hide   |
 * |                                       | changed paths from every rule: ignored)                              |
 * | changes.reviewFromTier                | lower it (reviews asked earlier)                                     |
 * | changes.reviewers, .requestReviewers  | add accounts to ask for a review: they go to `requestReviewers` and  |
 * |                                       | never count as the gate's security reviewers                         |
 * | clocks.targets.<criticality>.slo/rto  | shorten a target, or set one where the global policy has none        |
 * | clocks.warnAt                         | warn earlier                                                         |
 * | tooling.pauseLabels                   | narrow it (pause labels stop clocks: new ones ignored)               |
 * | tooling.repeatedMisses                | a lower count, a longer window                                       |
 * | planning.fromTier                     | lower it (the checklist from a lower tier)                           |
 * | planning.allowReorder                 | turn it off                                                          |
 * | everything else: version, timeZone, intake, labels, tiers, clocks' calendar (time zones, regions,      |
 * | hours, holidays, hoursPerDay, daysPerWeek), tooling's labels, inventory and deciders, chat, gate,      |
 * | incident, cadence, page, commands, and any key added later                             | global only   |
 *
 * A value equal to the global one is no change and is not reported.
 */
import { parseDuration } from '../clock/policy.ts';
import { GLOB_REFUSED } from './glob.ts';
import { formatPath, mergeDeep, readPolicyText, validatePolicy, type PolicyError } from './load.ts';
import { policySchema, type Policy } from './schema.ts';

/** Where a repository keeps its override, read from its default branch. */
export const OVERRIDE_PATHS = { github: '.github/gatehouse.yml', gitlab: '.gitlab/gatehouse.yml' } as const;

export interface IgnoredKey {
  /** Dotted path in the override file, e.g. `routing.rules[0]`. */
  path: string;
  reason: string;
}

export type TightenResult =
  { ok: true; policy: Policy; ignored: IgnoredKey[] } | { ok: false; errors: PolicyError[]; ignored: IgnoredKey[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const nameOf = (v: unknown): string | null => (isObj(v) && typeof v['name'] === 'string' ? v['name'] : null);

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same(a[k], b[k]));
  }
  return a === b;
}

/** True when `over` changes something of `base`: an object only by the keys it names. */
function differs(over: unknown, base: unknown): boolean {
  if (isObj(over) && isObj(base)) return Object.entries(over).some(([k, v]) => differs(v, base[k]));
  return !same(over, base);
}

const GLOBAL_ONLY: Record<string, string> = {
  version: 'the policy version is the global policy’s',
  timeZone: 'the time zone sets the business hours of every clock: only the global policy sets it',
  intake: 'the intake form’s fields drive the tiers: only the global policy sets them',
  labels: 'the intake labels decide which issues are intakes: only the global policy sets them',
  tiers: 'the tiers and their expected assets are the global policy’s',
  chat: 'notice channels and who may act from chat are the global policy’s',
  gate: 'the release gate (classes, evidence, approvals, security reviewers, exceptions, emergency lane, mode) is the global policy’s',
  incident: 'the incident route and worksheet are the global policy’s',
  cadence: 'the operating cadence’s digests are organisation-wide: only the global policy sets them',
  page: 'who may read the web page is the global policy’s',
  commands: 'how many commands one account may send is the global policy’s (it bounds what anyone commenting can make Gatehouse write)',
};

const SUB_REASONS: Record<string, string> = {
  'tooling.deciders': 'who may record tooling decisions (and so change the organisation-wide inventory) is the global policy’s',
  'tooling.inventory': 'the tooling inventory (criticality, path forward) is organisation-wide: only the global policy sets it',
  'clocks.holidays': 'holidays stop clocks: only the global policy sets the business calendar',
  'clocks.regions': 'regions, working hours and their holidays set when clocks run: only the global policy sets them',
  'clocks.timeZone': 'the time zone sets when clocks run: only the global policy sets it',
  'clocks.hoursPerDay': 'the length of a business day sets every target: only the global policy sets it',
  'clocks.daysPerWeek': 'the length of a business week sets every target: only the global policy sets it',
};
const globalOnly = (path: string) => SUB_REASONS[path] ?? `only the global policy sets ${path}`;

class Tightening {
  readonly ignored: IgnoredKey[] = [];
  constructor(readonly policy: Obj) {}

  ignore(path: string, reason: string): void {
    this.ignored.push({ path, reason });
  }

  /** Reports each key of `over` (under `prefix`) that changes the global value; `handled` keys are skipped. */
  refuseRest(prefix: string, over: Obj, base: Obj, handled: readonly string[]): void {
    for (const [k, v] of Object.entries(over)) {
      const path = `${prefix}.${k}`;
      if (!handled.includes(k) && differs(v, base[k])) this.ignore(path, globalOnly(path));
    }
  }
}

/** Every label the global policy gives a meaning (intake, tiers, routes, tooling, release gate), lower-cased. */
function labelsOf(g: Policy): Set<string> {
  const { tooling: t, gate } = g;
  const labels = [
    ...Object.values(g.labels),
    ...g.tiers.map((x) => x.label),
    ...g.routes.map((x) => x.label),
    ...[
      t.outageLabel,
      t.sloAtRisk,
      t.sloBreached,
      t.rtoAtRisk,
      t.rtoBreached,
      t.backlogLabel,
      t.requestLabel,
      t.handoverLabel,
      t.waitingLabel,
      t.deferredLabel,
    ],
    ...t.pauseLabels,
    ...t.featureLabels,
    gate.releaseLabel,
    gate.labels.override,
    ...Object.values(gate.labels.classes),
    ...Object.values(gate.labels.verdicts),
    gate.exceptions.requestLabel,
    gate.exceptions.approvedLabel,
    ...gate.emergency.retrospectiveLabels,
  ];
  return new Set(labels.map((l) => l.toLowerCase()));
}

/** Adds the override's named items (rules, routes) after the global ones; a global name is never replaced. */
function addNamed(
  t: Tightening,
  path: string,
  over: unknown,
  base: unknown[],
  what: string,
  accept: (item: Obj) => string | null = () => null,
): unknown[] {
  const out = [...base];
  const list = asList(over);
  if (Array.isArray(over) && list.length === 0 && base.length > 0) {
    t.ignore(path, `an empty list removes nothing: the global policy’s ${base.length} ${what}s all still apply`);
  }
  list.forEach((item, i) => {
    const name = nameOf(item);
    if (!isObj(item) || name === null) return;
    const existing = out.find((o) => nameOf(o) === name);
    if (existing !== undefined) {
      if (!same(item, existing)) {
        const reason = base.includes(existing)
          ? `the global ${what} "${name}" cannot be replaced or weakened; add a ${what} with a new name`
          : `a second ${what} named "${name}"`;
        t.ignore(`${path}[${i}]`, reason);
      }
      return;
    }
    const refusal = accept(item);
    if (refusal !== null) t.ignore(`${path}[${i}]`, refusal);
    else out.push(item);
  });
  return out;
}

/** A list that may only shrink: the global entries the override lists; new entries are ignored. */
function narrow(t: Tightening, path: string, over: unknown, base: string[], why: string): string[] {
  const listed = asList(over).filter((v): v is string => typeof v === 'string');
  const added = listed.filter((v) => !base.includes(v));
  if (added.length > 0) t.ignore(path, `${why}; an override cannot add ${added.map((a) => JSON.stringify(a)).join(', ')}`);
  return base.filter((v) => listed.includes(v));
}

function numberRule(t: Tightening, path: string, over: unknown, base: number, direction: 'lower' | 'higher', why: string): number {
  if (typeof over !== 'number' || over === base) return base;
  if (direction === 'lower' ? over < base : over > base) return over;
  t.ignore(path, `${why}: ${over} is ${direction === 'lower' ? 'above' : 'below'} the global ${base}`);
  return base;
}

function tightenRouting(t: Tightening, over: Obj, g: Policy['routing']): void {
  const routing = t.policy['routing'] as Obj;
  const defaultTier = numberRule(
    t,
    'routing.defaultTier',
    over['defaultTier'],
    g.defaultTier,
    'higher',
    'the default tier may only be raised',
  );
  routing['defaultTier'] = defaultTier;
  if (over['defaultReason'] !== undefined && over['defaultReason'] !== g.defaultReason) {
    if (defaultTier > g.defaultTier) routing['defaultReason'] = over['defaultReason'];
    else t.ignore('routing.defaultReason', 'the default reason goes with a raised default tier only');
  }
  if ('rules' in over) {
    routing['rules'] = addNamed(t, 'routing.rules', over['rules'], g.rules, 'routing rule', (r) =>
      typeof r['tier'] === 'number' && r['tier'] < defaultTier
        ? `tier ${r['tier']} is below the default tier ${defaultTier}: an added rule cannot lower the tier of intakes no other rule routes`
        : null,
    );
  }
  t.refuseRest('routing', over, g as unknown as Obj, ['defaultTier', 'defaultReason', 'rules']);
}

function tightenChanges(t: Tightening, over: Obj, g: Policy['changes']): void {
  const changes = t.policy['changes'] as Obj;
  if ('rules' in over) changes['rules'] = addNamed(t, 'changes.rules', over['rules'], g.rules, 'change rule');
  if ('ignore' in over)
    changes['ignore'] = narrow(t, 'changes.ignore', over['ignore'], g.ignore, 'ignored paths hide changes from every rule');
  changes['reviewFromTier'] = numberRule(
    t,
    'changes.reviewFromTier',
    over['reviewFromTier'],
    g.reviewFromTier,
    'lower',
    'reviews may only be asked from a lower tier',
  );
  // Reviewers an override names are asked for a review; the gate's security reviewers stay the global policy's.
  const requested = { github: [...g.requestReviewers.github], gitlab: [...g.requestReviewers.gitlab] };
  for (const key of ['reviewers', 'requestReviewers'] as const) {
    const o = over[key];
    if (!isObj(o)) continue;
    for (const platform of ['github', 'gitlab'] as const) {
      for (const r of asList(o[platform])) {
        if (typeof r === 'string' && !g.reviewers[platform].includes(r) && !requested[platform].includes(r)) requested[platform].push(r);
      }
    }
  }
  changes['reviewers'] = g.reviewers;
  changes['requestReviewers'] = requested;
  t.refuseRest('changes', over, g as unknown as Obj, ['rules', 'ignore', 'reviewFromTier', 'reviewers', 'requestReviewers']);
}

function tightenClocks(t: Tightening, over: Obj, g: Policy['clocks']): void {
  const clocks = t.policy['clocks'] as Obj;
  clocks['warnAt'] = numberRule(t, 'clocks.warnAt', over['warnAt'], g.warnAt, 'lower', 'the warning may only come earlier');
  const targets = over['targets'];
  if (isObj(targets)) {
    const out = structuredClone(g.targets) as Record<string, Record<string, string | null>>;
    for (const [criticality, target] of Object.entries(targets)) {
      const base = out[criticality];
      if (!isObj(target) || base === undefined) continue;
      for (const [kind, value] of Object.entries(target)) {
        if (!(kind in base) || (typeof value !== 'string' && value !== null)) continue;
        const path = `clocks.targets.${criticality}.${kind}`;
        const now = parseDuration(base[kind] ?? null, g);
        const next = parseDuration(value, g);
        if (next === undefined || next === now) continue;
        if (next !== null && (now === null || now === undefined || next < now)) base[kind] = value;
        else t.ignore(path, `a target may only be shortened: ${value ?? 'none'} is longer than the global ${base[kind] ?? 'none'}`);
      }
    }
    clocks['targets'] = out;
  }
  t.refuseRest('clocks', over, g as unknown as Obj, ['warnAt', 'targets']);
}

function tightenTooling(t: Tightening, over: Obj, g: Policy['tooling']): void {
  const tooling = t.policy['tooling'] as Obj;
  if ('pauseLabels' in over)
    tooling['pauseLabels'] = narrow(t, 'tooling.pauseLabels', over['pauseLabels'], g.pauseLabels, 'pause labels stop clocks');
  const misses = over['repeatedMisses'];
  if (isObj(misses)) {
    tooling['repeatedMisses'] = {
      count: numberRule(
        t,
        'tooling.repeatedMisses.count',
        misses['count'],
        g.repeatedMisses.count,
        'lower',
        'the repeated-miss notice may only come sooner',
      ),
      windowDays: numberRule(
        t,
        'tooling.repeatedMisses.windowDays',
        misses['windowDays'],
        g.repeatedMisses.windowDays,
        'higher',
        'the repeated-miss window may only grow',
      ),
    };
  }
  t.refuseRest('tooling', over, g as unknown as Obj, ['pauseLabels', 'repeatedMisses']);
}

function tightenPlanning(t: Tightening, over: Obj, g: Policy['planning']): void {
  const planning = t.policy['planning'] as Obj;
  planning['fromTier'] = numberRule(
    t,
    'planning.fromTier',
    over['fromTier'],
    g.fromTier,
    'lower',
    'the planning checklist may only start from a lower tier',
  );
  if (over['allowReorder'] === false) planning['allowReorder'] = false;
  else if (over['allowReorder'] === true && !g.allowReorder)
    t.ignore('planning.allowReorder', 'an override may only turn reordering of the planning stages off');
  t.refuseRest('planning', over, g as unknown as Obj, ['fromTier', 'allowReorder']);
}

/**
 * The policy of a repository: the global policy tightened by the override (already-parsed YAML,
 * validated by the caller). Never fails on a weakening: that part is ignored and reported.
 */
export function tightenPolicy(global: Policy, overrideRaw: unknown): TightenResult {
  const t = new Tightening(structuredClone(global) as unknown as Obj);
  const over = isObj(overrideRaw) ? overrideRaw : {};
  const g = global as unknown as Obj;
  for (const [key, value] of Object.entries(over)) {
    const section = isObj(value) ? value : null;
    switch (key) {
      case 'routes': {
        const taken = labelsOf(global);
        t.policy['routes'] = addNamed(t, 'routes', value, global.routes, 'route', (r) =>
          typeof r['label'] === 'string' && taken.has(r['label'].toLowerCase())
            ? `the label "${r['label']}" is one the global policy gives its own meaning`
            : null,
        );
        break;
      }
      case 'routing':
        if (section) tightenRouting(t, section, global.routing);
        break;
      case 'changes':
        if (section) tightenChanges(t, section, global.changes);
        break;
      case 'clocks':
        if (section) tightenClocks(t, section, global.clocks);
        break;
      case 'tooling':
        if (section) tightenTooling(t, section, global.tooling);
        break;
      case 'planning':
        if (section) tightenPlanning(t, section, global.planning);
        break;
      default:
        if (section && isObj(g[key])) t.refuseRest(key, section, g[key], []);
        else if (differs(value, g[key])) t.ignore(key, GLOBAL_ONLY[key] ?? `only the global policy sets ${key}`);
    }
  }
  // Sections listed whole in GLOBAL_ONLY report their keys with the section's reason.
  for (const entry of t.ignored) {
    const section = entry.path.split(/[.[]/)[0] ?? '';
    if (entry.reason === `only the global policy sets ${entry.path}` && GLOBAL_ONLY[section]) entry.reason = GLOBAL_ONLY[section];
  }
  const parsed = policySchema.safeParse(t.policy);
  if (parsed.success) return { ok: true, policy: parsed.data, ignored: t.ignored };
  const errors = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), line: null, message: i.message }));
  return { ok: false, errors, ignored: t.ignored };
}

/** Named lists an override adds to: for checking, its items first (their paths stay the file's), then the global ones it does not name. */
function withGlobalItems(over: unknown, base: readonly unknown[]): unknown {
  if (!Array.isArray(over)) return over;
  const names = new Set(over.map(nameOf));
  return [...over, ...base.filter((b) => !names.has(nameOf(b)))];
}

/** The override as it will apply, for checking: rules and routes added to the global ones; the intake form is the global one. */
function checkOf(raw: Obj, global: Policy): Obj {
  const check: Obj = { ...raw };
  delete check['intake'];
  if ('routes' in raw) check['routes'] = withGlobalItems(raw['routes'], global.routes);
  for (const [section, base] of [
    ['routing', global.routing.rules],
    ['changes', global.changes.rules],
  ] as const) {
    const o = raw[section];
    if (isObj(o) && 'rules' in o)
      check[section] = {
        ...o,
        rules: withGlobalItems(
          asList(o['rules']).filter((r) => r !== null),
          base,
        ),
      };
  }
  return check;
}

/**
 * Globs of the override that would take too long to match (see glob.ts) are left out one by one,
 * each listed in `ignored` with the reason, and the rest of the override applies. A list left
 * empty goes too; a rule left without globs is left out whole (a null keeps the other rules' places).
 */
function dropRefusedGlobs(raw: Obj, global: Policy): IgnoredKey[] {
  const parsed = policySchema.safeParse(mergeDeep(global, checkOf(raw, global)));
  if (parsed.success) return [];
  const refused = parsed.error.issues.filter((i) => i.message.startsWith(GLOB_REFUSED) && typeof i.path.at(-1) === 'number');
  // Later entries first, so that removing one does not move the next.
  refused.sort((a, b) => formatPath(b.path).localeCompare(formatPath(a.path), 'en', { numeric: true }));
  const ignored: IgnoredKey[] = [];
  for (const issue of refused) {
    const path = issue.path as (string | number)[];
    const listPath = path.slice(0, -1);
    const list = listPath.reduce<unknown>(
      (node, key) => (isObj(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[key] : undefined),
      raw,
    );
    if (!Array.isArray(list)) continue;
    list.splice(path.at(-1) as number, 1);
    ignored.push({ path: formatPath(path), reason: issue.message });
    if (list.length > 0) continue;
    const ownerPath = listPath.slice(0, -1);
    const owner = ownerPath.reduce<unknown>(
      (node, key) => (isObj(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[key] : undefined),
      raw,
    );
    const ownerIndex = ownerPath.at(-1);
    const holder = ownerPath
      .slice(0, -1)
      .reduce<unknown>(
        (node, key) => (isObj(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[key] : undefined),
        raw,
      );
    if (typeof ownerIndex === 'number' && Array.isArray(holder)) {
      holder[ownerIndex] = null;
      ignored.push({ path: formatPath(ownerPath), reason: `every glob of ${formatPath(listPath)} was refused: the rule is left out` });
    } else if (isObj(owner)) {
      delete owner[String(listPath.at(-1))];
    }
  }
  return ignored.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}

/**
 * Override YAML → the repository's policy. Errors (YAML, unknown keys, wrong types, dangling
 * references) make the whole override invalid; the parts that would weaken the global policy, and
 * globs that would take too long to match, are left out and listed in `ignored`.
 */
export function parseOverride(text: string, global: Policy): TightenResult {
  const read = readPolicyText(text);
  if (!read.ok) return { ok: false, errors: read.errors, ignored: [] };
  const raw = structuredClone(isObj(read.input) ? read.input : {});
  const refused = dropRefusedGlobs(raw, global);
  const valid = validatePolicy(checkOf(raw, global), global, read.line);
  if (!valid.ok) return { ok: false, errors: valid.errors, ignored: refused };
  const result = tightenPolicy(global, raw);
  return { ...result, ignored: [...refused, ...result.ignored] };
}
