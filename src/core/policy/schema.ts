/** The policy: one YAML document, validated whole before anything acts. */
import { z } from 'zod';
import { isValidTimeZone } from '../clock/calendar.ts';
import { chatPolicySchema } from '../chat/policy.ts';
import { clockPolicySchema } from '../clock/policy.ts';
import { gatePolicySchema } from '../gate/policy.ts';
import { incidentPolicySchema, planningPolicySchema } from '../workflows/policy.ts';
import { commandPolicySchema } from '../workflows/command-limit.ts';
import { toolingDecidersSchema } from '../workflows/tooling-policy.ts';
import { cadencePolicySchema, pagePolicySchema } from '../digest/policy.ts';
import { globSchema } from './glob.ts';

const nonEmpty = z.string().trim().min(1);

export const intakeFieldSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'ids are lower-case letters, digits, - and _'),
    label: nonEmpty,
    kind: z.enum(['text', 'longtext', 'choice', 'checkboxes']),
    description: z.string().default(''),
    placeholder: z.string().optional(),
    options: z.array(nonEmpty).optional(),
    /** `handle` (@user or @org/team) or `date` (YYYY-MM-DD) for text fields. */
    format: z.enum(['handle', 'date']).optional(),
    required: z.boolean().default(false),
    /** For checkboxes: an option that cannot be combined with the others (e.g. `None`). */
    exclusiveOption: z.string().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const needsOptions = f.kind === 'choice' || f.kind === 'checkboxes';
    if (needsOptions && (!f.options || f.options.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: `a ${f.kind} field needs options` });
    }
    if (!needsOptions && f.options) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: `a ${f.kind} field takes no options` });
    }
    if (f.format && f.kind !== 'text') {
      ctx.addIssue({ code: 'custom', path: ['format'], message: 'format applies to text fields only' });
    }
    if (f.exclusiveOption && !(f.options ?? []).some((o) => o.toLowerCase() === f.exclusiveOption!.toLowerCase())) {
      ctx.addIssue({ code: 'custom', path: ['exclusiveOption'], message: 'exclusiveOption must be one of the options' });
    }
  });
export type IntakeField = z.infer<typeof intakeFieldSchema>;

/** A condition on intake answers. Field ids refer to `intake.fields[].id`. */
export type Condition =
  | { field: string; equals: string }
  | { field: string; in: string[] }
  | { field: string; includes: string }
  | { field: string; includesAny: string[] }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ field: nonEmpty, equals: nonEmpty }).strict(),
    z.object({ field: nonEmpty, in: z.array(nonEmpty).min(1) }).strict(),
    z.object({ field: nonEmpty, includes: nonEmpty }).strict(),
    z.object({ field: nonEmpty, includesAny: z.array(nonEmpty).min(1) }).strict(),
    z.object({ all: z.array(conditionSchema).min(1) }).strict(),
    z.object({ any: z.array(conditionSchema).min(1) }).strict(),
    z.object({ not: conditionSchema }).strict(),
  ]),
);

const tierNumber = z
  .number()
  .int('a tier is a whole number from 0 to 3')
  .min(0, 'a tier is a whole number from 0 to 3')
  .max(3, 'a tier is a whole number from 0 to 3')
  .transform((n) => n as 0 | 1 | 2 | 3);

export const routingRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule names are kebab-case'),
    description: nonEmpty,
    when: conditionSchema,
    tier: tierNumber.optional(),
    route: z.string().optional(),
    /** Post a chat notice as soon as this rule fires (once per issue). */
    notify: z.boolean().default(false),
    /** Fallback rules apply only when no regular rule fired (e.g. the golden path). */
    fallback: z.boolean().default(false),
    /** Fire even while the intake is incomplete (e.g. suspected active exploitation). */
    evenWhenIncomplete: z.boolean().default(false),
  })
  .strict()
  .refine((r) => r.tier !== undefined || r.route !== undefined, { message: 'a rule gives a tier, a route or both' });
export type RoutingRule = z.infer<typeof routingRuleSchema>;

export const tierSchema = z
  .object({
    level: tierNumber,
    name: nonEmpty,
    label: nonEmpty,
    assets: z.array(nonEmpty).min(1),
  })
  .strict();

/** A change rule: changed paths matching any glob give a tier (picomatch globs, dotfiles included). */
export const changeRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule names are kebab-case'),
    description: nonEmpty,
    paths: z.array(globSchema).min(1),
    tier: tierNumber,
  })
  .strict();
