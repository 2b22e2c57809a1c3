/**
 * The shapes Gatehouse reads from GitHub, checked with zod at the edge: the webhook payloads it
 * translates (translate.ts) and the REST answers it relies on (app.ts, forge.ts, release.ts).
 * Only the fields we read are parsed.
 */
import { z } from 'zod';

// Webhook payloads (translate.ts): the fields each event's translation reads.
const user = z.object({ login: z.string(), type: z.string().default('User') });
const repository = z.object({ id: z.number(), full_name: z.string().min(3), default_branch: z.string().optional() });
/** The repository as a payload names it. */
export type PayloadRepository = z.infer<typeof repository>;

export const issuesPayload = z.object({
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string().nullable().optional(),
    labels: z.array(z.union([z.object({ name: z.string() }), z.string()])).default([]),
    state: z.enum(['open', 'closed']),
    user: user.nullable(),
    assignees: z
      .array(z.object({ login: z.string() }))
      .nullable()
      .default([]),
    html_url: z.string(),
    created_at: z.string(),
    pull_request: z.unknown().optional(),
  }),
  label: z.object({ name: z.string() }).optional(),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});

/** `issue_comment`: what a command comment needs (the issue as in `issues`, the comment's id and text). */
export const issueCommentPayload = z.object({
  action: z.string(),
  issue: issuesPayload.shape.issue,
  comment: z.object({ id: z.number().int(), body: z.string().nullable().optional(), user: user.nullable() }),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});

export const pullRequestPayload = z.object({
  action: z.string(),
  pull_request: z.object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string().nullable().optional(),
    labels: z.array(z.object({ name: z.string() })).default([]),
    state: z.enum(['open', 'closed']),
    merged: z.boolean().nullable().optional(),
    draft: z.boolean().optional(),
    user: user.nullable(),
    html_url: z.string(),
    head: z.object({ sha: z.string() }),
    base: z.object({ ref: z.string() }),
  }),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
  label: z.object({ name: z.string() }).optional(),
});

/** Release gate: what it reads of reviews, check suites and runs, statuses and releases. */
export const reviewPayload = pullRequestPayload.extend({ action: z.string(), review: z.object({ state: z.string() }).optional() });
const app = z.object({ slug: z.string().nullable().optional() }).nullable().optional();
const prNumbers = z.array(z.object({ number: z.number().int().positive() })).default([]);
export const checkSuitePayload = z.object({
  action: z.string(),
  check_suite: z.object({ head_sha: z.string().min(7), conclusion: z.string().nullable().optional(), pull_requests: prNumbers, app }),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});
export const checkRunPayload = z.object({
  action: z.string(),
  check_run: z.object({ name: z.string(), head_sha: z.string().min(7), pull_requests: prNumbers, app }),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});
export const statusPayload = z.object({
  sha: z.string().min(7),
  state: z.string(),
  context: z.string(),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});
export const releasePayload = z.object({
  action: z.string(),
  release: z.object({ tag_name: z.string().min(1), target_commitish: z.string().nullable().optional() }),
  repository,
  sender: user,
  installation: z.object({ id: z.number() }).optional(),
});

export const pushPayload = z.object({
  ref: z.string(),
  repository,
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).default([]),
        modified: z.array(z.string()).default([]),
        removed: z.array(z.string()).default([]),
      }),
    )
    .default([]),
  installation: z.object({ id: z.number() }).optional(),
});

// API answers: the App and its installations (app.ts).
/** GET /app: the App's slug (its bot is `<slug>[bot]`). */
export const appSchema = z.object({ slug: z.string() });
/** GET /repos/{owner}/{repo}/installation: the installation's id. */
export const installationSchema = z.object({ id: z.number() });

// API answers: issues, comments and labels (forge.ts, release.ts).
export const commentSchema = z.object({
  id: z.number(),
  body: z.string().nullable().optional(),
  user: z.object({ login: z.string(), type: z.string() }).nullable(),
});
export const commentsSchema = z.array(commentSchema);
/** What POST …/comments answers (only its id is kept). */
export const createdCommentSchema = z.object({ id: z.number() }).partial();
export const labelsSchema = z.array(z.object({ name: z.string() }));
export const issueBodySchema = z.object({ body: z.string().nullable().optional() });
/** GET /repos/{owner}/{repo}/issues/{issue_number}: labels are objects (or, in old answers, names). */
export const issueSchema = z.object({
  body: z.string().nullable().optional(),
  state: z.enum(['open', 'closed']),
  user: z.object({ login: z.string() }).nullable(),
  labels: z.array(z.union([z.string(), z.object({ name: z.string() })])),
});
export const issueEventsSchema = z.array(
  z.object({
    event: z.string(),
    created_at: z.string(),
    actor: z.object({ login: z.string(), type: z.string().optional() }).nullable().optional(),
    label: z.object({ name: z.string() }).nullable().optional(),
  }),
);
/** GET /repos/{owner}/{repo}/issues: the open issues among which a follow-up issue of ours is found. */
export const issueListSchema = z.array(
  z.object({
    number: z.number(),
    html_url: z.string(),
    body: z.string().nullable().optional(),
    user: z.object({ login: z.string(), type: z.string() }).nullable().optional(),
    pull_request: z.unknown().optional(),
  }),
);
export const createdIssueSchema = z.object({ number: z.number(), html_url: z.string() });

