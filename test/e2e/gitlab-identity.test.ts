/**
 * GitLab attacks through the real server on loopback, as an attacker would send them: a hook
 * with one project's secret posting another project's events, a note whose payload names
 * someone else as its author, an edited command note, and deliveries that arrive before the bot
 * knows its own account. GitLab's REST API is a stateful fake on nock (no other network).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import {
  addNote,
  fakeGitLabApi,
  GITLAB_BOT,
  GITLAB_URL,
  gitlabDelivery,
  issueHook,
  issueNoteHook,
  type FakeGitLabApi,
  type GitLabDelivery,
} from '../support/gitlab.ts';
import { processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const SECRET_A = 'secret-of-gitlab-test';
const SECRET_B = 'secret-of-acme-shop';
const KEY = 'gitlab:gitlabhq/gitlab-test#40';

const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-gitlab-identity-')), 'policy.yml');
writeFileSync(
  policyPath,
  [
    'tooling:',
    '  deciders: { gitlab: [lead] }',
    '  inventory:',
    '    - { name: tool-1, criticality: medium, pathForward: maintain }',
    '',
  ].join('\n'),
);
const requestBody = `### Tool name\n\ntool-1\n\n### Problem to solve\n\nLeaked keys\n\n### Who will use it\n\nPlatform team\n\n### Requested criticality\n\nhigh\n\n### Repositories\n\n_No response_\n\n### Proposed owners\n\nalice\n\n### Alternatives considered\n\n_No response_`;

let gatehouse: Gatehouse;
let api: FakeGitLabApi;

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  const unmatched = api.unmatched.filter((r) => r.includes('gitlab.example.com'));
  api.stop();
  expect(unmatched).toEqual([]);
});

/** Secrets per project: the documented project (id 1) and acme/shop (id 2). */
async function start(extra: Parameters<typeof startTestGatehouse>[1] = {}): Promise<Gatehouse> {
  api.projects.set(2, { path_with_namespace: 'acme/shop', default_branch: 'main' });
  return startTestGatehouse(
    {
      gitlab: {
        url: GITLAB_URL,
        token: 'glpat-test',
        webhookSecret: [
          { scope: 'gitlabhq/gitlab-test', secret: SECRET_A },
          { scope: 'acme', secret: SECRET_B },
        ],
      },
      policyPath,
    },
    { gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } }, ...extra },
  );
}

const post = (d: GitLabDelivery): Promise<Response> =>
  fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
const writes = (): string[] => api.requests.filter((r) => !r.startsWith('GET '));

/** The documented note hook: a `/gatehouse` command on issue 40 of the documented project. */
function commandNote({ id, author, text }: { id: number; author: string; text: string }): Record<string, unknown> {
  return issueNoteHook({ id, author, text, iid: 40, description: requestBody, labels: ['tooling::request'] });
}

describe('GitLab webhook secrets per project or group', () => {
  it("refuses project B's event sent with project A's secret: 403, nothing stored, nothing done", async () => {
    api = fakeGitLabApi();
    gatehouse = await start();
    const b = issueHook({ description: 'x', labels: ['intake'] });
    b['project'] = { ...(b['project'] as object), id: 2, path_with_namespace: 'acme/shop', default_branch: 'main' };
    const d = gitlabDelivery({ event: 'Issue Hook', payload: b, token: SECRET_A });
    const res = await post(d);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'the X-Gitlab-Token is not the webhook secret of this project' });
    expect(await gatehouse.store.getDelivery('gitlab', d.id)).toBeNull();
    expect(await (await fetch(`${gatehouse.url}/metrics`)).text()).toMatch(
      /gatehouse_deliveries_total\{platform="gitlab",event="Issue Hook",outcome="refused"\} 1/,
    );
    // The group's secret covers its projects.
    const ok = gitlabDelivery({ event: 'Issue Hook', payload: b, token: SECRET_B });
    expect((await post(ok)).status).toBe(200);
  });

  it("refuses an event that names project A's path with project B's id: acknowledged, refused, audited, nothing written", async () => {
    api = fakeGitLabApi();
    gatehouse = await start();
    const forged = issueHook({ description: 'x', labels: ['intake'], iid: 5 });
    forged['project'] = { ...(forged['project'] as object), id: 2 }; // acme/shop's id, gitlabhq/gitlab-test's path
    const d = gitlabDelivery({ event: 'Issue Hook', payload: forged, token: SECRET_A });
    expect((await post(d)).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', d.id)).toBe('ignored');
    expect((await gatehouse.store.getDelivery('gitlab', d.id))?.lastError).toBe(
      "the payload's project gitlabhq/gitlab-test is not project 2 (acme/shop)",
    );
    expect(writes()).toEqual([]);
    const audit = await gatehouse.store.auditFor('gitlab:gitlabhq/gitlab-test#5');
    expect(audit).toEqual([
      expect.objectContaining({ action: 'refuseDelivery', outcome: 'skipped', detail: expect.objectContaining({ claimedActor: 'root' }) }),
    ]);
  });
});

