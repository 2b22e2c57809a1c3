/**
 * The `gate` section of the policy: which change requests are release candidates, their release
 * class, the evidence and approvals each class needs, the blocking rules, the exception register
 * and the emergency lane. Every key has a default (the contract's "Release gate"); a policy file
 * names only what it changes.
 *
 * ```yaml
 * gate:
 *   checkName: gatehouse/release-gate           # the check run (GitHub) / commit status (GitLab)
 *   releaseBranches: ['release/*']              # a PR/MR targeting one of these is a candidate
 *   releaseLabel: release                       # ... and so is one carrying this label
 *   labels:
 *     classes: { non-prod: release-class::non-prod, prod: release-class::prod,
 *                high-risk: release-class::high-risk, emergency: release-class::emergency }
 *     verdicts: { pass: gate::pass, warn: gate::warn, block: gate::block, emergency: gate::emergency }
 *     override: gate::ship-anyway               # added while blocked = a request to ship despite the block
 *   highRiskPaths: ['**\/auth/**', '**\/payments/**', '**\/admin/**', '**\/edge/**']
 *   classRules:                                 # more rules; after the label, the most severe match wins
 *     - { class: high-risk, branches: ['release/payments-*'] }
 *   scans:                                      # scan kind -> check/job name pattern (case-insensitive regex)
 *     secrets: secret
 *     sast: sast|codeql|semgrep
 *     dependencies: dependency|(?<![a-z])sca(?![a-z])|audit   # `sca` as a word: not the `sca` of `secret-scanning`
 *     provenance: provenance|slsa|attest|(?<![a-z])(co)?sign(ing|ed|ature)?(?![a-z])
 *   sources:                                    # scan kind -> the producers whose checks count for it
 *     sast:
 *       github:
 *         apps: [github-advanced-security]       # check runs of these Apps (slug or id; not github-actions)
 *         workflows: [.github/workflows/security.yml]   # Actions runs of these workflow files, when the
 *                                               #   pull request does not change the file
 *         configPaths: ['.github/actions/**']    # ... nor these files the workflows run (local actions, scripts)
 *         statusCreators: [ci-bot]               # commit statuses posted by these logins
 *       gitlab:
 *         jobs: [semgrep-sast]                   # pipeline jobs of these names, when the merge request does
 *                                               #   not change the pipeline configuration (.gitlab-ci.yml or
 *         configPaths: ['ci/**\/*.yml']          #   the project's CI config path, and these globs: its includes)
 *         statusCreators: [signing-bot]          # commit statuses posted by these usernames
 *   classes:                                    # per release class
 *     prod:      { requires: [secrets, provenance], approvals: 1 }
 *     high-risk: { requires: [secrets, provenance, sast, dependencies], approvals: 2,
 *                  securityApprovals: 1, rollback: true }
 *   findings: { block: [critical], warn: [high] }   # the rest (medium, low, ...) is recorded
 *   approvalsAtHead: true                       # only approvals of the head commit count (false is refused)
 *   classSetters: { github: [release-manager], gitlab: [release-manager] }  # may LOWER the class by label (default none)
 *   securityReviewers: { github: [alice], gitlab: [alice] }   # empty: the global policy's change reviewers (changes.reviewers) count
 *   emergencyApprovers: { github: [cto], gitlab: [cto] }
 *   mode:                                       # enforce (check fails on block) or advisory (check neutral)
 *     default: enforce
 *     repos: { 'acme/prototype': advisory }
 *     classes: { non-prod: advisory }
 *   exceptions:
 *     approvers: { github: [ciso], gitlab: [ciso] }   # may approve by adding the approval label (never their own request)
 *     crossRepoApprovers: { github: [ciso] }    # may also approve an exception for another repository than the request's
 *     requestLabel: exception                   # applied by the "Exception request" form
 *     approvedLabel: exception::approved
 *     maxExpiryDays: 90
 *     reminderDays: 7                           # the exception-expiring notice, this long before expiry
 *     repeated: { count: 3, windowDays: 180 }   # this many exceptions of one category -> repeated-exception notice
 *   emergency:
 *     retrospectiveDueDays: 5                   # the retrospective issue's due date
 *     retrospectiveLabels: [retrospective]
 * ```
 *
 * Sources: a scan kind with no sources for the platform is recognised by check/job name alone (the
 * gate says its source is unpinned: info `scan-unpinned`). With sources named, a check of the
 * kind's name from anywhere else is ignored (and the gate says which and why); a GitLab job named in
 * `jobs` counts whether or not its name matches the kind's pattern.
 *
 * Logins are per platform (GitHub login, GitLab username). A repository in `mode.repos` is its
 * GitHub `owner/name` or GitLab project path; it wins over `mode.classes`.
 */
import { z } from 'zod';
import { globSchema } from '../policy/glob.ts';

const nonEmpty = z.string().trim().min(1);

