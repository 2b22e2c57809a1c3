/**
 * app.yml asks for exactly what the code needs, no less and no more: the permissions of every GitHub
 * REST route the code calls (a reviewed table: GitHub's OpenAPI description does not carry them;
 * GitHub's docs list them per endpoint under "Fine-grained access" / "Permissions required for
 * GitHub Apps") and the subscription of every webhook event the translate layer handles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { translateGitHub } from '../../src/adapters/github/translate.ts';
import { githubExample } from '../support/github.ts';
import { githubOperation } from '../support/github-openapi.ts';

type Level = 'read' | 'write';

/**
 * Each route the code calls → the App permission it needs (null: the App's own JWT, no
 * installation permission). Reviewed against GitHub's REST docs; where the docs accept either of
 * two permissions (labels and comments of a pull request: issues or pull_requests), the one for
 * the objects the code means.
 */
const ROUTE_PERMISSIONS: Record<string, [permission: string, level: Level] | null> = {
  'GET /app': null,
  'GET /app/hook/deliveries': null,
  'POST /app/hook/deliveries/{delivery_id}/attempts': null,
  'GET /repos/{owner}/{repo}/installation': null,
  'GET /repos/{owner}/{repo}/actions/runs': ['actions', 'read'],
  'GET /repos/{owner}/{repo}/code-scanning/alerts': ['security_events', 'read'],
  'GET /repos/{owner}/{repo}/collaborators/{username}/permission': ['metadata', 'read'],
  'GET /repos/{owner}/{repo}/commits': ['contents', 'read'],
  'GET /repos/{owner}/{repo}/commits/{ref}': ['contents', 'read'],
  'GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls': ['pull_requests', 'read'],
  'GET /repos/{owner}/{repo}/commits/{ref}/check-runs': ['checks', 'read'],
  'GET /repos/{owner}/{repo}/commits/{ref}/status': ['statuses', 'read'],
  'GET /repos/{owner}/{repo}/commits/{ref}/statuses': ['statuses', 'read'],
  'GET /repos/{owner}/{repo}/contents/{path}': ['contents', 'read'],
  'GET /repos/{owner}/{repo}/issues': ['issues', 'read'],
  'POST /repos/{owner}/{repo}/issues': ['issues', 'write'],
  'GET /repos/{owner}/{repo}/issues/{issue_number}': ['issues', 'read'],
  'PATCH /repos/{owner}/{repo}/issues/{issue_number}': ['issues', 'write'],
  'GET /repos/{owner}/{repo}/issues/{issue_number}/comments': ['issues', 'read'],
  'POST /repos/{owner}/{repo}/issues/{issue_number}/comments': ['issues', 'write'],
  'GET /repos/{owner}/{repo}/issues/comments/{comment_id}': ['issues', 'read'],
  'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}': ['issues', 'write'],
  'GET /repos/{owner}/{repo}/issues/{issue_number}/events': ['issues', 'read'],
  'GET /repos/{owner}/{repo}/issues/{issue_number}/labels': ['issues', 'read'],
  'POST /repos/{owner}/{repo}/issues/{issue_number}/labels': ['issues', 'write'],
  'DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}': ['issues', 'write'],
  'POST /repos/{owner}/{repo}/issues/{issue_number}/assignees': ['issues', 'write'],
  'GET /repos/{owner}/{repo}/pulls/{pull_number}': ['pull_requests', 'read'],
  'GET /repos/{owner}/{repo}/pulls/{pull_number}/files': ['pull_requests', 'read'],
  'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews': ['pull_requests', 'read'],
  'POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers': ['pull_requests', 'write'],
  'GET /repos/{owner}/{repo}/releases/tags/{tag}': ['contents', 'read'],
  // Writing a release's notes is a contents write.
  'PATCH /repos/{owner}/{repo}/releases/{release_id}': ['contents', 'write'],
  'POST /repos/{owner}/{repo}/check-runs': ['checks', 'write'],
  'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}': ['checks', 'write'],
};

