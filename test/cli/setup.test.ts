/**
 * `gatehouse setup` end to end on loopback: the one-time page posts app.yml's manifest (with this
 * set-up's webhook and redirect URLs) to GitHub's new-App form; the callback's code is exchanged at
 * a stand-in of GitHub's `POST /app-manifests/{code}/conversions` (answering as GitHub's docs
 * show), and the `.env` written starts a working configuration.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSetup, upsertEnv, type SetupOptions } from '../../src/cli/setup.ts';
import { loadConfig } from '../../src/config/env.ts';

const APP_YML = new URL('../../app.yml', import.meta.url).pathname;
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

/** GitHub's answer to a manifest conversion (the documented 201 body, abridged to its documented fields). */
const conversion = (id: number) => ({
  id,
  slug: 'gatehouse-acme',
  node_id: 'MDM6QXBwNTk=',
  owner: { login: 'acme', id: 1, node_id: 'MDQ6VXNlcjE=', type: 'Organization', site_admin: false },
  name: 'Gatehouse Acme',
  description: 'Product-security intake and tier routing, SLO/RTO clocks, escalation and release gates.',
  external_url: 'https://gh.example.test',
  html_url: 'https://github.com/apps/gatehouse-acme',
  created_at: '2026-12-04T10:00:00Z',
  updated_at: '2026-12-04T10:00:00Z',
  permissions: { issues: 'write', metadata: 'read' },
  events: ['issues'],
  client_id: 'Iv1.8a61f9b3a7aba766',
  client_secret: '1726be1638095a19edd134c77bde3aa2ece1e5d8',
  webhook_secret: 'e340154128314309424b7c8e90325147d99fdafa',
  pem: PEM,
});

let dir: string;
let github: Server;
let githubUrl: string;
let requests: { method: string; path: string }[];
let answer: (code: string) => { status: number; body: unknown };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-setup-'));
  requests = [];
  answer = () => ({ status: 201, body: conversion(4242) });
  github = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    const m = /^\/api\/v3\/app-manifests\/([^/]+)\/conversions$/.exec(req.url ?? '');
    const a =
      req.method === 'POST' && m
        ? answer(m[1]!)
        : { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
    res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => github.listen(0, '127.0.0.1', r));
  githubUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((r) => github.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the set-up; resolves with its page address and the promise of its exit code. */
async function start(overrides: Partial<SetupOptions> = {}): Promise<{ page: string; done: Promise<number>; lines: string[] }> {
  const lines: string[] = [];
  let listening!: (url: string) => void;
  const page = new Promise<string>((r) => (listening = r));
  const done = runSetup({
    url: 'https://gh.example.test/',
    manifestPath: APP_YML,
    envPath: join(dir, '.env'),
    force: false,
    host: '127.0.0.1',
    port: 0,
    timeoutMs: 30_000,
    github: { web: githubUrl, api: `${githubUrl}/api/v3` },
    out: (l) => lines.push(l),
    onListening: listening,
    ...overrides,
  });
  return {
    page: await Promise.race([page, done.then((c) => Promise.reject(new Error(`setup ended with ${c}: ${lines.join('\n')}`)))]),
    done,
    lines,
  };
}

const unescape = (s: string): string => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));

