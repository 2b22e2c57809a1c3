/** Builders for signed GitHub deliveries from @octokit/webhooks-examples. */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

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

/** An `issues` payload from the examples with the given body, labels and installation. */
export function issuesPayload({
  action = 'opened',
  body,
  labels = [],
  number = 1,
  installationId = 1,
  sender,
}: {
  action?: string;
  body: string;
  labels?: string[];
  number?: number;
  installationId?: number;
  sender?: { login: string; type: string };
}): Record<string, unknown> {
  const payload = githubExample({ name: 'issues', action });
  const issue = payload['issue'] as Record<string, unknown>;
  issue['body'] = body;
  issue['number'] = number;
  issue['state'] = 'open';
  const repo = payload['repository'] as { url: string };
  issue['labels'] = labels.map((name, i) => ({
    id: i + 1,
    node_id: `LA_${i + 1}`,
    url: `${repo.url}/labels/${encodeURIComponent(name)}`,
    name,
    color: 'ededed',
    default: false,
    description: null,
  }));
  payload['installation'] = { id: installationId, node_id: 'x' };
  if (sender) payload['sender'] = { ...(payload['sender'] as object), ...sender };
  return payload;
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Delivery {
  id: string;
  headers: Record<string, string>;
  body: string;
}

export function githubDelivery({
  name,
  payload,
  secret,
  id = randomUUID(),
  format = (p) => JSON.stringify(p),
}: {
  name: string;
  payload: unknown;
  secret: string;
  id?: string;
  /** How the body is written (compact JSON by default). */
  format?: (payload: unknown) => string;
}): Delivery {
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
