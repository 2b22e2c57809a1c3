/** One node:http server for every route of the contract. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Router from 'find-my-way';
import { declaredLength, refuse } from '../adapters/http/body.ts';
import type { Metrics } from './metrics.ts';
import type { ReadinessReport } from './readiness.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | unknown;

export interface Routes {
  github: RouteHandler | { off: string };
  gitlab: RouteHandler | { off: string };
  slack: RouteHandler | { off: string };
  /** `GET /`: the read-only page (src/server/page.ts); absent: 404. */
  page?: RouteHandler;
  /** Liveness: the process is up and serving (`GET /healthz`). */
  ready: () => boolean;
  /** Readiness: the database and the platforms' credentials (`GET /readyz`); absent: as liveness. */
  readiness?: () => Promise<ReadinessReport>;
  metrics: Metrics;
  /** Serve `GET /metrics` here (default true); false when it has a listener of its own (METRICS_PORT): then 404 here. */
  metricsHere?: boolean;
  onError: (err: unknown) => void;
  /** Largest request body accepted (bytes). */
  maxBodyBytes?: number;
}

const ROUTE_LABELS = ['/api/github/webhooks', '/api/gitlab/webhooks', '/slack/events', '/', '/healthz', '/readyz', '/metrics'];

/** The route a matched path names, for the metrics' label. */
function routeLabel(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'other';
  }
  const trimmed = decoded.length > 1 ? decoded.replace(/\/+$/, '') : decoded;
  return ROUTE_LABELS.includes(trimmed) ? trimmed : 'other';
}

const send = (res: ServerResponse, status: number, body: unknown): void => {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const metricsHandler =
  (metrics: Metrics) =>
  async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(text);
  };

/** The metrics listener (METRICS_PORT): `GET /metrics` only, every other request 404. */
export function createMetricsServer(metrics: Metrics, onError: (err: unknown) => void): Server {
  const serve = metricsHandler(metrics);
  return createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') return send(res, 404, { error: 'not found' });
    serve(req, res).catch((err: unknown) => {
      onError(err);
      send(res, 500, { error: 'internal error' });
    });
  });
}

export function createHttpServer(routes: Routes): Server {
  const max = routes.maxBodyBytes ?? 25 * 1024 * 1024;
  const router = Router({
    ignoreTrailingSlash: true,
    defaultRoute: (req, res) => refuse(req, res, 404, { error: 'not found' }),
  });

  const platform = (name: string, h: RouteHandler | { off: string }) => async (req: IncomingMessage, res: ServerResponse) => {
    if ('off' in h) return refuse(req, res, 503, { error: h.off });
    // Declared too large: answered before a byte is read, the rest read to nowhere (bounded).
    if ((declaredLength(req) ?? 0) > max) return refuse(req, res, 413, { error: `body larger than ${max} bytes` });
    await h(req, res);
    if (!res.headersSent) send(res, 404, { error: `no ${name} handler answered` });
  };

  router.on('POST', '/api/github/webhooks', platform('GitHub', routes.github));
  router.on('POST', '/api/gitlab/webhooks', platform('GitLab', routes.gitlab));
  router.on('POST', '/slack/events', platform('Slack', routes.slack));
  if (routes.page) router.on('GET', '/', routes.page);
  router.on('GET', '/healthz', (_req, res) => (routes.ready() ? send(res, 200, { status: 'ok' }) : send(res, 503, { status: 'starting' })));
  router.on('GET', '/readyz', async (_req, res) => {
    if (!routes.ready()) return send(res, 503, { status: 'not ready', notReady: ['starting'], checks: {} });
    if (!routes.readiness) return send(res, 200, { status: 'ready', checks: {} });
    const r = await routes.readiness();
    send(
      res,
      r.ready ? 200 : 503,
      r.ready ? { status: 'ready', checks: r.checks } : { status: 'not ready', notReady: r.notReady, checks: r.checks },
    );
  });
  if (routes.metricsHere !== false) router.on('GET', '/metrics', metricsHandler(routes.metrics));

  const server = createServer((req, res) => {
    const route = router.find(req.method as 'GET', (req.url ?? '/').split('?')[0]!);
    // The label is one of the routes, never the raw path (an encoded or slashed variant of a route
    // would make a series of its own).
    res.on('finish', () =>
      routes.metrics.httpRequests.inc({
        route: route ? routeLabel((req.url ?? '/').split('?')[0]!) : 'unmatched',
        status: String(res.statusCode),
      }),
    );
    Promise.resolve(router.lookup(req, res)).catch((err: unknown) => {
      routes.onError(err);
      send(res, 500, { error: 'internal error' });
    });
  });
  // A body trickled in byte by byte holds its share of the unauthenticated budget: a minute at most.
  server.requestTimeout = 60_000;
  return server;
}
