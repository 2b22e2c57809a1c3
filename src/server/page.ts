/**
 * `GET /`: the read-only page — the queue by tier and age, clocks at risk and breached, exceptions
 * by days to expiry, recent gate verdicts and weekly charts (inline SVG drawn on the server, no
 * script). Rendered with Handlebars (templates/page/index.html.hbs; every text escaped by its
 * default escaping). Access by policy `page.access`: `token` (GATEHOUSE_PAGE_TOKEN, sent as
 * `Authorization: Bearer <token>` or `?token=`; unset: always 403) or `header` (a header the
 * reverse proxy sets, e.g. X-Forwarded-User, must be present).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Handlebars from 'handlebars';
import type { Kysely } from 'kysely';
import { buildPageView, type PageView } from '../core/digest/page.ts';
import type { Policy } from '../core/policy/schema.ts';
import { TEMPLATES_DIR } from '../render/templates.ts';
import { readDigestData } from '../storage/digest-source.ts';
import type { Database } from '../storage/schema.ts';

export interface PageDeps {
  db: Kysely<Database>;
  policy: () => Policy;
  /** GATEHOUSE_PAGE_TOKEN. */
  token: string | undefined;
  now: () => Date;
}

const DAY_MS = 86_400_000;

let template: Handlebars.TemplateDelegate | null = null;
/** Renders the page's HTML from its view. */
export function renderPage(view: PageView): string {
  template ??= Handlebars.create().compile(readFileSync(`${TEMPLATES_DIR}page/index.html.hbs`, 'utf8'), { strict: false, noEscape: false });
  const charts = [
    { id: 'slo-chart', chart: view.sloChart },
    { id: 'volume-chart', chart: view.volumeChart },
  ];
  return template({ ...view, charts }, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Why a request may not see the page, or null when it may. */
export function pageRefusal(req: IncomingMessage, policy: Policy, token: string | undefined): string | null {
  if (policy.page.access === 'header') {
    const v = req.headers[policy.page.header.toLowerCase()];
    const value = Array.isArray(v) ? v[0] : v;
    return value && value.trim() !== '' ? null : `forbidden: the ${policy.page.header} header (set by the reverse proxy) is missing`;
  }
  if (!token) return 'forbidden: the page is off (set GATEHOUSE_PAGE_TOKEN, or policy page.access: header)';
  const auth = req.headers.authorization;
  const bearer = auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null;
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
  const given = bearer ?? query;
  if (!given) return 'forbidden: send the page token as Authorization: Bearer <token> or ?token=';
  return timingSafeEqual(digest(given), digest(token)) ? null : 'forbidden: wrong page token';
}

export function createPageHandler(deps: PageDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const policy = deps.policy();
    const refusal = pageRefusal(req, policy, deps.token);
    if (refusal) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${refusal}\n`);
      return;
    }
    const now = deps.now();
    const data = await readDigestData(deps.db, { since: new Date(now.getTime() - 120 * DAY_MS), tools: policy.tooling.inventory });
    const html = renderPage(buildPageView(data, now, { timeZone: policy.timeZone }));
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(html);
  };
}
