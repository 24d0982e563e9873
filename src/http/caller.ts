/**
 * The pipeline's authenticate step on the HTTP side: every carrier (the Hono app, the direct
 * paths) hands the Authenticator (src/auth/authenticator.ts) the request's Authorization header,
 * peer address and, over TLS, the client certificate the CA verified, so a request is judged the same whatever road it took. A credential that
 * fails is 401 AUTHFAILED before anything else runs; with --auth-required, so is a request that
 * proves no identity, except the probes an orchestrator sends without credentials.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { isAuthenticated, type Authenticated, type Credentials } from '../auth/authenticator.ts';
import type { Caller } from '../backend/backend.ts';
import { zkError, type ZkError } from '../core/errors.ts';
import type { AppDeps } from './app-deps.ts';
import { errorResponse } from './errors.ts';
import { incomingOf, remoteAddressOf } from './request-env.ts';
import { verifiedPeerCertificateOf } from '../tls/peer-certificate.ts';
import { withinRequestRate } from './limits/request-rate.ts';

/** Paths any caller reaches even with --auth-required (metrics too when the operator says so). */
const PROBES = new Set(['/healthz', '/readyz']);
/** A session's event stream: its token is the credential (EventSource cannot send headers). */
const SESSION_EVENTS = /^\/v1\/sessions\/\d{1,16}\/events$/;
/**
 * Pages and static files that hold no data: the web console (routes/ui.ts), the page where a
 * browser logs in, and the API reference with the spec (routes/docs.ts), whose "try it" then
 * sends the user's credentials with each call.
 */
const PUBLIC_FILES = /^\/(?:ui(?:\/[^/]*)?|docs(?:\/assets\/[^/]*)?|openapi\.yaml)$/;

/**
 * The caller, or why it is refused (AUTHFAILED; THROTTLEDOP past its request rate, see
 * limits/request-rate.ts); a promise only while a bearer token is verified.
 */
export function authenticateRequest(deps: AppDeps, credentials: Credentials, pathname: string): Authenticated | Promise<Authenticated> {
  let answer = deps.authenticator.authenticate(credentials);
  if (deps.config.maxRequestsPerSecondPerCaller > 0) {
    const limited = (a: Authenticated) => withinRequestRate(deps, a, credentials.address, pathname);
    answer = answer instanceof Promise ? answer.then(limited) : limited(answer);
  }
  if (!deps.config.authRequired) return answer;
  return answer instanceof Promise ? answer.then((a) => required(deps, a, pathname)) : required(deps, answer, pathname);
}

function required(deps: AppDeps, answer: Authenticated, pathname: string): Authenticated {
  if ('code' in answer || isAuthenticated(answer)) return answer;
  if (PROBES.has(pathname) || (pathname === '/metrics' && deps.config.metricsWithoutAuth) || SESSION_EVENTS.test(pathname) || PUBLIC_FILES.test(pathname)) return answer;
  return authRequired;
}

const authRequired: ZkError = zkError('AUTHFAILED', 'this node requires authentication (Authorization: Basic or Bearer)');

const callers = new WeakMap<Request, Caller>();

/** The Hono app's authenticate step: runs first, so no handler sees an unauthenticated request. */
export function authenticateMiddleware(deps: AppDeps): MiddlewareHandler {
  return async function authenticate(c, next) {
    const pathname = c.req.path;
    const incoming = incomingOf(c);
    const certificate = incoming === undefined ? undefined : verifiedPeerCertificateOf(incoming);
    let answer = authenticateRequest(deps, { authorization: c.req.header('authorization'), address: remoteAddressOf(c), certificate }, pathname);
    if (answer instanceof Promise) answer = await answer;
    if ('code' in answer) {
      if (answer.code === 'AUTHFAILED') c.header('WWW-Authenticate', deps.authenticator.challenge);
      return errorResponse(c, answer);
    }
    callers.set(c.req.raw, answer);
    await next();
  };
}

/** The caller of a Hono request, as the authenticate middleware found it. */
export function callerOfContext(c: Context): Caller {
  const caller = callers.get(c.req.raw);
  if (caller === undefined) throw new Error('a request reached a handler without the authenticate step');
  return caller;
}
