/** The policy: one YAML document, validated whole before anything acts. */
import { z } from 'zod';

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
export type TierDefinition = z.infer<typeof tierSchema>;

export const routeSchema = z.object({ name: nonEmpty, label: nonEmpty, description: z.string().default('') }).strict();

export const policySchema = z
  .object({
    version: z.literal(1).default(1),
    timeZone: z.string().default('UTC'),
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
    chat: z
      .object({
        escalationChannel: nonEmpty,
        incidentChannel: nonEmpty,
      })
      .strict(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const ids = new Set<string>();
    const labels = new Set<string>();
    p.intake.fields.forEach((f, i) => {
      if (ids.has(f.id)) ctx.addIssue({ code: 'custom', path: ['intake', 'fields', i, 'id'], message: `duplicate field id "${f.id}"` });
      ids.add(f.id);
      const l = f.label.trim().toLowerCase();
      if (labels.has(l)) ctx.addIssue({ code: 'custom', path: ['intake', 'fields', i, 'label'], message: `duplicate field label "${f.label}"` });
      labels.add(l);
    });
    p.tiers.forEach((t, i) => {
      if (t.level !== i) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'level'], message: `tiers are listed in order: expected level ${i}` });
    });
    const routeNames = new Set(p.routes.map((r) => r.name));
    const fieldById = new Map(p.intake.fields.map((f) => [f.id, f]));
    p.routing.rules.forEach((r, i) => {
      if (r.route !== undefined && !routeNames.has(r.route)) {
        ctx.addIssue({ code: 'custom', path: ['routing', 'rules', i, 'route'], message: `unknown route "${r.route}" (declare it under routes)` });
      }
      checkCondition(r.when, ['routing', 'rules', i, 'when'], fieldById, ctx);
    });
  });

function checkCondition(c: Condition, path: (string | number)[], fields: Map<string, IntakeField>, ctx: z.RefinementCtx): void {
  if ('all' in c) return c.all.forEach((s, i) => checkCondition(s, [...path, 'all', i], fields, ctx));
  if ('any' in c) return c.any.forEach((s, i) => checkCondition(s, [...path, 'any', i], fields, ctx));
  if ('not' in c) return checkCondition(c.not, [...path, 'not'], fields, ctx);
  const field = fields.get(c.field);
  if (!field) {
    ctx.addIssue({ code: 'custom', path: [...path, 'field'], message: `unknown intake field "${c.field}"` });
    return;
  }
  const values = 'equals' in c ? [c.equals] : 'in' in c ? c.in : 'includes' in c ? [c.includes] : c.includesAny;
  const options = (field.options ?? []).map((o) => o.toLowerCase());
  if (options.length === 0) return;
  for (const v of values) {
    if (!options.includes(v.trim().toLowerCase())) {
      ctx.addIssue({ code: 'custom', path, message: `"${v}" is not an option of field "${c.field}"` });
    }
  }
}

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
