/**
 * `gatehouse setup`: creates the GitHub App from `app.yml` with GitHub's App-manifest flow and
 * writes `APP_ID`, `PRIVATE_KEY` and `WEBHOOK_SECRET` to `.env`.
 *
 * It serves one page on loopback behind a printed one-time token. The page posts the manifest (the
 * webhook URL set to `--url`) to GitHub's "new App" form with a random `state`; GitHub sends the
 * browser back to the page's callback with a `code`, which is exchanged once
 * (`POST /app-manifests/{code}/conversions`, no credentials) for the App's id, key and webhook
 * secret. Nothing is written unless the state matches and GitHub's answer validates.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import { z } from 'zod';

export interface SetupOptions {
  /** Where Gatehouse will be reachable from GitHub (its webhook route is appended). */
  url: string;
  /** Create the App in this organisation instead of the signed-in user's account. */
  org?: string;
  /** The App's name on GitHub (unique there); default: app.yml's. */
  name?: string;
  manifestPath: string;
  envPath: string;
  /** Replace a GitHub App already in the env file. */
  force: boolean;
  /** The local page: loopback by default. */
  host: string;
  port: number;
  /** Give up after this long without a completed exchange. */
  timeoutMs: number;
  /** GitHub's web and API hosts (GHE_HOST/GHE_PROTOCOL, else github.com). */
  github: { web: string; api: string };
  out: (line: string) => void;
  /** Resolves once the page listens, with its address (tests follow it). */
  onListening?: (pageUrl: string) => void;
}

/** What GitHub answers for a manifest code (the fields Gatehouse keeps, and the ones it shows). */
const conversionSchema = z.object({
  id: z.number().int().positive(),
  slug: z.string().min(1),
  html_url: z.string().url(),
  pem: z.string().includes('PRIVATE KEY'),
  webhook_secret: z.string().min(1).nullable(),
  owner: z.object({ login: z.string() }).nullable().optional(),
});
export type Conversion = z.infer<typeof conversionSchema>;

const manifestSchema = z
  .object({
    name: z.string().min(1),
    url: z.string().optional(),
    hook_attributes: z.object({ url: z.string() }).passthrough().optional(),
    default_permissions: z.record(z.string(), z.string()),
    default_events: z.array(z.string()),
  })
  .passthrough();

/** GitHub's hosts from the environment, as the bot itself reads them (GHE_HOST, GHE_PROTOCOL). */
export function githubHosts(env: NodeJS.ProcessEnv): { web: string; api: string } {
  const host = env['GHE_HOST']?.trim();
  if (!host) return { web: 'https://github.com', api: 'https://api.github.com' };
  const protocol = env['GHE_PROTOCOL']?.trim() || 'https';
  return { web: `${protocol}://${host}`, api: `${protocol}://${host}/api/v3` };
}

const html = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A value for a .env line: double-quoted, newlines as `\n`, as Node's env-file parser reads it
 * back. That parser has no escape for a quote or a backslash: such a value is refused (an App id,
 * a PEM key and a hex secret have none).
 */
