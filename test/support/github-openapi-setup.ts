/**
 * Every test file: each GitHub REST call made through `fetch` (the calls nock answers) is checked
 * against GitHub's OpenAPI description — the operation, its query parameters and its JSON body —
 * and so is the answer when a stand-in of test/support gave it (they mark their answers with
 * STAND_IN_HEADER). A test fails on what the description rejects. The loopback stand-in for child
 * processes checks its own (test/support/fake-github.ts).
 */
import { afterEach, beforeAll } from 'vitest';
import { isGitHubApi, recordGitHubCall, STAND_IN_HEADER, takeGitHubViolations } from './github-openapi.ts';

const checked = new WeakSet<typeof fetch>();

/** Wraps the `fetch` in place: by the first hook a test file's nock (patched on import) is in it. */
function checkFetch(): void {
  const inner = globalThis.fetch;
  if (checked.has(inner)) return;
  const wrapper = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (!isGitHubApi(url)) return inner(input, init);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const sent = typeof init?.body === 'string' ? init.body : input instanceof Request && input.body ? await input.clone().text() : '';
    const response = await inner(input, init);
    const answer = response.headers.has(STAND_IN_HEADER)
      ? { status: response.status, responseText: response.body ? await response.clone().text() : '' }
      : null;
    recordGitHubCall({ method, url: url.pathname + url.search, requestBody: sent ? (JSON.parse(sent) as unknown) : undefined, answer });
    return response;
  };
  checked.add(wrapper);
  globalThis.fetch = wrapper;
}

beforeAll(checkFetch);

afterEach(() => {
  const problems = takeGitHubViolations();
  if (problems.length > 0)
    throw new Error(`GitHub's REST API description rejects ${problems.length} call(s) or stand-in answer(s):\n- ${problems.join('\n- ')}`);
});
