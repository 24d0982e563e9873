/** Sessions: open, keepalive, close, watches (addWatch / removeWatches), the event stream and its ticket. */
import type { Context } from 'hono';
import type { RemoveType } from '../../core/watch/watch-registry.ts';
import { pathError } from '../../core/tree/path.ts';
import type { AppDeps } from '../app-deps.ts';
import { readBody } from '../body.ts';
import { badRequest, errorResponse, RequestRejected } from '../errors.ts';
import { callerOfContext } from '../caller.ts';
import { authenticate, parseSessionId } from '../session-context.ts';
import { streamSessionEvents } from '../session-stream.ts';
import { limitOf } from '../limits/refusal.ts';
import { hasStreamCookie, issueTicket, redeemTicket, setStreamCookie } from '../stream-ticket.ts';

async function readJson(c: Context): Promise<Record<string, unknown>> {
  const bytes = await readBody(c, 65536);
  if (bytes.length === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw badRequest('body must be a JSON object');
}

function validPath(raw: unknown, name: string): string {
  if (typeof raw !== 'string') throw badRequest(`${name} is required`);
  const invalid = pathError(raw);
  if (invalid) throw badRequest(`invalid path: ${invalid}`, raw);
  return raw;
}

export function sessionHandlers(deps: AppDeps) {
  const { sessions } = deps.backend;
  const sessionParam = (c: Context) => authenticate(c, deps, parseSessionId(c.req.param('id') ?? ''));

  const createSession = async (c: Context) => {
    const body = await readJson(c);
    const requested = body.timeoutMs ?? deps.config.tickTimeMs * 10;
    if (typeof requested !== 'number' || !Number.isSafeInteger(requested) || requested <= 0) {
      throw badRequest('timeoutMs must be a positive integer of milliseconds');
    }
    const opened = await sessions.open(requested, callerOfContext(c));
    if ('code' in opened) {
      const limit = limitOf(opened, 'sessions');
      if (limit) deps.metrics.limitRefused(limit);
      return errorResponse(c, opened);
    }
    c.header('Location', `/v1/sessions/${opened.id}`);
    return c.json({ id: String(opened.id), timeoutMs: opened.timeoutMs, token: opened.token }, 201);
  };

  // Heard by the member that expires sessions (the leader): without one known, a 503.
  const keepalive = async (c: Context) => {
    const id = sessionParam(c);
    const error = await sessions.keepalive(id, callerOfContext(c));
    if (error) return errorResponse(c, error);
    return c.json({ id: String(id), timeoutMs: sessions.timeoutOf(id) });
  };

  const closeSession = async (c: Context) => {
    const error = await sessions.close(sessionParam(c), callerOfContext(c));
    return error ? errorResponse(c, error) : c.body(null, 204);
  };

  /** A single-use ticket that opens the session's stream without its token in the URL (stream-ticket.ts). */
  const streamTicket = (c: Context) => {
    const id = sessionParam(c);
    c.header('Cache-Control', 'no-store');
    return c.json(issueTicket(deps, id));
  };

  const sessionEvents = (c: Context) => {
    const id = parseSessionId(c.req.param('id') ?? '');
    authenticateStream(c, id);
    sessions.touch(id);
    // Hono routes HEAD here too: answer it without opening (and replacing) the session's stream.
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': 'text/event-stream' });
    return streamSessionEvents(c, deps, id);
  };

  /**
   * Who may read the session's stream: its token (header), a ticket (once; it sets the stream
   * cookie), the stream cookie (EventSource's reconnect to the same URL, its ticket spent), or —
   * discouraged, kept for clients that use it — the token as `?token=`.
   */
  const authenticateStream = (c: Context, id: number): void => {
    const header = c.req.header('zk-session-token');
    const ticket = c.req.query('ticket');
    if (header === undefined && (ticket !== undefined || hasStreamCookie(c, deps, id))) {
      // The session must still be readable (known, or ended with its end not yet read): only its token is not asked.
      const known = sessions.authenticate(id, undefined, true);
      if (known && known.code !== 'AUTHFAILED') throw new RequestRejected(known);
      // A HEAD opens no stream: it checks the ticket without spending it.
      const opening = c.req.method !== 'HEAD';
      const spent = ticket === undefined ? undefined : redeemTicket(deps, id, ticket, opening);
      if (spent === undefined) {
        if (ticket !== undefined && opening) setStreamCookie(c, deps, id);
        return;
      }
      if (!hasStreamCookie(c, deps, id)) throw new RequestRejected(spent);
      return;
    }
    const error = sessions.authenticate(id, header ?? c.req.query('token'), true);
    if (error) throw new RequestRejected(error);
  };

  // getEphemerals: like ZooKeeper's, `prefix` is a plain string prefix of the path ("/a" matches "/ab").
  const ephemerals = (c: Context) => {
    const id = sessionParam(c);
    const prefix = c.req.query('prefix') ?? '/';
    if (!prefix.startsWith('/')) throw badRequest('prefix must start with /');
    const paths = sessions.ephemerals(id).filter((p) => p.startsWith(prefix));
    return c.json({ paths });
  };

  const addWatch = async (c: Context) => {
    const id = sessionParam(c);
    const body = await readJson(c);
    const path = validPath(body.path, 'path');
    const mode = body.mode ?? 'persistent';
    if (mode !== 'persistent' && mode !== 'persistent_recursive') {
      throw badRequest('mode must be persistent or persistent_recursive');
    }
    const result = await sessions.watch(id, { op: 'addWatch', path, mode }, callerOfContext(c));
    const error = 'code' in result ? result : result.ok ? undefined : result.error;
    if (error) {
      const limit = limitOf(error, 'watches_per_session');
      if (limit) deps.metrics.limitRefused(limit);
      throw new RequestRejected(error);
    }
    return c.json({ path, mode }, 201);
  };

  const removeWatches = async (c: Context) => {
    const id = sessionParam(c);
    const path = validPath(c.req.query('path'), 'path');
    const type = c.req.query('type') ?? 'any';
    if (type !== 'data' && type !== 'children' && type !== 'any') throw badRequest('type must be data, children or any');
    const result = await sessions.watch(id, { op: 'removeWatches', path, watchType: type as RemoveType }, callerOfContext(c));
    if ('code' in result) return errorResponse(c, result);
    return result.ok ? c.body(null, 204) : errorResponse(c, result.error);
  };

  return { createSession, keepalive, closeSession, streamTicket, sessionEvents, ephemerals, addWatch, removeWatches };
}
