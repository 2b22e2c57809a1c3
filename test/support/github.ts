/** Builders for signed GitHub deliveries from @octokit/webhooks-examples. */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { webhookViolations } from './github-webhook-schemas.ts';

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

const examples = require('@octokit/webhooks-examples') as ExampleGroup[];

/**
 * A deep copy of the first example payload for `name` (and `action`, if given), with the fields
 * GitHub sends today that the (older) examples lack, so it fits GitHub's webhook schemas.
 */
export function githubExample({ name, action }: { name: string; action?: string }): Record<string, unknown> {
  const group = examples.find((g) => g.name === name);
  const example = group?.examples.find((e) => action === undefined || e['action'] === action);
  if (!example) throw new Error(`no @octokit/webhooks-examples payload for ${name}${action ? `.${action}` : ''}`);
  return current(structuredClone(example));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const reactions = (url: unknown): Obj => ({
  url: `${String(url)}/reactions`,
  total_count: 0,
  '+1': 0,
  '-1': 0,
  laugh: 0,
  hooray: 0,
  confused: 0,
  heart: 0,
  rocket: 0,
  eyes: 0,
});

/** The fields GitHub's current payloads carry that the examples predate (each only when absent). */
function current(payload: Obj): Obj {
  const fill = (o: unknown, fields: Obj): void => {
    if (isObj(o)) for (const [k, v] of Object.entries(fields)) if (!(k in o)) o[k] = v;
  };
  const repository = (r: unknown): void =>
    fill(r, {
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: isObj(r) && r['private'] === true ? 'private' : 'public',
      custom_properties: {},
    });
  const labels = (o: unknown): void => {
    if (isObj(o) && Array.isArray(o['labels'])) for (const l of o['labels']) fill(l, { description: null });
  };
  repository(payload['repository']);
  const issue = payload['issue'];
  if (isObj(issue)) {
    fill(issue, { active_lock_reason: null, reactions: reactions(issue['url']) });
    labels(issue);
  }
  const comment = payload['comment'];
  if (isObj(comment)) fill(comment, { performed_via_github_app: null, reactions: reactions(comment['url']) });
  const pr = payload['pull_request'];
  if (isObj(pr)) {
    fill(pr, { auto_merge: null, active_lock_reason: null, draft: false });
    labels(pr);
    for (const side of ['head', 'base']) if (isObj(pr[side])) repository((pr[side] as Obj)['repo']);
  }
  const release = payload['release'];
  if (isObj(release)) {
    if (release['name'] === null) release['name'] = String(release['tag_name']);
    if (release['body'] === null) release['body'] = '';
  }
  return payload;
}

/**
 * An `issues` payload from the examples with the given body, labels, assignees and installation.
 * The examples have no `issues.closed`: a `reopened` one stands in, closed (state and time).
 */
export function issuesPayload({
  action = 'opened',
  body,
  labels = [],
  number = 1,
  installationId = 1,
  sender,
  assignees,
  label,
}: {
  action?: string;
  body: string;
  labels?: readonly string[];
  number?: number;
  installationId?: number;
  sender?: { login: string; type: string };
  /** Who the issue is assigned to (the example's assignee when not given). */
  assignees?: readonly string[];
  /** The label a `labeled`/`unlabeled` event is about. */
  label?: string;
}): Record<string, unknown> {
  const payload = githubExample({ name: 'issues', action: action === 'closed' ? 'reopened' : action });
  payload['action'] = action;
  const issue = payload['issue'] as Record<string, unknown>;
  issue['body'] = body;
  issue['number'] = number;
  issue['state'] = action === 'closed' ? 'closed' : 'open';
  if (action === 'closed') issue['closed_at'] ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const repo = payload['repository'] as { url: string };
  issue['labels'] = githubLabels(labels, repo.url);
  if (assignees !== undefined) {
    const users = assignees.map((login) => githubUser(login));
    issue['assignees'] = users;
    issue['assignee'] = users[0] ?? null;
  }
  if (label !== undefined) payload['label'] = githubLabels([label], repo.url)[0];
  payload['installation'] = githubInstallation(installationId);
  if (sender) payload['sender'] = { ...(payload['sender'] as object), ...sender };
  return payload;
}

/** A user as GitHub's payloads carry one: the examples' sender under another login. */
export function githubUser(login: string, type: 'User' | 'Bot' = login.endsWith('[bot]') ? 'Bot' : 'User'): Obj {
  const sender = githubExample({ name: 'issues', action: 'opened' })['sender'] as Obj;
  const user: Obj = {};
  for (const [k, v] of Object.entries(sender)) user[k] = typeof v === 'string' ? v.replaceAll('Codertocat', encodeURIComponent(login)) : v;
  let id = 0;
  for (const c of login) id = (id * 31 + c.charCodeAt(0)) % 1_000_000_007;
  return { ...user, login, id: id + 1, type };
}

/** Labels as GitHub's payloads carry them (with ids, urls and colours). */
export function githubLabels(names: readonly string[], repoUrl = 'https://api.github.com/repos/Codertocat/Hello-World'): Obj[] {
  return names.map((name, i) => ({
    id: i + 1,
    node_id: `LA_${i + 1}`,
    url: `${repoUrl}/labels/${encodeURIComponent(name)}`,
    name,
    color: 'ededed',
    default: false,
    description: null,
  }));
}

/** The installation a payload names. */
export const githubInstallation = (id = 1): Obj => ({ id, node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${id}` });

/**
 * A `pull_request` payload from the examples (the example of `action`, or `opened` re-labelled
 * when there is none) with the given body, labels, head and installation; `label` is the label
 * a `labeled`/`unlabeled` event is about.
 */
export function pullRequestPayload({
  action = 'opened',
  body,
  labels = [],
  number,
  headSha,
  baseRef,
  label,
  installationId = 1,
}: {
  action?: string;
  body: string;
  labels?: readonly string[];
  number?: number;
  headSha?: string;
  baseRef?: string;
  label?: string;
  installationId?: number;
}): Obj {
  const hasExample = examples.some((g) => g.name === 'pull_request' && g.examples.some((e) => e['action'] === action));
  const payload = githubExample({ name: 'pull_request', action: hasExample ? action : 'opened' });
  payload['action'] = action;
  pullRequestFields(payload['pull_request'] as Obj, { body, labels, number, headSha, baseRef });
  if (number !== undefined) payload['number'] = number;
  if (label !== undefined) payload['label'] = githubLabels([label])[0];
  payload['installation'] = githubInstallation(installationId);
  return payload;
}

function pullRequestFields(
  pr: Obj,
  {
    body,
    labels,
    number,
    headSha,
    baseRef,
  }: { body: string; labels: readonly string[]; number?: number; headSha?: string; baseRef?: string },
): void {
  pr['body'] = body;
  pr['labels'] = githubLabels(labels);
  if (number !== undefined) pr['number'] = number;
  if (headSha !== undefined) (pr['head'] as Obj)['sha'] = headSha;
  if (baseRef !== undefined) (pr['base'] as Obj)['ref'] = baseRef;
}

/** A `pull_request_review.submitted` payload: `login`'s review (approved unless said) of the pull request. */
export function pullRequestReviewPayload({
  login,
  state = 'approved',
  body,
  labels = [],
  headSha,
  baseRef,
  installationId = 1,
}: {
  login: string;
  state?: 'approved' | 'changes_requested' | 'commented';
  body: string;
  labels?: readonly string[];
  headSha?: string;
  baseRef?: string;
  installationId?: number;
}): Obj {
  const payload = githubExample({ name: 'pull_request_review', action: 'submitted' });
  pullRequestFields(payload['pull_request'] as Obj, { body, labels, headSha, baseRef });
  const user = githubUser(login);
  payload['review'] = { ...(payload['review'] as Obj), state, user, ...(headSha === undefined ? {} : { commit_id: headSha }) };
  payload['sender'] = user;
  payload['installation'] = githubInstallation(installationId);
  return payload;
}

/** An `issue_comment.created` payload: `login`'s comment `body` (id `id`) on the issue of `issue` (an issuesPayload). */
export function issueCommentPayload({ issue, id, body, login }: { issue: Obj; id: number; body: string; login: string }): Obj {
  const payload = githubExample({ name: 'issue_comment', action: 'created' });
  const user = githubUser(login);
  payload['issue'] = issue['issue'];
  payload['repository'] = issue['repository'];
  payload['installation'] = issue['installation'];
  payload['comment'] = { ...(payload['comment'] as Obj), id, body, user };
  payload['sender'] = user;
  return payload;
}

/** A `check_run.completed` payload for run `id` named `name` on `headSha`. */
export function checkRunPayload({
  id,
  name,
  headSha,
  conclusion,
  installationId = 1,
}: {
  id: number;
  name: string;
  headSha: string;
  conclusion: string;
  installationId?: number;
}): Obj {
  const payload = githubExample({ name: 'check_run', action: 'completed' });
  Object.assign(payload['check_run'] as Obj, { id, name, head_sha: headSha, conclusion });
  payload['installation'] = githubInstallation(installationId);
  return payload;
}

/** A `check_suite.completed` payload for suite `id` on `headSha` (`updatedAt` tells a re-run apart). */
export function checkSuitePayload({
  id,
  headSha,
  updatedAt,
  installationId = 1,
}: {
  id: number;
  headSha: string;
  updatedAt?: string;
  installationId?: number;
}): Obj {
  const payload = githubExample({ name: 'check_suite', action: 'completed' });
  Object.assign(payload['check_suite'] as Obj, { id, head_sha: headSha, ...(updatedAt === undefined ? {} : { updated_at: updatedAt }) });
  payload['installation'] = githubInstallation(installationId);
  return payload;
}

/** A `push` payload from the examples: one commit to `ref` changing `modified`, in a repository whose default branch is `defaultBranch`. */
export function pushPayload({
  ref,
  defaultBranch,
  modified,
  installationId = 1,
}: {
  ref: string;
  defaultBranch: string;
  modified: readonly string[];
  installationId?: number;
}): Obj {
  const payload = githubExample({ name: 'push' });
  const commit: Obj = { ...(payload['head_commit'] as Obj), added: [], removed: [], modified: [...modified] };
  (payload['repository'] as Obj)['default_branch'] = defaultBranch;
  Object.assign(payload, { ref, commits: [commit], head_commit: commit, after: commit['id'] });
  payload['installation'] = githubInstallation(installationId);
  return payload;
}

/** A `ping` payload (the example's hook) with its own zen and hook id. */
export function pingPayload({ zen, hookId }: { zen: string; hookId: number }): Obj {
  const payload = githubExample({ name: 'ping' });
  payload['zen'] = zen;
  payload['hook_id'] = hookId;
  const hook = payload['hook'] as Obj;
  hook['id'] = hookId;
  // (The example predates the deliveries URL GitHub's hooks carry today.)
  hook['deliveries_url'] ??= `${String(hook['url'])}/deliveries`;
  return payload;
}

function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Delivery {
  id: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A signed delivery of `payload` as GitHub would send it. The payload must fit GitHub's webhook
 * schema of its event and action (@octokit/webhooks-schemas), or this throws the schema's
 * complaints: what the tests send the server is what GitHub sends. A test that sends GitHub a
 * payload it would never send on purpose (garbage the server must refuse) says why in `unchecked`.
 */
export function githubDelivery({
  name,
  payload,
  secret,
  id = randomUUID(),
  format = (p) => JSON.stringify(p),
  unchecked,
}: {
  name: string;
  payload: unknown;
  secret: string;
  id?: string;
  /** How the body is written (compact JSON by default). */
  format?: (payload: unknown) => string;
  /** Why this payload is sent without the schema check (only a payload malformed on purpose). */
  unchecked?: string;
}): Delivery {
  if (unchecked === undefined) {
    const problems = webhookViolations(name, payload);
    if (problems.length > 0) {
      const message = `GitHub would not send this ${name} payload (its webhook schema says):\n${problems.join('\n')}`;
      throw new Error(message);
    }
  } else if (unchecked.trim() === '') throw new Error('githubDelivery: say why the payload is unchecked');
  const body = format(payload);
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': name,
      'x-github-delivery': id,
      'x-hub-signature-256': sign(secret, body),
      'user-agent': 'GitHub-Hookshot/test',
    },
  };
}

let cachedKey: string | null = null;
/** A real RSA key, so Probot signs real app JWTs. */
export function testPrivateKey(): string {
  cachedKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return cachedKey;
}
