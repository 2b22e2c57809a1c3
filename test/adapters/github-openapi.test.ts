/**
 * The check every test's GitHub calls go through (test/support/github-openapi.ts) rejects what
 * GitHub's published OpenAPI description rejects, and passes what it describes.
 */
import { describe, expect, it } from 'vitest';
import { checkGitHubCall, githubAnswer, githubDescription, githubLabel, githubOperation } from '../support/github-openapi.ts';

const ok = (status: number, body: unknown) => ({ status, responseText: JSON.stringify(body) });

describe("GitHub's REST API description as the judge of calls and stand-in answers", () => {
  it('loads the description once and finds operations by method and concrete path', () => {
    const started = performance.now();
    githubDescription();
    githubDescription();
    // Once per test file (the load is measured in the description; a second call costs nothing).
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(githubOperation('GET', '/repos/acme/shop/commits/abc123/status')?.template).toBe('/repos/{owner}/{repo}/commits/{ref}/status');
    expect(githubOperation('GET', '/repos/acme/shop/contents/.github/gatehouse.yml')?.template).toBe(
      '/repos/{owner}/{repo}/contents/{path}',
    );
    expect(githubOperation('DELETE', '/repos/acme/shop/issues/7/labels/tier%3A%3Aadvisory')?.operationId).toBe('issues/remove-label');
  });

  it('passes a described call with its described answer', () => {
    expect(
      checkGitHubCall({
        method: 'POST',
        url: '/repos/acme/shop/issues/7/labels',
        requestBody: { labels: ['intake'] },
        answer: ok(200, [githubLabel('intake')]),
      }),
    ).toEqual([]);
    expect(
      checkGitHubCall({
        method: 'GET',
        url: '/api/v3/repos/acme/shop/pulls/7/files?per_page=100&page=2',
        answer: ok(200, githubAnswer('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', 200, [{ filename: 'a.ts' }])),
      }),
    ).toEqual([]);
  });

  it('rejects an operation GitHub does not have', () => {
    expect(checkGitHubCall({ method: 'POST', url: '/repos/acme/shop/pulls/7/labels', answer: null }).join()).toMatch(/no such operation/);
    expect(checkGitHubCall({ method: 'PUT', url: '/repos/acme/shop/check-runs/1', answer: null }).join()).toMatch(/no such operation/);
  });

  it('rejects an undeclared query parameter, and a value of the wrong type', () => {
    expect(
      checkGitHubCall({ method: 'GET', url: '/repos/acme/shop/issues/7/comments?per_page=100&sort=created', answer: null }).join(),
    ).toMatch(/query parameter `sort` is not declared/);
    expect(checkGitHubCall({ method: 'GET', url: '/repos/acme/shop/commits/abc/check-runs?filter=newest', answer: null }).join()).toMatch(
      /query parameter `filter=newest`/,
    );
    expect(checkGitHubCall({ method: 'GET', url: '/repos/acme/shop/issues?per_page=many', answer: null }).join()).toMatch(
      /query parameter `per_page=many`/,
    );
  });

  it('rejects a request body the operation does not take', () => {
    expect(
      checkGitHubCall({
        method: 'POST',
        url: '/repos/acme/shop/check-runs',
        requestBody: { name: 'gate', head_sha: 'abc', status: 'finished' },
        answer: null,
      }).join(),
    ).toMatch(/request body .*status/);
    expect(
      checkGitHubCall({ method: 'POST', url: '/repos/acme/shop/issues/7/comments', requestBody: { text: 'hi' }, answer: null }).join(),
    ).toMatch(/request body .*body/);
  });

  it('rejects a stand-in answer that is not what GitHub answers, and a success status it does not declare', () => {
    expect(
      checkGitHubCall({ method: 'GET', url: '/repos/acme/shop/issues/7/labels', answer: ok(200, [{ name: 'intake' }]) }).join(),
    ).toMatch(/answer 200: .*required property 'id'/);
    expect(
      checkGitHubCall({
        method: 'POST',
        url: '/repos/acme/shop/issues/7/comments',
        requestBody: { body: 'x' },
        answer: ok(200, {}),
      }).join(),
    ).toMatch(/answers 200, which the operation does not declare/);
    // An error GitHub may give anywhere is not held against the stand-in.
    expect(
      checkGitHubCall({ method: 'GET', url: '/repos/acme/shop/code-scanning/alerts', answer: ok(502, { message: 'Server Error' }) }),
    ).toEqual([]);
  });
});