const envValue = (v: string): string => {
  if (/["\\]/.test(v)) throw new Error('a value with a quote or a backslash cannot be written to an env file');
  return `"${v.replace(/\r?\n/g, '\\n')}"`;
};

/** The env file with `values` set: existing lines for those keys replaced in place, others kept. */
export function upsertEnv(text: string, values: Record<string, string>): string {
  const pending = new Map(Object.entries(values));
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    const key = m?.[1];
    if (key === undefined || !values[key]) {
      out.push(line);
      continue;
    }
    // A replaced value quoted over several lines (a PEM key): its continuation lines go too.
    const rest = m![2]!;
    const quote = rest[0] === '"' || rest[0] === "'" || rest[0] === '`' ? rest[0] : null;
    if (quote && !rest.slice(1).includes(quote)) while (i + 1 < lines.length && !lines[++i]!.includes(quote));
    if (pending.has(key)) out.push(`${key}=${envValue(pending.get(key)!)}`);
    pending.delete(key);
  }
  for (const [key, value] of pending) out.push(`${key}=${envValue(value)}`);
  return `${out.join('\n')}\n`;
}

/** The manifest posted to GitHub: app.yml with the webhook and redirect URLs of this set-up. */
export async function buildManifest(
  opts: Pick<SetupOptions, 'manifestPath' | 'url' | 'name'>,
  redirectUrl: string,
): Promise<Record<string, unknown>> {
  const manifest = manifestSchema.parse(parse(await readFile(opts.manifestPath, 'utf8')));
  const base = opts.url.replace(/\/+$/, '');
  return {
    ...manifest,
    ...(opts.name ? { name: opts.name } : {}),
    url: base,
    hook_attributes: { ...manifest.hook_attributes, url: `${base}/api/github/webhooks` },
    redirect_url: redirectUrl,
  };
}

const pageStyle = 'font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5';

/** Runs the flow; resolves 0 once `.env` is written, 1 on a timeout or a refusal to start. */
export async function runSetup(opts: SetupOptions): Promise<number> {
  const base = (() => {
    try {
      const u = new URL(opts.url);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u : null;
    } catch {
      return null;
    }
  })();
  if (!base) {
    opts.out(
      `--url must be the http(s) address GitHub will reach Gatehouse at, e.g. https://gatehouse.example.com (got ${JSON.stringify(opts.url)})`,
    );
    return 1;
  }
  // GitHub sends the browser back with a code that alone yields the App's key: it must not cross a network.
  if (!['127.0.0.1', '::1', 'localhost'].includes(opts.host)) {
    opts.out(
      `--host must be a loopback address (127.0.0.1, ::1 or localhost): the page receives GitHub's one-time code, which yields the App's private key (got ${JSON.stringify(opts.host)})`,
    );
    return 1;
  }
  const existing = existsSync(opts.envPath) ? await readFile(opts.envPath, 'utf8') : '';
  if (/^\s*(?:export\s+)?APP_ID\s*=\s*\S/m.test(existing) && !opts.force) {
    opts.out(`${opts.envPath} already names a GitHub App (APP_ID): nothing done (--force replaces it)`);
    return 1;
  }
  if (!existsSync(opts.manifestPath)) {
    opts.out(`no manifest at ${opts.manifestPath} (--manifest)`);
    return 1;
  }

  const token = randomBytes(16).toString('hex');
  const state = randomBytes(16).toString('hex');
  const path = `/setup/${token}`;
  let manifest: Record<string, unknown> | null = null;
  let pageUrl = '';

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      server.close();
      server.closeAllConnections();
      resolve(code);
    };
    const send = (res: ServerResponse, status: number, body: string): void => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
      res.end(`<!doctype html><meta charset="utf-8"><title>Gatehouse set-up</title><body style="${pageStyle}">${body}</body>`);
    };

    const exchange = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> => {
      const given = Buffer.from(query.get('state') ?? '');
      if (given.length !== state.length || !timingSafeEqual(given, Buffer.from(state))) {
        opts.out('a callback came back with the wrong state: ignored (start again from the printed address)');
        return send(
          res,
          400,
          '<h1>Not this set-up</h1><p>The state does not match. Start again from the address <code>gatehouse setup</code> printed.</p>',
        );
      }
      const code = query.get('code') ?? '';
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(code)) return send(res, 400, '<h1>No code</h1><p>GitHub sent no usable code back.</p>');
      let conversion: Conversion;
      try {
        const answer = await fetch(`${opts.github.api}/app-manifests/${encodeURIComponent(code)}/conversions`, {
          method: 'POST',
          headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'gatehouse-setup' },
          signal: AbortSignal.timeout(30_000),
        });
        const body: unknown = await answer.json().catch(() => null);
        if (answer.status !== 201) {
          const message = z.object({ message: z.string() }).safeParse(body);
          throw new Error(
            `GitHub answered ${answer.status}${message.success ? `: ${message.data.message}` : ''} (a code is good once, for an hour)`,
          );
        }
        conversion = conversionSchema.parse(body);
      } catch (err) {
        const why =
          err instanceof z.ZodError
            ? 'GitHub’s answer lacks the App id, key or webhook secret'
            : err instanceof Error
              ? err.message
              : String(err);
        opts.out(`the exchange of GitHub's code failed: ${why}; nothing written. Start again from ${pageUrl}`);
        return send(res, 502, `<h1>The App was not set up</h1><p>${html(why)}</p><p><a href="${html(path)}">Start again</a></p>`);
      }
      if (conversion.webhook_secret === null) {
        opts.out(
          'GitHub created the App without a webhook secret: nothing written. Set one in the App settings and put it in WEBHOOK_SECRET by hand.',
        );
        return send(res, 502, '<h1>No webhook secret</h1><p>GitHub returned no webhook secret; set one in the App’s settings.</p>');
      }
      const current = existsSync(opts.envPath) ? await readFile(opts.envPath, 'utf8') : '';
      // Written whole to a private new file beside it, then renamed over it: never readable by
      // others, never left half written.
      const next = `${opts.envPath}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(
        next,
        upsertEnv(current, { APP_ID: String(conversion.id), PRIVATE_KEY: conversion.pem, WEBHOOK_SECRET: conversion.webhook_secret }),
        { mode: 0o600, flag: 'wx' },
      );
      await chmod(next, 0o600);
      await rename(next, opts.envPath);
      const install = `${conversion.html_url.replace(/\/+$/, '')}/installations/new`;
      opts.out(
        `GitHub App ${conversion.slug} (id ${conversion.id}) created; APP_ID, PRIVATE_KEY and WEBHOOK_SECRET written to ${opts.envPath}`,
      );
      opts.out(`install it on your repositories: ${install}`);
      opts.out('then start Gatehouse: npm start');
      send(
        res,
        200,
        `<h1>${html(conversion.slug)} is created</h1><p>Its id, key and webhook secret are in <code>${html(opts.envPath)}</code>.</p><p><a href="${html(install)}">Install it on your repositories</a>, then run <code>npm start</code>.</p>`,
      );
      req.socket.once('close', () => finish(0));
      res.once('finish', () => setImmediate(() => finish(0)));
    };

    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://setup.invalid');
      if (req.method !== 'GET' || (url.pathname !== path && url.pathname !== `${path}/callback`))
        return send(res, 404, '<h1>Not found</h1>');
      if (url.pathname === `${path}/callback`) {
        exchange(req, res, url.searchParams).catch((err: unknown) => {
          opts.out(`set-up failed: ${err instanceof Error ? err.message : String(err)}`);
          send(res, 500, '<h1>Set-up failed</h1><p>See the terminal.</p>');
        });
        return;
      }
      const target = opts.org
        ? `${opts.github.web}/organizations/${encodeURIComponent(opts.org)}/settings/apps/new`
        : `${opts.github.web}/settings/apps/new`;
      send(
        res,
        200,
        `<h1>Create the Gatehouse GitHub App</h1>
