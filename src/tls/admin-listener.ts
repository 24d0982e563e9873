/**
 * The optional admin listener (--admin-listen host:port): /metrics, /v1/cluster,
 * /v1/cluster/leader, /v1/admin/backup and GET /v1/sessions (the listing) are served there and answer 404 on the public listener, so what they reveal
 * (request rates, members' addresses and roles, every znode) can stay on a management network
 * while clients reach the public port.
 * /healthz and /readyz answer on both: a load balancer probes the public port, an orchestrator
 * may probe either.
 *
 * Both listeners run the same Hono app (same authentication, metrics, error bodies); each is
 * wrapped in a guard that lets through only the routes it serves, judged by the route Hono
 * matched — not by the raw URL — so `/metrics/` or a percent-encoded spelling cannot slip past.
 * The admin listener speaks TLS (HTTP/1.1, the same certificate and client-certificate policy)
 * when --tls-cert is set, plain HTTP otherwise.
 */
import { getRequestListener } from '@hono/node-server';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import { zkError } from '../core/errors.ts';
import type { AppDeps } from '../http/app-deps.ts';
import { errorResponse } from '../http/errors.ts';
import { ROUTES, type RouteId } from '../http/route-table.ts';

/** `METHOD pattern` of each route: a path may be admin-only for one method (GET /v1/sessions) and public for another (POST). */
const pathsOf = (ids: readonly RouteId[]): ReadonlySet<string> =>
  new Set(ROUTES.filter((r) => ids.includes(r.id)).flatMap((r) => r.paths.map((path) => `${r.method} ${path}`)));

/** Served only by the admin listener when there is one (a backup holds every znode: keep it off the public port). */
const ADMIN_PATHS = pathsOf(['metrics', 'cluster', 'transferLeader', 'backup', 'listSessions', 'listMembers', 'addMember', 'promoteMember', 'removeMember', 'replaceMember']);
/** Served by both. */
const PROBE_PATHS = pathsOf(['health', 'ready']);

/** Whether Hono matched one of `paths` for this request (middleware, registered on `*`, aside). */
const matches = (c: Context, paths: ReadonlySet<string>) => matchedRoutes(c).some((r) => r.method !== 'ALL' && paths.has(`${r.method} ${r.path}`));

/** The app's own 404 for an endpoint it does not serve, with the Zk-Zxid every answer carries. */
function notServedHere(deps: AppDeps, c: Context): Response {
  c.header('Zk-Zxid', String(deps.backend.appliedZxid));
  return errorResponse(c, zkError('UNIMPLEMENTED', `no such endpoint: ${c.req.method} ${c.req.path}`));
}

/** `app` behind a guard that answers 404 unless `serves(c)`. */
function guarded(app: Hono, deps: AppDeps, name: string, serves: (c: Context) => boolean): Hono {
  const guard: MiddlewareHandler = async (c, next) => {
    if (!serves(c)) return notServedHere(deps, c);
    await next();
  };
  Object.defineProperty(guard, 'name', { value: name });
  // Not strict, like the app: `/metrics/` is `/metrics`.
  const outer = new Hono({ strict: false });
  outer.use('*', guard);
  outer.route('/', app);
  outer.notFound((c) => notServedHere(deps, c));
  return outer;
}

/** The public listener's app while an admin listener is configured: everything but /metrics and /v1/cluster. */
export function publicAppOf(app: Hono, deps: AppDeps): Hono {
  return guarded(app, deps, 'adminElsewhere', (c) => !matches(c, ADMIN_PATHS));
}

/** The admin listener's app: /metrics, /v1/cluster and the probes. */
export function adminAppOf(app: Hono, deps: AppDeps): Hono {
  return guarded(app, deps, 'adminOnly', (c) => matches(c, ADMIN_PATHS) || matches(c, PROBE_PATHS));
}

/** The admin listener's server (not yet listening): HTTPS with `tls`, plain HTTP without. */
export function createAdminServer(app: Hono, tls: TlsOptions | undefined): HttpServer {
  const listener = getRequestListener(app.fetch);
  return tls === undefined ? createHttpServer(listener) : createHttpsServer(tls, listener);
}
