/**
 * Which session a request acts for: `Zk-Session-Id` with `Zk-Session-Token` (a browser's
 * EventSource, which cannot set headers, passes the token as `?token=` on the events endpoint).
 * Without the right token nobody acts for a session: 401 AUTHFAILED, whatever the id.
 */
import type { Context } from 'hono';
import type { AppDeps } from './app-deps.ts';
import { callerOfContext } from './caller.ts';
import { badRequest, RequestRejected } from './errors.ts';

export function parseSessionId(raw: string): number {
  const id = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw badRequest(`a session id is a positive decimal number, got "${raw}"`);
  return id;
}

const authenticated = new WeakMap<Request, number>();

/** Checks that the request may act for session `id`, and counts it as the session being heard from. */
export function authenticate(c: Context, deps: AppDeps, id: number, token = c.req.header('zk-session-token')): number {
  const error = deps.backend.sessions.authenticate(id, token, false, callerOfContext(c));
  if (error) throw new RequestRejected(error);
  deps.backend.sessions.touch(id);
  authenticated.set(c.req.raw, id);
  return id;
}

/** The session this request proved it may act for, if any. */
export function authenticatedSession(c: Context): number | undefined {
  return authenticated.get(c.req.raw);
}

/** The session a znode request acts for (from its headers), 0 for none. */
export function sessionOf(c: Context, deps: AppDeps): number {
  const raw = c.req.header('zk-session-id');
  if (raw === undefined) return 0;
  return authenticate(c, deps, parseSessionId(raw));
}

/** The refusal of a request that needs a session and came without one. */
export function sessionRequired(what: string): RequestRejected {
  return badRequest(`${what} needs a session (Zk-Session-Id and Zk-Session-Token headers)`);
}

export function requireSession(c: Context, deps: AppDeps, what: string): number {
  const session = sessionOf(c, deps);
  if (session === 0) throw sessionRequired(what);
  return session;
}