/** Each webhook event → the permission a GitHub App needs to subscribe to it (GitHub's webhook docs, "Availability"). */
const EVENT_PERMISSIONS: Record<string, [permission: string, level: Level]> = {
  issues: ['issues', 'read'],
  issue_comment: ['issues', 'read'],
  pull_request: ['pull_requests', 'read'],
  pull_request_review: ['pull_requests', 'read'],
  check_run: ['checks', 'read'],
  check_suite: ['checks', 'read'],
  status: ['statuses', 'read'],
  push: ['contents', 'read'],
  release: ['contents', 'read'],
};

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every `METHOD /route` the code hands to Octokit (`request`, `paginate`, the evidence reader's `get`). */
function routesInCode(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(
          /\b(?:request|paginate|iterator|get)\(\s*['`]((?:GET|POST|PUT|PATCH|DELETE) \/[^'`\s]*)['`]/g,
        ))
          found.set(m[1]!, p.slice(root.length));
    }
  };
  walk(join(root, 'src'));
  return found;
}

/** The events the translate layer turns into something (an example payload of each is not ignored). */
const HANDLED: [event: string, action?: string][] = [
  ['issues', 'opened'],
  ['issue_comment', 'created'],
  ['pull_request', 'opened'],
  ['pull_request_review', 'submitted'],
  ['check_run', 'completed'],
  ['check_suite', 'completed'],
  ['status'],
  ['push'],
  ['release', 'published'],
];

const manifest = parse(readFileSync(join(root, 'app.yml'), 'utf8')) as {
  default_permissions: Record<string, string>;
  default_events: string[];
};
const order: Record<string, number> = { read: 1, write: 2 };

function needed(): Record<string, string> {
  const need: Record<string, string> = { metadata: 'read' }; // every App has it; GitHub adds it regardless
  const add = ([p, level]: [string, Level]): void => {
    if ((order[need[p] ?? ''] ?? 0) < order[level]!) need[p] = level;
  };
  for (const route of routesInCode().keys()) {
    const p = ROUTE_PERMISSIONS[route];
    if (p) add(p);
  }
  for (const e of manifest.default_events) if (EVENT_PERMISSIONS[e]) add(EVENT_PERMISSIONS[e]!);
  return need;
}

describe('app.yml: least privilege', () => {
  const routes = routesInCode();

  it('finds the routes the code calls (the scan itself works)', () => {
    expect(routes.size).toBeGreaterThan(20);
    expect(routes.get('PATCH /repos/{owner}/{repo}/releases/{release_id}')).toBe('src/adapters/github/release.ts');
  });

  it('every route the code calls is a GitHub REST operation open to GitHub Apps, with a reviewed permission', () => {
    for (const [route, file] of routes) {
      const [method, path] = route.split(' ') as [string, string];
      const op = githubOperation(method, path);
      expect(op?.template, `${route} (${file}) in GitHub's REST API description`).toBe(path);
      expect(route in ROUTE_PERMISSIONS, `${route} (${file}) has a reviewed permission`).toBe(true);
      // With an installation token; the App's own routes (null) take its JWT instead.
      if (ROUTE_PERMISSIONS[route])
        expect((op!.op['x-github'] as { enabledForGitHubApps?: boolean }).enabledForGitHubApps, `${route} works for GitHub Apps`).toBe(
          true,
        );
    }
  });

  it('the permission table names no route the code no longer calls', () => {
    expect(Object.keys(ROUTE_PERMISSIONS).filter((r) => !routes.has(r))).toEqual([]);
  });

  it('subscribes to exactly the events the translate layer handles', () => {
    for (const [name, action] of HANDLED) {
      const payload = githubExample({ name, action });
      // A comment is handled when it is a command.
      if (name === 'issue_comment') (payload['comment'] as { body: string }).body = '/gatehouse status';
      const t = translateGitHub(name, 'delivery-1', payload, 'gatehouse[bot]');
      expect(t.kind, `${name}${action ? `.${action}` : ''} is handled`).toBe('event');
    }
    expect([...manifest.default_events].sort()).toEqual(HANDLED.map(([e]) => e).sort());
  });

  it('an event it does not subscribe to is ignored (the list above is whole)', () => {
    for (const name of ['deployment', 'workflow_run', 'repository', 'label', 'member', 'installation']) {
      const example = githubExample({ name });
      expect(translateGitHub(name, 'delivery-1', example, 'gatehouse[bot]').kind, name).toBe('ignored');
    }
  });

  it('asks for exactly the permissions those routes and events need: none missing, none unused', () => {
    expect(manifest.default_permissions).toEqual(needed());
  });
});
