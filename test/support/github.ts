/** Builders for signed GitHub deliveries from @octokit/webhooks-examples. */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

const examples = require('@octokit/webhooks-examples') as ExampleGroup[];

/** A deep copy of the first example payload for `name` (and `action`, if given). */
export function githubExample({ name, action }: { name: string; action?: string }): Record<string, unknown> {
  const group = examples.find((g) => g.name === name);
  const example = group?.examples.find((e) => action === undefined || e['action'] === action);
  if (!example) throw new Error(`no @octokit/webhooks-examples payload for ${name}${action ? `.${action}` : ''}`);
  return structuredClone(example);
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
  issue['labels'] = labels.map((name, i) => ({ id: i + 1, name, color: 'ededed', default: false }));
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