// API answers: contents, commits and pull requests (forge.ts, release.ts).
export const fileContentSchema = z.object({ content: z.string(), encoding: z.string() });
/** GET /repos/{owner}/{repo}/commits: `author`/`committer` are the linked GitHub accounts (null when none). */
export const commitsSchema = z.array(
  z.object({
    sha: z.string(),
    commit: z.object({
      author: z.object({ name: z.string().optional(), email: z.string().optional(), date: z.string().optional() }).nullable(),
    }),
    author: z.object({ login: z.string() }).partial().nullable().optional(),
    committer: z.object({ login: z.string() }).partial().nullable().optional(),
  }),
);
/** GET /repos/{owner}/{repo}/pulls/{pull_number}/files. */
export const pullFilesSchema = z.array(z.object({ filename: z.string(), previous_filename: z.string().optional() }));
/** GET /repos/{owner}/{repo}/commits/{sha}: the GitHub accounts its author and committer emails belong to. */
export const commitAccountsSchema = z.object({
  sha: z.string(),
  author: z.object({ login: z.string() }).nullable().optional(),
  committer: z.object({ login: z.string() }).nullable().optional(),
});
/** `GET /pulls/{n}`: how many files the pull request changes (the files listing stops at 3,000). */
export const pullFilesCountSchema = z.object({ changed_files: z.number().int().min(0), head: z.object({ sha: z.string() }) });
/** GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls: the pull requests a commit belongs to. */
export const pullSchema = z.object({
  number: z.number(),
  title: z.string(),
  body: z.string().nullable().optional(),
  labels: z.array(z.object({ name: z.string() })).default([]),
  state: z.enum(['open', 'closed']),
  merged_at: z.string().nullable().optional(),
  draft: z.boolean().optional(),
  user: z.object({ login: z.string(), type: z.string().default('User') }).nullable(),
  html_url: z.string(),
  head: z.object({ sha: z.string() }),
  base: z.object({ ref: z.string() }),
});
export const pullsSchema = z.array(pullSchema);

// API answers: the release gate's evidence, i.e. check runs, statuses, workflow runs, reviews, permissions, code scanning alerts (release.ts).
export const checkRunSchema = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string(),
  conclusion: z.string().nullable().optional(),
  html_url: z.string().nullable().optional(),
  details_url: z.string().nullable().optional(),
  app: z.object({ id: z.number(), slug: z.string().nullable().optional() }).nullable().optional(),
  check_suite: z.object({ id: z.number() }).nullable().optional(),
});
export const checkRunsSchema = z.object({ total_count: z.number(), check_runs: z.array(checkRunSchema) });

export const combinedStatusSchema = z.object({
  total_count: z.number().optional(),
  statuses: z.array(z.object({ context: z.string(), state: z.string(), target_url: z.string().nullable().optional() })),
});

/** `GET /commits/{ref}/statuses`: every status, newest first, with who posted it. */
export const statusListSchema = z.array(
  z.object({
    context: z.string(),
    state: z.string(),
    target_url: z.string().nullable().optional(),
    creator: z.object({ login: z.string() }).nullable().optional(),
  }),
);

/** `GET /actions/runs?head_sha=`: the workflow runs of the head, by check suite. */
export const workflowRunsSchema = z.object({
  total_count: z.number(),
  workflow_runs: z.array(
    z.object({ id: z.number(), path: z.string(), check_suite_id: z.number().nullable().optional(), head_sha: z.string() }),
  ),
});

export const reviewsSchema = z.array(
  z.object({
    user: z.object({ login: z.string(), type: z.string().default('User') }).nullable(),
    state: z.string(),
    commit_id: z.string().nullable().optional(),
  }),
);

/** GET /repos/{owner}/{repo}/collaborators/{username}/permission (`permission` is admin, write, read or none; maintain reads write). */
export const permissionSchema = z.object({ permission: z.string(), role_name: z.string().optional() });

/** GET /repos/{owner}/{repo}/code-scanning/alerts: the open alerts of the pull request's head. */
export const alertsSchema = z.array(
  z.object({
    number: z.number(),
    html_url: z.string().nullable().optional(),
    rule: z.object({
      id: z.string().nullable().optional(),
      name: z.string().nullable().optional(),
      description: z.string().nullable().optional(),
      severity: z.string().nullable().optional(),
      security_severity_level: z.string().nullable().optional(),
    }),
    tool: z.object({ name: z.string().nullable().optional() }).nullable().optional(),
    most_recent_instance: z
      .object({ location: z.object({ path: z.string().nullable().optional() }).nullable().optional() })
      .nullable()
      .optional(),
  }),
);

// API answers: releases and tags (release.ts).
export const releaseSchema = z.object({ id: z.number(), body: z.string().nullable().optional() });
export const tagCommitSchema = z.object({ sha: z.string() });