describe('GitLab command notes: the author is GitLab’s, not the payload’s', () => {
  it('a note posted by mallory whose payload names the decider is refused, and audited with mallory', async () => {
    api = fakeGitLabApi();
    api.labels.set('issues/40', ['tooling::request']);
    api.descriptions.set('issues/40', requestBody);
    gatehouse = await start();
    addNote(api, 'issues/40', { id: 8001, author: 'mallory', body: '/gatehouse decide build-internal critical' });
    const d = gitlabDelivery({
      event: 'Note Hook',
      payload: commandNote({ id: 8001, author: 'lead', text: '/gatehouse decide build-internal critical' }),
      token: SECRET_A,
    });
    expect((await post(d)).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', d.id)).toBe('done');

    expect(api.labels.get('issues/40')).toEqual(['tooling::request']);
    const notes = (api.notes.get('issues/40') ?? []).filter((n) => n.author === GITLAB_BOT).map((n) => n.body);
    expect(notes.find((n) => n.startsWith('<!-- gatehouse:command-refused -->'))).toMatch(
      /mallory's `\/gatehouse decide[^`]*` \([^)]*\) was refused: only the policy's tooling deciders/,
    );
    expect(notes.find((n) => n.startsWith('<!-- gatehouse:tool-decision -->'))).toBeUndefined();
    const audit = await gatehouse.store.auditFor(KEY);
    expect(audit.filter((e) => e.action === 'refuseCommand').map((e) => (e.detail as { actor: string }).actor)).toEqual(['mallory']);
    expect(audit.find((e) => e.action === 'actorMismatch')?.detail).toMatchObject({ actor: 'mallory', claimedActor: 'lead' });
    expect(audit.some((e) => e.action === 'recordToolDecision')).toBe(false);
  });

  it('a note that is not on the issue (an id made up or from elsewhere) is refused and audited', async () => {
    api = fakeGitLabApi();
    gatehouse = await start();
    const d = gitlabDelivery({
      event: 'Note Hook',
      payload: commandNote({ id: 9999, author: 'lead', text: '/gatehouse decide build-internal critical' }),
      token: SECRET_A,
    });
    expect((await post(d)).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', d.id)).toBe('ignored');
    expect(writes()).toEqual([]);
    const audit = await gatehouse.store.auditFor(KEY);
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'refuseDelivery',
        error: expect.stringContaining('note 9999 is not on issue #40'),
        detail: expect.objectContaining({ actor: null, claimedActor: 'lead' }),
      }),
    ]);
  });

  it("the decider's own note is recorded once; editing it (GitLab's update hook) does not run it again", async () => {
    api = fakeGitLabApi();
    api.labels.set('issues/40', ['tooling::request']);
    api.descriptions.set('issues/40', requestBody);
    gatehouse = await start();
    addNote(api, 'issues/40', { id: 8002, author: 'lead', body: '/gatehouse decide build-internal critical' });
    const created = gitlabDelivery({
      event: 'Note Hook',
      payload: commandNote({ id: 8002, author: 'lead', text: '/gatehouse decide build-internal critical' }),
      token: SECRET_A,
    });
    expect((await post(created)).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', created.id)).toBe('done');
    const requests = api.requests.length;

    const edit = commandNote({ id: 8002, author: 'lead', text: '/gatehouse decide build-internal critical' });
    Object.assign(edit['object_attributes'] as Record<string, unknown>, { action: 'update', updated_at: '2015-05-18 09:00:00 UTC' });
    const edited = gitlabDelivery({ event: 'Note Hook', payload: edit, token: SECRET_A });
    expect((await post(edited)).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', edited.id)).toBe('ignored');
    expect(api.requests.length).toBe(requests);
    const audit = await gatehouse.store.auditFor(KEY);
    expect(audit.filter((e) => e.action === 'recordToolDecision')).toHaveLength(1);
  });
});

