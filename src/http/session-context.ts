/**
 * Which session a request acts for (`Zk-Session-Id` + `Zk-Session-Token`). Sessions arrive with
 * their own module; until then no session exists, so naming one answers UNKNOWNSESSION.
 */
import type { Context } from 'hono';
import { zkError } from '../core/errors.ts';
import { RequestRejected, badRequest } from './errors.ts';

/** The session id a request acts for, 0 for none. */
export function sessionOf(c: Context): number {
  const id = c.req.header('zk-session-id');
  if (id === undefined) return 0;
  if (!/^\d{1,20}$/.test(id)) throw badRequest(`Zk-Session-Id must be a session id (decimal digits)`);
  throw new RequestRejected(zkError('UNKNOWNSESSION', `session ${id} is not known`));
}

/** `?watch=true` needs a session. */
export function requireSession(c: Context, what: string): number {
  const session = sessionOf(c);
  if (session === 0) throw badRequest(`${what} needs a session (Zk-Session-Id and Zk-Session-Token headers)`);
  return session;
}
