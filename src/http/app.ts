/**
 * The HTTP face of a node: a Hono app whose sub-apps are mounted by concern. Cross-cutting
 * rules live here: `Zk-Zxid` on every response, `Zk-Min-Zxid` waits, CORS, metrics, and the
 * contract's error body for every failure (never a 500 for a client's mistake).
 */
import { decimal } from '../core/decimal.ts';
import { Hono, type Context, type Handler, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { StatusCode } from 'hono/utils/http-status';
import { zkError } from '../core/errors.ts';
import type { AppDeps } from './app-deps.ts';
import { errorResponse, RequestRejected } from './errors.ts';
import { answeredZxid, answerZxid, INTERNAL_ERROR, toResponse } from './reply.ts';
import { allowedMethods, ROUTES, type RouteId } from './route-table.ts';
import { adminBackupHandlers } from './routes/admin-backup.ts';
import { clusterMembersHandlers } from './routes/cluster-members.ts';
import { clusterLeaderHandlers } from './routes/cluster-leader.ts';
import { multiHandlers } from './routes/multi.ts';
import { docsHandlers } from './routes/docs.ts';
import { operationsHandlers } from './routes/operations.ts';
import { sessionHandlers } from './routes/sessions.ts';
import { sessionListHandlers } from './routes/session-list.ts';
import { uiHandlers } from './routes/ui.ts';
import { watchHandlers } from './routes/watch.ts';
import { znodeHandlers } from './routes/znodes.ts';
import { authenticatedSession } from './session-context.ts';
import { authenticateMiddleware } from './caller.ts';
import { CLIENT_CLOSED_STATUS, isClientAbort } from './edge/client-abort.ts';
import { edgeRefusal, hostPolicy } from './edge/edge-guard.ts';
import { loggableTarget } from './edge/loggable-target.ts';
import { hostOf, sentTarget } from './request-env.ts';
import { parseZxid } from './values.ts';

/**
 * `Zk-Zxid` on every response; on a session's requests also `Zk-Last-Event-Id`, the newest event
 * queued on its stream, so a client can hold a read until its stream has delivered that event
 * (ZooKeeper's rule: a watch event is seen before any result that reflects its change).
 */
function zxidHeader(deps: AppDeps): MiddlewareHandler {
  return async function zkZxid(c, next) {
    await next();
    c.res.headers.set('Zk-Zxid', decimal(answerZxid(deps.backend.appliedZxid, { zxid: answeredZxid.get(c) })));
    const session = authenticatedSession(c);
    const lastId = session === undefined ? undefined : deps.backend.sessions.events(session)?.lastId;
    if (lastId) c.res.headers.set('Zk-Last-Event-Id', lastId);
  };
}

/** The URL's own path: with strict: false, c.req.path drops a trailing slash. */
const urlPath = (c: Context) => c.req.url.replace(/^[a-z]+:\/\/[^/]+/i, '').split('?')[0]!;

const SESSION_IN_PATH = /^\/v1\/sessions\/(\d{1,16})(?:\/|$)/;

/**
 * Waits (bounded) until this member has applied what the request depends on: `Zk-Min-Zxid`, and
 * the creation of the session it acts for — a session's id is the zxid of its createSession, so
 * a session opened through another member a moment ago is not refused as unknown here (503 past
 * the bound, like a lagging Zk-Min-Zxid, rather than 404).
 */
function minZxid(deps: AppDeps): MiddlewareHandler {
  return async function zkMinZxid(c, next) {
    if (allowedMethods(urlPath(c)) === undefined) return next();
    const raw = c.req.header('zk-min-zxid');
    if (raw !== undefined) {
      const late = await deps.backend.waitFor(parseZxid(raw, 'Zk-Min-Zxid'));
      if (late) return errorResponse(c, late);
    }
    const session = Number(c.req.header('zk-session-id') ?? SESSION_IN_PATH.exec(urlPath(c))?.[1]);
    if (deps.backend.sessionIdsAreZxids !== false && Number.isSafeInteger(session) && session > deps.backend.appliedZxid) {
      const late = await deps.backend.waitFor(session);
      if (late) return errorResponse(c, zkError('CONNECTIONLOSS', `this member has not yet applied the opening of session ${session}; retry, or ask another member`));
    }
    await next();
    // A gateway queues a session's events off the request's path: Zk-Last-Event-Id waits for them.
    const acting = authenticatedSession(c);
    if (acting !== undefined && deps.backend.sessions.settle) await deps.backend.sessions.settle(acting, raw === undefined ? 0 : Number(raw));
  };
}

function requestMetrics(deps: AppDeps): MiddlewareHandler {
  return async function metrics(c, next) {
    const started = performance.now();
    await next();
    deps.metrics.recordRequest(c.req.method, c.req.routePath || 'unmatched', c.res.status, (performance.now() - started) / 1000);
  };
}

/**
 * The edge checks every carrier runs (edge/edge-guard.ts): a request target every reading
 * agrees on (400), a Host the node answers to (403). First of all, so nothing else reads a
 * refused request — its body included (a body read through the web Request of an absolute URL
 * with credentials threw: a 500).
 */
function edgeGuard(deps: AppDeps): MiddlewareHandler {
  return async function edgeCheck(c, next) {
    const refused = edgeRefusal(deps.config, c.req.method, sentTarget(c), hostOf(c));
    if (refused) return errorResponse(c, refused);
    await next();
  };
}

/**
 * CORS only stops a page from reading an answer; a cross-site "simple" POST would still act.
 * So a request that carries an Origin (a browser's) from anywhere but an allowed origin is
 * refused before it does anything (403 NOAUTH). The node's own origin (`Origin` equal to
 * `http(s)://<Host>`) is trusted only when the Host policy names the hosts the node answers to
 * (--allowed-hosts, or its loopback default): where any Host is accepted, a DNS-rebinding page
 * makes its Origin equal the Host by construction.
 */
function originGuard(deps: AppDeps): MiddlewareHandler {
  const allowed = deps.config.corsOrigins;
  const any = allowed.includes('*');
  const sameOriginTrusted = !hostPolicy(deps.config).any;
  return async function originCheck(c, next) {
    const origin = c.req.header('origin');
    if (origin === undefined || any || allowed.includes(origin)) return next();
    const host = hostOf(c);
    if (sameOriginTrusted && host && (origin === `http://${host}` || origin === `https://${host}`)) return next();
    return errorResponse(c, zkError('NOAUTH', `origin ${origin} is not allowed (see --cors-origins)`));
  };
}

function onError(deps: AppDeps) {
  return (error: Error, c: Context): Response => {
    if (error instanceof RequestRejected) return errorResponse(c, error.error);
    if (isClientAbort(error)) {
      // Not the node failing: no stack, and counted as 499, not 500 (edge/client-abort.ts).
      deps.logger.debug({ method: c.req.method, url: loggableTarget(c.req.url), reason: String(error), event: 'client-aborted' }, 'the client went away mid-request');
      return c.body(null, CLIENT_CLOSED_STATUS as StatusCode);
    }
    deps.logger.error({ err: error, method: c.req.method, url: loggableTarget(c.req.url), event: 'request-failed' }, 'request failed');
    return toResponse(c, INTERNAL_ERROR);
  };
}

/** 405 for a known path with another method, before any other middleware reads the request. */
const methodGuard: MiddlewareHandler = async function methodGuard(c, next) {
  const pathname = urlPath(c);
  const allowed = allowedMethods(pathname);
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  if (allowed && !allowed.split(', ').includes(method)) {
    c.header('Allow', allowed);
    return c.json({ code: 'UNIMPLEMENTED', zkCode: -6, message: `${c.req.method} is not allowed on ${pathname}` }, 405);
  }
  await next();
};

function notFound(c: Context): Response {
  return errorResponse(c, zkError('UNIMPLEMENTED', `no such endpoint: ${c.req.method} ${c.req.path}`));
}

export function createApp(deps: AppDeps): Hono {
  // Not strict: `/v1/multi/` is `/v1/multi` (znode paths keep their trailing slash: see znode-path.ts).
  const app = new Hono({ strict: false });
  app.use('*', zxidHeader(deps));
  app.use('*', requestMetrics(deps));
  app.use('*', edgeGuard(deps));
  if (deps.config.corsOrigins.length > 0) {
    const origins = deps.config.corsOrigins;
    app.use('*', cors({
      origin: origins.includes('*') ? '*' : [...origins],
      allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
      allowHeaders: ['Content-Type', 'If-Match', 'Authorization', 'Zk-Acl', 'Zk-Min-Zxid', 'Zk-Session-Id', 'Zk-Session-Token', 'Zk-Request-Id', 'Last-Event-ID'],
      exposeHeaders: ['Zk-Zxid', 'Zk-Last-Event-Id', 'ETag', 'Location', 'Retry-After', 'WWW-Authenticate'],
    }));
  }
  app.use('*', originGuard(deps));
  app.use('*', methodGuard);
  app.use('*', authenticateMiddleware(deps));
  app.use('/v1/*', minZxid(deps));
  // Every route of the table, with its handler: the compiler checks that none is missing.
  const handlers: Record<RouteId, Handler> = {
    ...znodeHandlers(deps), ...multiHandlers(deps), ...sessionHandlers(deps), ...watchHandlers(deps), ...operationsHandlers(deps), ...docsHandlers(deps), ...uiHandlers(),
    ...adminBackupHandlers(deps), ...clusterLeaderHandlers(deps), ...sessionListHandlers(deps), ...clusterMembersHandlers(deps),
  };
  for (const route of ROUTES) app.on(route.method, [...route.paths], handlers[route.id]);
  app.notFound(notFound);
  app.onError(onError(deps));
  return app;
}
