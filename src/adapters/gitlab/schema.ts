/**
 * The shapes Gatehouse reads from GitLab, checked with zod at the edge: the webhook payloads it
 * translates (translate.ts), the REST answers it relies on (app.ts, confirm.ts, forge.ts,
 * release.ts) and the security reports jobs publish (security-report.ts). Only the fields we read
 * are parsed.
 */
import { z } from 'zod';

// Webhook payloads (translate.ts): the fields each hook's translation reads.
const project = z.object({
  id: z.number().int(),
  path_with_namespace: z.string().min(1),
  default_branch: z.string().nullable().optional(),
});
const user = z.object({ id: z.number().optional(), username: z.string().min(1) });
const label = z.object({ title: z.string() });
/** The project as a hook names it. */
export type HookProject = z.infer<typeof project>;
/** The user as a hook names it. */
export type HookUser = z.infer<typeof user>;

export const issueHook = z.object({
  object_kind: z.enum(['issue', 'work_item']),
  user,
  project,
  object_attributes: z.object({
    iid: z.number().int().positive(),
    title: z.string(),
    description: z.string().nullable().optional(),
    state: z.string(),
    action: z.string().optional(),
    url: z.string(),
    created_at: z.string(),
    author_id: z.number().optional(),
    type: z.string().optional(),
    labels: z.array(label).optional(),
    confidential: z.boolean().nullable().optional(),
  }),
  labels: z.array(label).optional(),
  assignees: z.array(z.object({ username: z.string() })).optional(),
});

export const mergeRequestHook = z.object({
  object_kind: z.literal('merge_request'),
  user,
  project,
  object_attributes: z.object({
    iid: z.number().int().positive(),
    title: z.string(),
    description: z.string().nullable().optional(),
    state: z.string(),
    action: z.string().optional(),
    url: z.string(),
    target_branch: z.string(),
    author_id: z.number().optional(),
    draft: z.boolean().optional(),
    work_in_progress: z.boolean().optional(),
    oldrev: z.string().optional(),
    last_commit: z.object({ id: z.string() }).nullable().optional(),
    labels: z.array(label).optional(),
  }),
  labels: z.array(label).optional(),
  changes: z.record(z.string(), z.unknown()).optional(),
});

/** What a later capability (comment commands) needs from a note. */
export const noteHook = z.object({
  object_kind: z.literal('note'),
  user,
  project,
  object_attributes: z.object({
    id: z.number(),
    note: z.string(),
    noteable_type: z.string(),
    system: z.boolean().optional(),
    url: z.string().optional(),
    /** `create` or `update` (GitLab 15.x and later); older hooks tell an edit by its times. */
    action: z.string().optional(),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
    /** An internal note (GitLab sends it as a Confidential Note Hook). */
    internal: z.boolean().nullable().optional(),
    confidential: z.boolean().nullable().optional(),
  }),
  issue: z
    .object({
      iid: z.number().int(),
      title: z.string().optional(),
      description: z.string().nullable().optional(),
      state: z.string().optional(),
      created_at: z.string().optional(),
      author_id: z.number().optional(),
      labels: z.array(label).optional(),
      confidential: z.boolean().nullable().optional(),
    })
    .optional(),
  merge_request: z.object({ iid: z.number().int() }).optional(),
});

/** What the release gate needs from a pipeline: its head, status, MR and jobs. */
export const pipelineHook = z.object({
  object_kind: z.literal('pipeline'),
  project,
  object_attributes: z.object({ id: z.number(), ref: z.string(), sha: z.string(), status: z.string(), source: z.string().optional() }),
  merge_request: z.object({ iid: z.number().int() }).nullable().optional(),
  builds: z.array(z.object({ id: z.number(), name: z.string(), stage: z.string(), status: z.string() })).default([]),
  user: user.nullable().optional(),
});

export const releaseHook = z.object({
  object_kind: z.literal('release'),
  action: z.string(),
  tag: z.string(),
  name: z.string().nullable().optional(),
  project,
  commit: z.object({ id: z.string() }).optional(),
});

export const pushHook = z.object({
  object_kind: z.literal('push'),
  ref: z.string(),
  user_username: z.string().optional(),
  project,
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).default([]),
        modified: z.array(z.string()).default([]),
        removed: z.array(z.string()).default([]),
      }),
    )
    .default([]),
  total_commits_count: z.number().optional(),
});