<p>GitHub will send webhooks to <code>${html(String(manifest!['hook_attributes'] && (manifest!['hook_attributes'] as { url: string }).url))}</code>, with the permissions and events of <code>${html(opts.manifestPath)}</code>${opts.org ? ` in the organisation <b>${html(opts.org)}</b>` : ''}.</p>
<form action="${html(`${target}?state=${state}`)}" method="post">
<input type="hidden" name="manifest" value="${html(JSON.stringify(manifest))}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>`,
      );
    });
    const timer = setTimeout(() => {
      opts.out(`no App was created within ${Math.round(opts.timeoutMs / 60_000)} minutes: nothing written`);
      finish(1);
    }, opts.timeoutMs);
    server.once('error', (err: NodeJS.ErrnoException) => {
      opts.out(
        `cannot serve the set-up page on ${opts.host}:${opts.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (--port)' : err.message}`,
      );
      finish(1);
    });
    server.listen(opts.port, opts.host, () => {
      const { port } = server.address() as AddressInfo;
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      pageUrl = `http://${host}:${port}${path}`;
      buildManifest(opts, `${pageUrl}/callback`)
        .then((m) => {
          manifest = m;
          opts.out(`open ${pageUrl} in a browser signed in to GitHub (this address works once, for this run)`);
          opts.onListening?.(pageUrl);
        })
        .catch((err: unknown) => {
          opts.out(`${opts.manifestPath} is not a usable App manifest: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
          finish(1);
        });
    });
  });
}
