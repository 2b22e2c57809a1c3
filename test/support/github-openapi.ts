/**
 * GitHub's published OpenAPI description (@octokit/openapi, api.github.com) as the judge of every
 * GitHub REST call the tests see: the operation (method and path template) must exist, its query
 * parameters be declared (and their values fit), a JSON request body fit the operation's
 * requestBody, and a stand-in's JSON answer fit the operation's response for that status.
 *
 * The description (13 MB) is read once per test file, on the first GitHub call; each schema is
 * compiled once. Violations are collected and taken by the setup file after each test.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
  /** Where the parameter is in the description. */
  at: string[];
}

interface Operation {
  method: string;
  template: string;
  operationId: string;
  /** Where the operation is in the description. */
  pointer: string[];
  op: Json;
  parameters: Parameter[];
}

interface Route {
  template: string;
  regex: RegExp;
  literals: number;
  methods: Map<string, Operation>;
}

interface Description {
  doc: Json;
  routes: Route[];
  ajv: Ajv;
  compiled: Map<string, ValidateFunction>;
  loadMs: number;
}

let description: Description | null = null;

/** Where the description is: the devDependency @octokit/openapi. */
export function descriptionPath(): string {
  return require.resolve('@octokit/openapi/generated/api.github.com.json');
}

/** The place a `$ref` names (`#/components/…`); null when the value is no reference. */
function refPointer(value: unknown): string[] | null {
  const ref = (value as Json | undefined)?.['$ref'];
  if (typeof ref !== 'string') return null;
  return ref
    .slice(2)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolve<T>(doc: Json, value: unknown): T {
  let v = value as Json;
  while (v && typeof v['$ref'] === 'string') {
    const ref = v['$ref'];
    v = ref
      .slice(2)
      .split('/')
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<Json>((o, k) => o[k] as Json, doc);
  }
  return v as T;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, logger: false });
  (require('ajv-formats') as (a: Ajv) => Ajv)(ajv);
  return ajv;
}

/**
 * OpenAPI 3.0's `nullable: true` as JSON Schema says it (ajv takes `nullable` only beside a
 * `type`): `type: [t, 'null']`, or `anyOf: [schema, {type: 'null'}]`; enums gain null.
 */
function nullables(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(nullables);
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  for (const v of Object.values(o)) nullables(v);
  if (o['nullable'] !== true) return;
  delete o['nullable'];
  if (Array.isArray(o['enum']) && !o['enum'].includes(null)) o['enum'] = [...(o['enum'] as unknown[]), null];
  if (typeof o['type'] === 'string') {
    o['type'] = [o['type'], 'null'];
    return;
  }
  const rest = { ...o };
  for (const k of Object.keys(o)) delete o[k];
  o['anyOf'] = [rest, { type: 'null' }];
}

/** The description, loaded (and indexed) the first time. */
export function githubDescription(): Description {
  if (description) return description;
  const started = performance.now();
  const doc = JSON.parse(readFileSync(descriptionPath(), 'utf8')) as Json;
  const schemas = (doc['components'] as Json)['schemas'] as Json;
  nullables(schemas);
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
    const segments = template.split('/').slice(1);
    const regex = new RegExp(
      '^' +
        segments
          .map((s, i) => {
            const param = /^\{(.+)\}$/.exec(s);
            if (!param) return '/' + s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
            // A file's path or a git ref at the end of a route may hold slashes.
            return i === segments.length - 1 && (param[1] === 'path' || param[1] === 'ref') ? '/(.+)' : '/([^/]+)';
          })
          .join('') +
        '$',
    );
    const param = (p: unknown, at: string[]): Parameter => ({ ...resolve<Parameter>(doc, p), at: refPointer(p) ?? at });
    const shared = ((item['parameters'] as unknown[] | undefined) ?? []).map((p, i) =>
      param(p, ['paths', template, 'parameters', String(i)]),
    );
    const methods = new Map<string, Operation>();
    for (const method of ['get', 'post', 'put', 'patch', 'delete', 'head']) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const own = ((op['parameters'] as unknown[] | undefined) ?? []).map((p, i) =>
        param(p, ['paths', template, method, 'parameters', String(i)]),
      );
      methods.set(method.toUpperCase(), {
        method: method.toUpperCase(),
        template,
        operationId: String(op['operationId']),
        pointer: ['paths', template, method],
        op,
        parameters: [...shared, ...own],
      });
    }
    routes.push({ template, regex, literals: segments.filter((s) => !s.startsWith('{')).length, methods });
  }
  // The most specific template first: /repos/{o}/{r}/commits/{ref}/status before …/commits/{ref}/{x}.
  routes.sort((a, b) => b.literals - a.literals);
  // Only the shared schemas are added whole; an operation's own schemas are compiled when used.
  const ajv = newAjv();
  ajv.addSchema({ components: { schemas } }, 'gh');
  description = { doc, routes, ajv, compiled: new Map(), loadMs: performance.now() - started };
  return description;
}