// API answers: who we are (app.ts), and a payload's project and command note read back (confirm.ts).
/** GET /user: the token's user. */
export const currentUserSchema = z.object({ username: z.string().min(1) });
/** GET /projects/:id: its path and default branch, as the API says them. */
export const projectIdentitySchema = z.object({
  id: z.number(),
  path_with_namespace: z.string().min(1),
  default_branch: z.string().nullable().optional(),
});
/** GET /projects/:id/issues/:iid/notes/:note_id: a command's author and text, as the API says them. */
export const commandNoteSchema = z.object({
  id: z.number(),
  body: z.string(),
  system: z.boolean().optional(),
  author: z.object({ username: z.string().min(1) }),
});

// API answers: notes, issues, labels, users and follow-up issues (forge.ts, release.ts).
export const noteSchema = z.object({
  id: z.number(),
  body: z.string().nullable().default(''),
  system: z.boolean().optional().default(false),
  author: z.object({ username: z.string() }).nullable(),
});
export const notesSchema = z.array(noteSchema);
/** What creating a note answers (only its id is kept). */
export const createdNoteSchema = z.object({ id: z.number() }).partial();
export const descriptionSchema = z.object({ description: z.string().nullable().optional() });
/** GET /projects/:id/issues/:iid: labels are names (without `with_labels_details`); state `opened` or `closed`. */
export const issueSchema = z.object({
  description: z.string().nullable().optional(),
  state: z.string(),
  author: z.object({ username: z.string() }).nullable(),
  labels: z.array(z.string()),
});
export const labelEventsSchema = z.array(
  z.object({
    action: z.string(),
    created_at: z.string(),
    user: z.object({ username: z.string(), bot: z.boolean().optional() }).nullable().optional(),
    label: z.object({ name: z.string() }).nullable().optional(),
  }),
);
export const userListSchema = z.array(z.object({ id: z.number(), username: z.string() }));
export const assigneesSchema = z.object({
  assignees: z
    .array(z.object({ id: z.number() }))
    .nullable()
    .optional(),
});
/** GET …/merge_requests/:iid or …/issues/:iid: the labels alone. */
export const labelsOnlySchema = z.object({ labels: z.array(z.string()).default([]) });
/** GET /projects/:id/issues: our follow-up issues are found among them (and POST answers one). */
export const followUpIssueSchema = z.object({
  iid: z.number(),
  web_url: z.string(),
  description: z.string().nullable().optional(),
  author: z.object({ username: z.string() }).nullable().optional(),
});
export const followUpIssuesSchema = z.array(followUpIssueSchema);

// API answers: merge requests, their changes, commits and files (forge.ts, release.ts).
/** GET …/merge_requests/:iid as requestReview reads it: the reviewers. */
export const mergeRequestReviewersSchema = z.object({
  reviewers: z
    .array(z.object({ id: z.number(), username: z.string() }))
    .nullable()
    .optional(),
});
export const diffsSchema = z.array(z.object({ old_path: z.string(), new_path: z.string() }));
/** GET /projects/:id/repository/commits: git's author name and email only (no username). */
export const commitsSchema = z.array(
  z.object({
    id: z.string(),
    author_name: z.string().nullable().optional(),
    author_email: z.string().nullable().optional(),
    authored_date: z.string().nullable().optional(),
  }),
);
/** GET /projects/:id/repository/files/:path/raw, as gitbeaker hands it over. */
export const rawFileSchema = z.union([z.string(), z.instanceof(Blob)]);
/** GET /projects/:id/repository/commits/:sha/merge_requests: the merge requests a commit belongs to. */
export const commitMergeRequestsSchema = z.array(
  z.object({
    iid: z.number(),
    title: z.string(),
    description: z.string().nullable().optional(),
    labels: z.array(z.string()).default([]),
    state: z.string(),
    author: z.object({ username: z.string() }).nullable().optional(),
    web_url: z.string(),
    sha: z.string().nullable().optional(),
    target_branch: z.string(),
    draft: z.boolean().optional(),
    work_in_progress: z.boolean().optional(),
  }),
);