describe('gatehouse setup', () => {
  it("runs GitHub's manifest flow from app.yml and writes a .env that starts GitHub", async () => {
    writeFileSync(join(dir, '.env'), '# kept\nLOG_LEVEL=debug\n');
    const { page, done, lines } = await start();
    expect(page).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/setup\/[0-9a-f]{32}$/);
    expect(lines.join('\n')).toContain(`open ${page}`);

    // the page: a form posting app.yml's manifest to GitHub's new-App form, with a state
    const html = await (await fetch(page)).text();
    const action = unescape(/<form action="([^"]+)" method="post">/.exec(html)![1]!);
    const state = new URL(action).searchParams.get('state')!;
    expect(action).toBe(`${githubUrl}/settings/apps/new?state=${state}`);
    expect(state).toMatch(/^[0-9a-f]{32}$/);
    const manifest = JSON.parse(unescape(/name="manifest" value="([^"]+)"/.exec(html)![1]!)) as Record<string, unknown>;
    const appYml = parse(readFileSync(APP_YML, 'utf8')) as Record<string, unknown>;
    expect(manifest['hook_attributes']).toEqual({ url: 'https://gh.example.test/api/github/webhooks' });
    expect(manifest['redirect_url']).toBe(`${page}/callback`);
    expect(manifest['default_permissions']).toEqual(appYml['default_permissions']);
    expect(manifest['default_events']).toEqual(appYml['default_events']);
    expect(manifest['public']).toBe(false);

    // another address, or a callback with the wrong state, does nothing
    expect((await fetch(page.replace(/[0-9a-f]{32}$/, '0'.repeat(32)))).status).toBe(404);
    expect((await fetch(`${page}/callback?code=abc&state=${'1'.repeat(32)}`)).status).toBe(400);
    expect(requests).toEqual([]);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('# kept\nLOG_LEVEL=debug\n');

    // GitHub sends the browser back with a code
    const back = await fetch(`${page}/callback?code=8f7c2a&state=${state}`);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('https://github.com/apps/gatehouse-acme/installations/new');
    expect(await done).toBe(0);
    expect(requests).toEqual([{ method: 'POST', path: '/api/v3/app-manifests/8f7c2a/conversions' }]);
    expect(lines.join('\n')).toContain('install it on your repositories: https://github.com/apps/gatehouse-acme/installations/new');

    const written = readFileSync(join(dir, '.env'), 'utf8');
    expect(written.startsWith('# kept\nLOG_LEVEL=debug\n')).toBe(true);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    const env = parseEnv(written);
    expect(env['APP_ID']).toBe('4242');
    expect(env['PRIVATE_KEY']).toBe(PEM);
    expect(env['WEBHOOK_SECRET']).toBe('e340154128314309424b7c8e90325147d99fdafa');
    // what `gatehouse start` reads from it: GitHub on, with this App
    const config = loadConfig({ ...env, GATEHOUSE_DATA_DIR: join(dir, 'data') });
    expect(config.github).toMatchObject({ appId: '4242', webhookSecret: 'e340154128314309424b7c8e90325147d99fdafa' });
    expect(config.github?.privateKey.trim()).toBe(PEM.trim());
    // the page is gone once done
    await expect(fetch(page)).rejects.toThrow();
  });

  it('an organisation gets its own new-App form; a used or expired code writes nothing and the page stays for another try', async () => {
    answer = (code) =>
      code === 'old'
        ? {
            status: 404,
            body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest' },
          }
        : { status: 201, body: conversion(7) };
    const { page, done, lines } = await start({ org: 'acme' });
    const html = await (await fetch(page)).text();
    const action = unescape(/<form action="([^"]+)"/.exec(html)![1]!);
    expect(action.startsWith(`${githubUrl}/organizations/acme/settings/apps/new?state=`)).toBe(true);
    const state = new URL(action).searchParams.get('state')!;
    const failed = await fetch(`${page}/callback?code=old&state=${state}`);
    expect(failed.status).toBe(502);
    expect(await failed.text()).toContain('GitHub answered 404: Not Found');
    expect(() => readFileSync(join(dir, '.env'))).toThrow();
    expect((await fetch(`${page}/callback?code=new&state=${state}`)).status).toBe(200);
    expect(await done).toBe(0);
    expect(parseEnv(readFileSync(join(dir, '.env'), 'utf8'))['APP_ID']).toBe('7');
    expect(lines.some((l) => l.includes('the exchange of GitHub'))).toBe(true);
  });

  it('an answer without the key is refused, and nothing is written', async () => {
    answer = () => ({ status: 201, body: { ...conversion(9), pem: undefined } });
    const { page, done } = await start({ timeoutMs: 1_500 });
    const html = await (await fetch(page)).text();
    const state = new URL(unescape(/<form action="([^"]+)"/.exec(html)![1]!)).searchParams.get('state')!;
    const res = await fetch(`${page}/callback?code=x1&state=${state}`);
    expect(res.status).toBe(502);
    expect(await done).toBe(1); // timed out: nothing created
    expect(() => readFileSync(join(dir, '.env'))).toThrow();
  });

  it('leaves an App already in .env alone unless --force, and refuses a URL GitHub cannot use', async () => {
    writeFileSync(join(dir, '.env'), 'APP_ID=12\n');
    const lines: string[] = [];
    const base: SetupOptions = {
      url: 'https://gh.example.test',
      manifestPath: APP_YML,
      envPath: join(dir, '.env'),
      force: false,
      host: '127.0.0.1',
      port: 0,
      timeoutMs: 1_000,
      github: { web: githubUrl, api: githubUrl },
      out: (l) => lines.push(l),
    };
    expect(await runSetup(base)).toBe(1);
    expect(lines.at(-1)).toMatch(/already names a GitHub App \(APP_ID\): nothing done \(--force replaces it\)/);
    expect(await runSetup({ ...base, envPath: join(dir, 'other.env'), url: 'gatehouse.example.com' })).toBe(1);
    expect(lines.at(-1)).toMatch(/--url must be the http\(s\) address/);
    expect(await runSetup({ ...base, envPath: join(dir, 'other.env'), host: '0.0.0.0' })).toBe(1);
    expect(lines.at(-1)).toMatch(/--host must be a loopback address/);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('APP_ID=12\n');
  });
});

describe('upsertEnv', () => {
  it.each([
    ['', { A: '1' }, 'A="1"\n'],
    ['A=0\nB=2\n', { A: '1' }, 'A="1"\nB=2\n'],
    ['# c\nexport A=0', { A: 'x\ny', C: 'z' }, '# c\nA="x\\ny"\nC="z"\n'],
  ])('%j with %j', (text, values, expected) => {
    expect(upsertEnv(text, values)).toBe(expected);
    const env = parseEnv(expected);
    for (const [k, v] of Object.entries(values)) expect(env[k]).toBe(v);
  });

  it('replaces a value quoted over several lines whole (a PEM key), keeping the lines after it', () => {
    const before = 'A=1\nPRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\nOLDKEY\n-----END RSA PRIVATE KEY-----"\nWEBHOOK_SECRET=old\nB=2\n';
    const after = upsertEnv(before, { PRIVATE_KEY: 'new\nkey', WEBHOOK_SECRET: 'new' });
    expect(after).toBe('A=1\nPRIVATE_KEY="new\\nkey"\nWEBHOOK_SECRET="new"\nB=2\n');
    expect(parseEnv(after)).toEqual({ A: '1', PRIVATE_KEY: 'new\nkey', WEBHOOK_SECRET: 'new', B: '2' });
  });

  it('refuses a value the env-file format cannot hold', () => {
    expect(() => upsertEnv('', { A: 'q"uote' })).toThrow(/quote or a backslash/);
  });
});