export type ChangeRule = z.infer<typeof changeRuleSchema>;

/** One tool of the inventory: where its issues are, how critical it is, and its path forward. */
export const toolSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'tool names are lower-case, as in the tool::<name> label'),
    description: z.string().default(''),
    /** Repositories (GitHub owner/name, GitLab project path) whose issues are this tool's. */
    repos: z.array(nonEmpty).default([]),
    criticality: z.enum(['critical', 'high', 'medium', 'low']),
    pathForward: z.enum(['integrate', 'maintain', 'improve', 'sunset', 'redirect']),
    owners: z.array(nonEmpty).default([]),
    health: z.enum(['green', 'amber', 'red']).default('green'),
    /** Why this path forward, shown to requesters (e.g. what replaces the tool). */
    note: z.string().default(''),
  })
  .strict();
export type Tool = z.infer<typeof toolSchema>;

export const routeSchema = z.object({ name: nonEmpty, label: nonEmpty, description: z.string().default('') }).strict();

export const policySchema = z
  .object({
    version: z.literal(1).default(1),
    timeZone: z
      .string()
      .superRefine((tz, ctx) => {
        if (!isValidTimeZone(tz))
          ctx.addIssue({ code: 'custom', message: `unknown time zone ${JSON.stringify(tz)} (an IANA name such as Europe/Berlin, or UTC)` });
      })
      .default('UTC'),
    intake: z
      .object({
        title: nonEmpty,
        description: nonEmpty,
        fields: z.array(intakeFieldSchema).min(1),
      })
      .strict(),
    labels: z
      .object({
        intake: nonEmpty,
        intakeIncomplete: nonEmpty,
        intakeComplete: nonEmpty,
      })
      .strict(),
    tiers: z.array(tierSchema).length(4),
    routes: z.array(routeSchema),
    routing: z
      .object({
        rules: z.array(routingRuleSchema),
        defaultTier: tierNumber,
        defaultReason: nonEmpty,
      })
      .strict(),
    changes: z
      .object({
        rules: z.array(changeRuleSchema),
        /** Paths no rule looks at (documentation). */
        ignore: z.array(globSchema).default([]),
        /** Tier from which a change request asks the security reviewers for a review. */
        reviewFromTier: tierNumber,
        /** Security reviewers: GitHub logins or `org/team` slugs; GitLab usernames. */
        reviewers: z.object({ github: z.array(nonEmpty).default([]), gitlab: z.array(nonEmpty).default([]) }).strict(),
        /**
         * More accounts asked for a review alongside `reviewers`; they never count as security
         * reviewers for the release gate (a repository's override adds its reviewers here).
         */
        requestReviewers: z
          .object({ github: z.array(nonEmpty).default([]), gitlab: z.array(nonEmpty).default([]) })
          .strict()
          .prefault({}),
      })
      .strict(),
    /** SLO/RTO clocks: calendar, targets by criticality, warning point. */
    clocks: clockPolicySchema.prefault({}),
    /** Tooling issues: the labels that drive and show their clocks. */
    tooling: z
      .object({
        outageLabel: nonEmpty,
        criticalityPrefix: nonEmpty,
        pathPrefix: nonEmpty,
        sloAtRisk: nonEmpty,
        sloBreached: nonEmpty,
        rtoAtRisk: nonEmpty,
        rtoBreached: nonEmpty,
        /** Labels that pause a running clock while present (none by default). */
        pauseLabels: z.array(nonEmpty).default([]),
        /** Labels that make an issue a feature request. */
        featureLabels: z.array(nonEmpty).default([]),
        /** Where feature requests for `improve` tools are triaged. */
        backlogLabel: nonEmpty,
        /** The tooling inventory. */
        inventory: z.array(toolSchema).default([]),
        /** When one tool misses its SLO or RTO this often, say so once. */
        repeatedMisses: z.object({ count: z.number().int().min(2), windowDays: z.number().int().min(1) }).strict(),
        /** The tooling lifecycle: intake labels, who may decide, status labels (core/workflows/tooling-policy.ts). */
        requestLabel: nonEmpty.default('tooling::request'),
        handoverLabel: nonEmpty.default('tooling::handover'),
        deciders: toolingDecidersSchema,
        waitingLabel: nonEmpty.default('tooling::waiting'),
        deferredLabel: nonEmpty.default('tooling::deferred'),
      })
      .strict(),
    /** Escalation notices and Slack: channels, who may escalate and acknowledge (core/chat/policy.ts). */
    chat: chatPolicySchema,
    /** Release gates: classes, evidence, blocking rules, exceptions, emergency lane (core/gate/policy.ts). */
    gate: gatePolicySchema.prefault({}),
    /** The security planning flow of deep reviews (core/workflows/policy.ts). */
    planning: planningPolicySchema.prefault({}),
    /** The incident worksheet (core/workflows/policy.ts). */
    incident: incidentPolicySchema.prefault({}),
    /** The operating cadence's digests and the web page's access (core/digest/policy.ts). */
    cadence: cadencePolicySchema.prefault({}),
    page: pagePolicySchema.prefault({}),
    /** How many `/gatehouse …` commands one account may send in a window (core/workflows/command-limit.ts). */
    commands: commandPolicySchema.prefault({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const issue of referenceIssues(p)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });

export interface ReferenceIssue {
  path: (string | number)[];
  message: string;
}

type Loose = Record<string, unknown>;
const asObject = (v: unknown): Loose | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : null);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Cross-references inside a policy (duplicate ids, tier order, unknown fields, options and routes).
 * Tolerant of a policy that is malformed elsewhere, so that `validate` reports these together with
 * type errors instead of one round after another.
 */
export function referenceIssues(raw: unknown): ReferenceIssue[] {
  const issues: ReferenceIssue[] = [];
  const root = asObject(raw) ?? {};
  const fields = asArray(asObject(root['intake'])?.['fields']).map(asObject);
  const ids = new Set<string>();
  const labels = new Set<string>();
  const fieldById = new Map<string, Loose>();
  fields.forEach((f, i) => {
    const id = asString(f?.['id']);
    const label = asString(f?.['label']);
    if (id !== null) {
      if (ids.has(id)) issues.push({ path: ['intake', 'fields', i, 'id'], message: `duplicate field id "${id}"` });
      ids.add(id);
      if (f) fieldById.set(id, f);
    }
    if (label !== null) {
      const l = label.trim().toLowerCase();
      if (labels.has(l)) issues.push({ path: ['intake', 'fields', i, 'label'], message: `duplicate field label "${label}"` });
      labels.add(l);
    }
  });
  asArray(root['tiers']).forEach((t, i) => {
    const level = asObject(t)?.['level'];
    if (typeof level === 'number' && level !== i)
      issues.push({ path: ['tiers', i, 'level'], message: `tiers are listed in order: expected level ${i}` });
  });
  const routeNames = new Set(asArray(root['routes']).map((r) => asString(asObject(r)?.['name'])));
  asArray(asObject(root['routing'])?.['rules']).forEach((r, i) => {
    const rule = asObject(r);
    const route = asString(rule?.['route']);
    if (route !== null && !routeNames.has(route)) {
      issues.push({ path: ['routing', 'rules', i, 'route'], message: `unknown route "${route}" (declare it under routes)` });
    }
    if (rule && 'when' in rule) checkCondition(rule['when'], ['routing', 'rules', i, 'when'], fieldById, issues);
  });
  return issues;
}

function checkCondition(raw: unknown, path: (string | number)[], fields: Map<string, Loose>, issues: ReferenceIssue[]): void {
  const c = asObject(raw);
  if (!c) return;
  for (const key of ['all', 'any'] as const) {
    if (key in c) asArray(c[key]).forEach((s, i) => checkCondition(s, [...path, key, i], fields, issues));
  }
  if ('not' in c) checkCondition(c['not'], [...path, 'not'], fields, issues);
  const name = asString(c['field']);
  if (name === null) return;
  const field = fields.get(name);
  if (!field) {
    issues.push({ path: [...path, 'field'], message: `unknown intake field "${name}"` });
    return;
  }
  const values = [c['equals'], c['includes'], ...asArray(c['in']), ...asArray(c['includesAny'])]
    .map(asString)
    .filter((v): v is string => v !== null);
  const options = asArray(field['options'])
    .map(asString)
    .filter((o): o is string => o !== null)
    .map((o) => o.toLowerCase());
  if (options.length === 0) return;
  for (const v of values) {
    if (!options.includes(v.trim().toLowerCase())) issues.push({ path, message: `"${v}" is not an option of field "${name}"` });
  }
}

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