export const RELEASE_CLASSES = ['non-prod', 'prod', 'high-risk', 'emergency'] as const;
export type ReleaseClass = (typeof RELEASE_CLASSES)[number];

export const GATE_VERDICT_LABELS = ['pass', 'warn', 'block', 'emergency'] as const;

/** A case-insensitive regular expression, as a string; refused when it does not compile. */
const pattern = nonEmpty.superRefine((s, ctx) => {
  try {
    new RegExp(s, 'i');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${err instanceof Error ? err.message : String(err)}` });
  }
});

const principals = z.object({ github: z.array(nonEmpty).default([]), gitlab: z.array(nonEmpty).default([]) }).strict();

const severity = z.enum(['critical', 'high', 'medium', 'low', 'info', 'unknown']);
const mode = z.enum(['enforce', 'advisory']);
export type GateMode = z.infer<typeof mode>;

const classRequirements = (d: { requires: string[]; approvals: number; securityApprovals: number; rollback: boolean }) =>
  z
    .object({
      /** Scan kinds (keys of `scans`) whose check must be present and successful. */
      requires: z.array(nonEmpty).default(d.requires),
      /** Approvals needed (the author's own never counts). */
      approvals: z.number().int().min(0).default(d.approvals),
      /** Of those, how many from `securityReviewers`. */
      securityApprovals: z.number().int().min(0).default(d.securityApprovals),
      /** A non-empty `Rollback` section in the description. */
      rollback: z.boolean().default(d.rollback),
    })
    .strict();

/** GitHub Actions' own App: its check runs count only through `workflows` (any workflow, a pull request's own included, runs as it). */
export const GITHUB_ACTIONS_APP = { id: 15368, slug: 'github-actions' } as const;

const scanSourcesSchema = z
  .object({
    github: z
      .object({
        /** App slug or numeric id. */
        apps: z
          .array(z.union([z.number().int().positive(), nonEmpty]))
          .default([])
          .superRefine((apps, ctx) => {
            apps.forEach((a, i) => {
              if (a === GITHUB_ACTIONS_APP.id || String(a).toLowerCase() === GITHUB_ACTIONS_APP.slug) {
                ctx.addIssue({
                  code: 'custom',
                  path: [i],
                  message:
                    "any workflow (a pull request's own included) runs as github-actions: name the workflow files under workflows instead",
                });
              }
            });
          }),
        /** Workflow file paths (`.github/workflows/security.yml`). */
        workflows: z.array(nonEmpty).default([]),
        /** More files the named workflows run (picomatch globs: local actions, scripts): changed, the runs do not count. */
        configPaths: z.array(globSchema).default([]),
        statusCreators: z.array(nonEmpty).default([]),
      })
      .strict()
      .prefault({}),
    gitlab: z
      .object({
        jobs: z.array(nonEmpty).default([]),
        /** More files of the pipeline configuration (picomatch globs): its local includes. */
        configPaths: z.array(globSchema).default([]),
        statusCreators: z.array(nonEmpty).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type ScanSources = z.infer<typeof scanSourcesSchema>;

export const classRuleSchema = z
  .object({
    /** Non-prod and emergency come from the label only. */
    class: z.enum(['prod', 'high-risk']),
    /** Target branches (picomatch globs). */
    branches: z.array(globSchema).min(1).optional(),
    /** Changed paths (picomatch globs, dotfiles included): any match. */
    paths: z.array(globSchema).min(1).optional(),
  })
  .strict()
  .refine((r) => r.branches !== undefined || r.paths !== undefined, { message: 'a class rule names branches or paths' });

export const gatePolicySchema = z
  .object({
    checkName: nonEmpty.default('gatehouse/release-gate'),
    releaseBranches: z.array(globSchema).default(['release/*']),
    releaseLabel: nonEmpty.default('release'),
    labels: z
      .object({
        classes: z
          .object({
            'non-prod': nonEmpty.default('release-class::non-prod'),
            prod: nonEmpty.default('release-class::prod'),
            'high-risk': nonEmpty.default('release-class::high-risk'),
            emergency: nonEmpty.default('release-class::emergency'),
          })
          .strict()
          .prefault({}),
        verdicts: z
          .object({
            pass: nonEmpty.default('gate::pass'),
            warn: nonEmpty.default('gate::warn'),
            block: nonEmpty.default('gate::block'),
            emergency: nonEmpty.default('gate::emergency'),
          })
          .strict()
          .prefault({}),
        /** Added while the gate blocks: a request to ship despite the block (escalated, never a pass). */
        override: nonEmpty.default('gate::ship-anyway'),
      })
      .strict()
      .prefault({}),
    highRiskPaths: z.array(globSchema).default(['**/auth/**', '**/payments/**', '**/admin/**', '**/edge/**']),
    classRules: z.array(classRuleSchema).default([]),
    /** Scan kind -> check/job name pattern. The four named kinds keep their defaults unless set; more kinds may be added. */
    scans: z
      .object({
        secrets: pattern.default('secret'),
        sast: pattern.default('sast|codeql|semgrep'),
        dependencies: pattern.default('dependency|(?<![a-z])sca(?![a-z])|audit'),
        // `sign` as a word (signing, signed, cosign): a bare `sign` matched design-review and assign-reviewers.
        provenance: pattern.default('provenance|slsa|attest|(?<![a-z])(co)?sign(ing|ed|ature)?(?![a-z])'),
      })
      .catchall(pattern)
      .superRefine((scans, ctx) => {
        for (const kind of Object.keys(scans))
          if (!/^[a-z][a-z0-9-]*$/.test(kind))
            ctx.addIssue({ code: 'custom', path: [kind], message: 'scan kinds are lower-case, e.g. secrets' });
      })
      .prefault({}),
    /** Scan kind -> the producers whose checks count for it; a kind not named here is recognised by name alone. */
    sources: z.record(nonEmpty, scanSourcesSchema).default({}),
    classes: z
      .object({
        'non-prod': classRequirements({ requires: [], approvals: 0, securityApprovals: 0, rollback: false }).prefault({}),
        prod: classRequirements({ requires: ['secrets', 'provenance'], approvals: 1, securityApprovals: 0, rollback: false }).prefault({}),
        'high-risk': classRequirements({
          requires: ['secrets', 'provenance', 'sast', 'dependencies'],
          approvals: 2,
          securityApprovals: 1,
          rollback: true,
        }).prefault({}),
        /** What the emergency lane would have needed: unmet, these are the controls it bypasses. */
        emergency: classRequirements({ requires: ['secrets', 'provenance'], approvals: 1, securityApprovals: 0, rollback: false }).prefault(
          {},
        ),
      })
      .strict()
      .prefault({}),
    findings: z
      .object({
        block: z.array(severity).default(['critical']),
        warn: z.array(severity).default(['high']),
      })
      .strict()
      .prefault({}),
    /**
     * Approvals count at the head commit only (a new push withdraws them). Kept as a key so that
     * existing policy files still read; `false` is refused: it would let an approval of one
     * commit vouch for another.
     */
    approvalsAtHead: z.literal(true, { error: 'approvals count at the head commit only: approvalsAtHead cannot be false' }).default(true),
    /**
     * Accounts (per platform) whose `release-class::*` label may lower the class below what the
     * path and branch rules give; anyone's label may raise it. Who added a label is read from the
     * platform's label events. Default: nobody.
     */
    classSetters: principals.prefault({}),
    securityReviewers: principals.prefault({}),
    emergencyApprovers: principals.prefault({}),
    mode: z
      .object({
        default: mode.default('enforce'),
        repos: z.record(nonEmpty, mode).default({}),
        classes: z.partialRecord(z.enum(RELEASE_CLASSES), mode).default({}),
      })
      .strict()
      .prefault({}),
    exceptions: z
      .object({
        approvers: principals.prefault({}),
        /** Approvers (also in `approvers`) who may approve an exception scoped to another repository than the request issue's. */
        crossRepoApprovers: principals.prefault({}),
        requestLabel: nonEmpty.default('exception'),
        approvedLabel: nonEmpty.default('exception::approved'),
        maxExpiryDays: z.number().int().min(1).default(90),
        reminderDays: z.number().int().min(0).default(7),
        repeated: z
          .object({ count: z.number().int().min(2).default(3), windowDays: z.number().int().min(1).default(180) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    emergency: z
      .object({
        retrospectiveDueDays: z.number().int().min(1).default(5),
        retrospectiveLabels: z.array(nonEmpty).default(['retrospective']),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((g, ctx) => {
    const kinds = new Set(Object.keys(g.scans));
    for (const cls of RELEASE_CLASSES) {
      g.classes[cls].requires.forEach((k, i) => {
        if (!kinds.has(k))
          ctx.addIssue({
            code: 'custom',
            path: ['classes', cls, 'requires', i],
            message: `unknown scan kind "${k}" (declare it under gate.scans)`,
          });
      });
      if (g.classes[cls].securityApprovals > g.classes[cls].approvals) {
        ctx.addIssue({
          code: 'custom',
          path: ['classes', cls, 'securityApprovals'],
          message: 'security approvals are part of the approvals: no more than approvals',
        });
      }
    }
    for (const kind of Object.keys(g.sources)) {
      if (!kinds.has(kind))
        ctx.addIssue({ code: 'custom', path: ['sources', kind], message: `unknown scan kind "${kind}" (declare it under gate.scans)` });
    }
    const verdicts = Object.values(g.labels.verdicts).map((l) => l.toLowerCase());
    if (new Set(verdicts).size !== verdicts.length)
      ctx.addIssue({ code: 'custom', path: ['labels', 'verdicts'], message: 'each verdict needs its own label' });
  });
