/**
 * GitHub's webhook payload schemas (@octokit/webhooks-schemas): a payload of event `name` must fit
 * the schema of its event and action (`issues$opened`; `push$event` for events without actions).
 * Each schema is compiled once.
 */
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

let ajv: Ajv | null = null;
const compiled = new Map<string, ValidateFunction>();

function schemas(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  (require('ajv-formats') as (a: Ajv) => Ajv)(ajv);
  // The definitions alone: the document's root (a oneOf over every event) takes seconds to compile.
  ajv.addSchema({ definitions: (require('@octokit/webhooks-schemas/schema.json') as { definitions: object }).definitions }, 'webhooks');
  return ajv;
}

/** What the schema of the payload's event (and action) rejects in it; empty when it fits. */
export function webhookViolations(name: string, payload: unknown): string[] {
  const action = (payload as { action?: unknown } | null)?.action;
  const key = typeof action === 'string' ? `${name}$${action}` : `${name}$event`;
  let v = compiled.get(key);
  if (!v) {
    const a = schemas();
    if (!a.getSchema(`webhooks#/definitions/${key}`)) return [`${key}: GitHub's webhook schemas have no such event`];
    v = a.compile({ $ref: `webhooks#/definitions/${key}` });
    compiled.set(key, v);
  }
  if (v(payload)) return [];
  return (v.errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${key} payload ${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`,
    );
}