describe('replayed GitLab hooks', () => {
  it('the same body sent again under a new delivery id is acknowledged, never stored, and decides nothing again', async () => {
    api = fakeGitLabApi();
    api.labels.set('issues/40', ['tooling::request']);
    api.descriptions.set('issues/40', requestBody);
    gatehouse = await start();
    addNote(api, 'issues/40', { id: 8003, author: 'lead', body: '/gatehouse decide build-internal critical' });
    const payload = commandNote({ id: 8003, author: 'lead', text: '/gatehouse decide build-internal critical' });
    const first = gitlabDelivery({ event: 'Note Hook', payload, token: SECRET_A });
    expect((await post(first)).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', first.id)).toBe('done');
    const requests = api.requests.length;

    // Whoever captured the hook (or holds the secret) sends the very body again with a fresh delivery id.
    const again = gitlabDelivery({ event: 'Note Hook', payload, token: SECRET_A });
    expect(again.id).not.toBe(first.id);
    expect((await post(again)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await gatehouse.store.getDelivery('gitlab', again.id)).toBeNull();
    expect(api.requests.length).toBe(requests);
    const audit = await gatehouse.store.auditFor(KEY);
    expect(audit.filter((e) => e.action === 'recordToolDecision')).toHaveLength(1);
    expect(await (await fetch(`${gatehouse.url}/metrics`)).text()).toMatch(
      /gatehouse_deliveries_total\{platform="gitlab",event="Note Hook",outcome="duplicate"\} 1/,
    );
  });
});

describe('the bot knows its own account before it acts', () => {
  it('GET /user failing three times: nothing is written until it answers, then the delivery is handled once', async () => {
    api = fakeGitLabApi();
    let asked = 0;
    nock(GITLAB_URL)
      .get('/api/v4/user')
      .times(3)
      .reply(() => {
        asked++;
        return [500, { message: '500 Internal Server Error' }];
      });
    let answered = false;
    nock(GITLAB_URL)
      .get('/api/v4/user')
      .reply(() => {
        answered = true;
        return [200, { id: 99, username: GITLAB_BOT, name: 'Gatehouse', state: 'active' }];
      });
    const learnt = new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (answered) resolve(void clearInterval(t));
      }, 10);
    });
    gatehouse = await start({
      gitlab: {
        botUsername: undefined,
        retry: { attempts: 1, backoffMs: () => 10 },
        identityBackoffMs: () => 300,
        circuit: { cooldownMs: 200 },
      },
    });
    // Our own note, posted before the restart: with the account unknown it would be someone else's command.
    addNote(api, 'issues/40', { id: 8003, author: GITLAB_BOT, body: '/gatehouse decide build-internal critical' });
    const d = gitlabDelivery({
      event: 'Note Hook',
      payload: commandNote({ id: 8003, author: GITLAB_BOT, text: '/gatehouse decide build-internal critical' }),
      token: SECRET_A,
    });
    expect((await post(d)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    expect((await gatehouse.store.getDelivery('gitlab', d.id))?.status).toBe('pending');
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(api.requests).toEqual([]);
    await learnt;
    expect(await processed(gatehouse, 'gitlab', d.id)).toBe('ignored');
    expect((await gatehouse.store.getDelivery('gitlab', d.id))?.lastError).toBe('caused by Gatehouse itself');
    expect(writes()).toEqual([]);
    expect(asked).toBe(3);
  });
});
