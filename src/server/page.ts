/**
 * `GET /`: the read-only page — the queue by tier and age, clocks at risk and breached, exceptions
 * by days to expiry, recent gate verdicts and weekly charts (inline SVG drawn on the server, no
 * script). Rendered with Handlebars (templates/page/index.html.hbs; every text escaped by its
 * default escaping). Access by policy `page.access`:
 * - `token`: GATEHOUSE_PAGE_TOKEN, sent only as `Authorization: Bearer <token>` (a `?token=` in the
 *   URL is refused: URLs end up in access logs, browser history and Referer headers); unset: 403.
 * - `header`: a header the reverse proxy sets (e.g. X-Forwarded-User), believed only on a
 *   connection from an address in GATEHOUSE_TRUSTED_PROXIES; from any other peer (or with no
 *   trusted proxy configured) the header is ignored and the request refused.
 * Every refusal is logged with the peer address; refusals that carry a claimed identity (the
 * header from an untrusted peer, a wrong token, a token in the URL) are also audited, at most once
 * per peer address and reason a minute (an anonymous client cannot flood the audit log).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import Handlebars from 'handlebars';
import { buildPageView, type PageView } from '../core/digest/page.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { AuditEntry } from '../ports/audit-log.ts';
import { TEMPLATES_DIR } from '../render/templates.ts';
import type { DigestSource } from '../ports/digest-source.ts';

/** The audit log's key for the page's refusals (`auditFor(PAGE_AUDIT_KEY)`). */
export const PAGE_AUDIT_KEY = 'page:/';

export interface PageDeps {
  digests: DigestSource;
  policy: () => Policy;
  /** GATEHOUSE_PAGE_TOKEN. */
  token: string | undefined;
  /** GATEHOUSE_TRUSTED_PROXIES, as addresses or CIDR ranges (policy `page.access: header`). */
  trustedProxies: readonly string[];
  now: () => Date;
  /** Told every refusal (one line each, with the peer address). */
  log?: (fields: Record<string, unknown>, message: string) => void;
  /** Stores an audit entry (Store.appendAudit). */
  audit?: (entry: AuditEntry) => Promise<void>;
}

const DAY_MS = 86_400_000;
const AUDIT_EVERY_MS = 60_000;
/** How many (peer, reason) pairs the audit throttle remembers; older ones are forgotten first. */
const AUDIT_MEMORY = 1_000;

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

/** The trusted proxies as a BlockList (entries are validated by config/env.ts: an address or address/prefix). */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** The connection's peer address (never a forwarded-for header), `::ffff:` stripped from IPv4-mapped ones. */
export function peerAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

export interface PageRefusal {
  message: string;
  /** Whether the request claimed an identity (worth an audit entry), and which. */
  claimed: string | null;
}

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Why a request may not see the page, or null when it may. */
export function pageRefusal(
  req: IncomingMessage,
  policy: Policy,
  token: string | undefined,
  trusted: BlockList | null,
): PageRefusal | null {
  if (policy.page.access === 'header') {
    const name = policy.page.header;
    const value = single(req.headers[name.toLowerCase()])?.trim();
    if (!trusted)
      return {
        message: `forbidden: page.access is header but no reverse proxy is trusted (set GATEHOUSE_TRUSTED_PROXIES to the proxy's addresses)`,
        claimed: value ? `${name}: ${value}` : null,
      };
    const peer = peerAddress(req);
    const family = isIPv4(peer) ? 'ipv4' : 'ipv6';
    if (!peer || !trusted.check(peer, family)) {
      return {
        message: `forbidden: ${peer || 'this peer'} is not a trusted reverse proxy; the ${name} header is believed only from GATEHOUSE_TRUSTED_PROXIES`,
        claimed: value ? `${name}: ${value}` : null,
      };
    }
    return value ? null : { message: `forbidden: the ${name} header (set by the reverse proxy) is missing`, claimed: null };
  }
  if (new URL(req.url ?? '/', 'http://localhost').searchParams.has('token')) {
    return {
      message: 'forbidden: the page token is not accepted in the URL (?token=); send it as Authorization: Bearer <token>',
      claimed: 'token in the URL',
    };
  }
  if (!token) return { message: 'forbidden: the page is off (set GATEHOUSE_PAGE_TOKEN, or policy page.access: header)', claimed: null };
  const auth = req.headers.authorization;
  const bearer = auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null;
  if (!bearer) return { message: 'forbidden: send the page token as Authorization: Bearer <token>', claimed: null };
  return timingSafeEqual(digest(bearer), digest(token))
    ? null
    : { message: 'forbidden: wrong page token', claimed: 'a wrong bearer token' };
}

export function createPageHandler(deps: PageDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const trusted = deps.trustedProxies.length > 0 ? trustedProxyList(deps.trustedProxies) : null;
  const audited = new Map<string, number>();
  const audit = async (peer: string, refusal: PageRefusal): Promise<void> => {
    if (!deps.audit || refusal.claimed === null) return;
    const at = deps.now();
    const key = `${peer}\n${refusal.message}`;
    const last = audited.get(key);
    if (last !== undefined && at.getTime() - last < AUDIT_EVERY_MS) return;
    audited.delete(key);
    audited.set(key, at.getTime());
    if (audited.size > AUDIT_MEMORY) audited.delete(audited.keys().next().value!);
    await deps.audit({
      at,
      deliveryId: null,
      issueKey: PAGE_AUDIT_KEY,
      action: 'page.read',
      detail: { peer, claimed: refusal.claimed },
      outcome: 'skipped',
      error: refusal.message,
    });
  };
  return async (req, res) => {
    const policy = deps.policy();
    const refusal = pageRefusal(req, policy, deps.token, trusted);
    if (refusal) {
      const peer = peerAddress(req);
      deps.log?.({ peer, claimed: refusal.claimed, reason: refusal.message }, 'page request refused');
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
      res.end(`${refusal.message}\n`);
      await audit(peer, refusal);
      return;
    }
    const now = deps.now();
    const data = await deps.digests.digestData({ since: new Date(now.getTime() - 120 * DAY_MS), tools: policy.tooling.inventory });
    const html = renderPage(buildPageView(data, now, { timeZone: policy.timeZone }));
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(html);
  };
}