/** `#/components/…` references as references into the shared schemas added as `gh`. */
function rebased(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebased);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json))
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `gh${v}` : rebased(v);
  return out;
}

/** The compiled validator of the schema at `pointer` (decoded tokens) in the description. */
function validator(d: Description, pointer: string[]): ValidateFunction {
  const key = pointer.join('\u0000');
  let v = d.compiled.get(key);
  if (!v) {
    const schema = rebased(pointer.reduce<Json>((o, k) => o[k] as Json, d.doc));
    nullables(schema);
    v = d.ajv.compile(schema as Json);
    d.compiled.set(key, v);
  }
  return v;
}

function errorsOf(v: ValidateFunction): string {
  return (v.errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`,
    )
    .join('; ');
}

/** The operation a request is for, if the description has one. */
export function githubOperation(method: string, path: string): Operation | null {
  const d = githubDescription();
  for (const route of d.routes) {
    if (!route.regex.test(path)) continue;
    const op = route.methods.get(method.toUpperCase());
    if (op) return op;
  }
  return null;
}

export interface GitHubCall {
  method: string;
  /** The request's path and query as sent (percent-encoded), without the /api/v3 prefix of GitHub Enterprise. */
  url: string;
  /** The JSON request body, if any. */
  requestBody?: unknown;
  /** The answer, when it is to be checked too (a stand-in's): its status and body (JSON text, or empty). */
  answer: { status: number; responseText: string } | null;
}

/** The header test/support's stand-ins put on their answers: those answers are checked too. */
export const STAND_IN_HEADER = 'x-gatehouse-stand-in';
export const standInHeaders = { [STAND_IN_HEADER]: 'github' } as const;

/** What the description rejects in a call and its answer (empty: nothing). */
export function checkGitHubCall(call: GitHubCall): string[] {
  const d = githubDescription();
  const url = new URL(call.url, 'https://api.github.com');
  const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
  const name = `${call.method} ${path}`;
  const op = githubOperation(call.method, path);
  if (!op) return [`${name}: no such operation in GitHub's REST API description`];
  const at = `${call.method} ${op.template} (${op.operationId})`;
  const problems: string[] = [];

  const query = op.parameters.filter((p) => p.in === 'query');
  for (const [key, value] of url.searchParams) {
    const p = query.find((q) => q.name === key);
    if (!p) {
      problems.push(`${at}: query parameter \`${key}\` is not declared (declared: ${query.map((q) => q.name).join(', ') || 'none'})`);
      continue;
    }
    if (p.schema) {
      // Query values are text: read as the type the parameter declares before checking.
      const type = resolve<Json>(d.doc, p.schema)['type'];
      const read =
        type === 'integer' || type === 'number'
          ? /^-?\d+(\.\d+)?$/.test(value)
            ? Number(value)
            : value
          : type === 'boolean'
            ? value === 'true'
              ? true
              : value === 'false'
                ? false
                : value
            : value;
      const v = validator(d, [...p.at, 'schema']);
      if (!v(read)) problems.push(`${at}: query parameter \`${key}=${value}\`: ${errorsOf(v)}`);
    }
  }
  for (const p of query)
    if (p.required && !url.searchParams.has(p.name)) problems.push(`${at}: required query parameter \`${p.name}\` is missing`);

  const requestBody = resolve<Json | undefined>(d.doc, op.op['requestBody']);
  const hasBody =
    call.requestBody !== undefined &&
    call.requestBody !== null &&
    !(typeof call.requestBody === 'object' && Object.keys(call.requestBody).length === 0 && !Array.isArray(call.requestBody));
  if (!requestBody) {
    if (hasBody) problems.push(`${at}: sends a body, but the operation takes none`);
  } else if (!hasBody) {
    if (requestBody['required'] === true) problems.push(`${at}: the request body is required`);
  } else if ((requestBody['content'] as Json | undefined)?.['application/json']) {
    const v = validator(d, [
      ...(refPointer(op.op['requestBody']) ?? [...op.pointer, 'requestBody']),
      'content',
      'application/json',
      'schema',
    ]);
    if (!v(call.requestBody)) problems.push(`${at}: request body ${JSON.stringify(call.requestBody).slice(0, 200)}: ${errorsOf(v)}`);
  }

  if (!call.answer) return problems;
  const { status, responseText } = call.answer;
  const responses = op.op['responses'] as Record<string, unknown>;
  const declared = responses[String(status)];
  if (!declared) {
    // GitHub may answer any request with an error the description does not list; a success it does not list is wrong.
    if (status < 400)
      problems.push(`${at}: answers ${status}, which the operation does not declare (declared: ${Object.keys(responses).join(', ')})`);
    return problems;
  }
  const response = resolve<Json>(d.doc, declared);
  const json = (response['content'] as Json | undefined)?.['application/json'] as Json | undefined;
  if (!json?.['schema'] || responseText.trim() === '') return problems;
  let body: unknown;
  try {
    body = JSON.parse(responseText);
  } catch {
    return [...problems, `${at}: answer ${status} is not JSON`];
  }
  // The schema of a shared response ($ref to components/responses) is reached through it.
  const v = validator(d, [
    ...(refPointer(declared) ?? [...op.pointer, 'responses', String(status)]),
    'content',
    'application/json',
    'schema',
  ]);
  if (!v(body)) problems.push(`${at}: answer ${status}: ${errorsOf(v)}`);
  return problems;
}

/**
 * The example the description gives for an operation's answer (a deep copy), with `overrides`
 * merged in deeply (objects merge, arrays and values replace). For a list, `overrides` is one
 * item per element, each merged over the example's first item. Stand-ins answer with these, so
 * they answer as GitHub does.
 */
export function githubAnswer(route: string, status: number, overrides: unknown): unknown {
  const d = githubDescription();
  const [method, template] = route.split(' ') as [string, string];
  const op = d.routes.find((r) => r.template === template)?.methods.get(method);
  if (!op) throw new Error(`${route}: no such operation in GitHub's REST API description`);
  const response = resolve<Json>(d.doc, (op.op['responses'] as Json)[String(status)]);
  const json = (response['content'] as Json | undefined)?.['application/json'] as Json | undefined;
  const examples = (json?.['examples'] ?? {}) as Json;
  const example = resolve<Json | undefined>(d.doc, examples['default'] ?? Object.values(examples)[0]);
  if (!example) throw new Error(`${route}: no example answer for ${status}`);
  const value = structuredClone(example['value']);
  if (Array.isArray(value)) {
    if (!Array.isArray(overrides)) throw new Error(`${route}: answers a list; give a list`);
    return overrides.map((o) => merge(structuredClone(value[0]), o));
  }
  return merge(value, overrides);
}

/** A label as GitHub answers it in lists (id, node_id, url, color, …). */
export function githubLabel(name: string): unknown {
  return (githubAnswer('GET /repos/{owner}/{repo}/issues/{issue_number}/labels', 200, [{ name }]) as unknown[])[0];
}

/** An account as GitHub answers it (simple-user). */
export function githubUser(login: string, type = login.endsWith('[bot]') ? 'Bot' : 'User'): unknown {
  return merge((githubAnswer('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', 200, [{}]) as Json[])[0]!['user'], {
    login,
    type,
  });
}

/** `over` merged deeply into a copy of `base` (objects merge; arrays and values replace; undefined removes). */
export function githubMerge(base: unknown, over: unknown): unknown {
  return merge(structuredClone(base), over);
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!over || typeof over !== 'object' || Array.isArray(over) || !base || typeof base !== 'object' || Array.isArray(base)) return over;
  const out = { ...(base as Json) };
  // A key given as undefined is left out (a field GitHub's example has that this answer has not).
  for (const [k, v] of Object.entries(over as Json)) {
    if (v === undefined) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

const violations: string[] = [];
const seen = new Set<string>();

/** Checks a call and keeps what the description rejects, until the setup file takes it. */
export function recordGitHubCall(call: GitHubCall): void {
  let problems: string[];
  try {
    problems = checkGitHubCall(call);
  } catch (e) {
    problems = [`${call.method} ${call.url}: the check failed: ${(e as Error).message}`];
  }
  for (const p of problems) {
    // One report per problem: a persistent stand-in repeats the same answer many times.
    if (seen.has(p)) continue;
    seen.add(p);
    violations.push(p);
  }
}

/** The violations since the last call. */
export function takeGitHubViolations(): string[] {
  seen.clear();
  return violations.splice(0);
}

/** Is this URL a GitHub REST API call (github.com or GitHub Enterprise's /api/v3)? */
export function isGitHubApi(url: URL): boolean {
  return url.hostname === 'api.github.com' || url.pathname.startsWith('/api/v3/');
}