// API answers: the release gate's evidence, i.e. pipelines, jobs, statuses, approvals, members, versions, reviewers (release.ts).
export const pipelineSchema = z.object({ id: z.number(), sha: z.string(), status: z.string(), web_url: z.string().nullable().optional() });
/** GET …/merge_requests/:iid as the release gate reads it. */
export const gateMergeRequestSchema = z.object({
  iid: z.number(),
  sha: z.string().nullable().optional(),
  labels: z.array(z.string()).default([]),
  head_pipeline: pipelineSchema.nullable().optional(),
  /** A string: `"1000+"` when the diff is past GitLab's diff limits (the diffs listing then stops short). */
  changes_count: z.string().nullable().optional(),
  author: z.object({ username: z.string() }).nullable().optional(),
});
/** `GET /projects/:id`: where the pipeline configuration lives (empty: `.gitlab-ci.yml`). */
export const projectCiConfigSchema = z.object({ ci_config_path: z.string().nullable().optional() });
export const pipelinesSchema = z.array(pipelineSchema);
export const jobsSchema = z.array(
  z.object({
    id: z.number(),
    name: z.string(),
    status: z.string(),
    allow_failure: z.boolean().optional().default(false),
    web_url: z.string().nullable().optional(),
    artifacts: z
      .array(z.object({ file_type: z.string(), filename: z.string().nullable().optional() }))
      .nullable()
      .optional(),
  }),
);
export const statusesSchema = z.array(
  z.object({
    name: z.string(),
    status: z.string(),
    target_url: z.string().nullable().optional(),
    allow_failure: z.boolean().optional(),
    author: z.object({ username: z.string() }).nullable().optional(),
  }),
);
/** GET …/merge_requests/:iid/approvals: who approved, with ids and (when GitLab dates them) when. */
export const datedApprovalsSchema = z.object({
  approved_by: z
    .array(
      z.object({
        user: z.object({ id: z.number().optional(), username: z.string(), bot: z.boolean().optional() }),
        approved_at: z.string().nullable().optional(),
      }),
    )
    .default([]),
});
/** GET /projects/:id/members/all/:user_id (inherited members included): Developer (30) and above may push. */
export const memberSchema = z.object({ username: z.string(), access_level: z.number(), bot: z.boolean().optional() });
export const projectApprovalsSchema = z.object({ reset_approvals_on_push: z.boolean().optional() });
export const versionsSchema = z.array(z.object({ id: z.number().optional(), head_commit_sha: z.string(), created_at: z.string() }));
export const reviewersSchema = z.array(z.object({ user: z.object({ username: z.string() }), state: z.string().optional() }));

// API answers: releases and tags (release.ts).
export const releaseSchema = z.object({ tag_name: z.string(), description: z.string().nullable().optional() });
export const tagSchema = z.object({ commit: z.object({ id: z.string() }) });

// Security reports that jobs publish as artifacts (security-report.ts): the document, and each vulnerability (read on its own).
const reportIdentifierSchema = z.object({
  type: z.string().optional(),
  name: z.string().optional(),
  value: z.string(),
  url: z.string().nullable().optional(),
});

export const reportVulnerabilitySchema = z.object({
  id: z.string().optional(),
  cve: z.string().optional(),
  name: z.string().optional(),
  message: z.string().optional(),
  description: z.string().nullable().optional(),
  severity: z.string().optional(),
  scanner: z.object({ id: z.string().optional(), name: z.string().optional() }).nullable().optional(),
  identifiers: z.array(reportIdentifierSchema).min(1),
  location: z
    .object({
      file: z.string().optional(),
      image: z.string().optional(),
      start_line: z.number().optional(),
      dependency: z
        .object({ package: z.object({ name: z.string().optional() }).nullable().optional(), version: z.string().optional() })
        .nullable()
        .optional(),
      hostname: z.string().optional(),
      path: z.string().optional(),
    })
    .nullable()
    .optional(),
});

export const gitlabReportSchema = z.object({
  version: z.string().optional(),
  scan: z
    .object({
      type: z.string().optional(),
      scanner: z.object({ name: z.string().optional() }).nullable().optional(),
      status: z.string().optional(),
    })
    .nullable()
    .optional(),
  vulnerabilities: z.array(z.unknown()),
});
