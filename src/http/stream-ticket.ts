/**
 * The event stream's browser credentials, so a session's token need not travel in a URL (where
 * logs, proxies, history and Referer keep it). EventSource cannot send headers, so:
 *
 * - a **ticket** (`POST /v1/sessions/{id}/stream-ticket`, with the session's headers) opens the
 *   session's stream once (`?ticket=`), within TICKET_TTL_MS, on the member that issued it;
 * - that first open sets a **cookie** (HttpOnly, SameSite=Strict, Secure over TLS, its Path the
 *   session's events URL) that lets EventSource's automatic reconnect — same URL, spent ticket,
 *   Last-Event-ID — in again. It reads that one session's stream on this member, nothing else.
 *
 * Both are MACs under a secret this member draws at start (no table of what was issued): a
 * ticket binds the session id, its expiry and a nonce; the cookie binds the session id. Spent
 * tickets are remembered until they expire, bounded. A restart draws a new secret: tickets and
 * cookies of before are refused (401), and the page asks for a new ticket.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { zkError, type ZkError } from '../core/errors.ts';
import type { AppDeps } from './app-deps.ts';

export const TICKET_TTL_MS = 60_000;
/** Spent tickets remembered (each until it expires); past this, redemptions wait (429). */
const SPENT_MAX = 100_000;
export const STREAM_COOKIE = 'corral_stream';

interface TicketState {
  readonly secret: Buffer;
  /** Spent tickets' nonces → when they expire, in about the order they expire. */
  readonly spent: Map<string, number>;
}

const states = new WeakMap<AppDeps, TicketState>();

function stateOf(deps: AppDeps): TicketState {
  let state = states.get(deps);
  if (!state) states.set(deps, (state = { secret: randomBytes(32), spent: new Map() }));
  return state;
}

function mac(state: TicketState, text: string): string {
  return createHmac('sha256', state.secret).update(text).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A new single-use ticket for session `sessionId`'s stream: `<expiresAtMs>.<nonce>.<mac>`. */
export function issueTicket(deps: AppDeps, sessionId: number): { readonly ticket: string; readonly expiresInMs: number } {
  const state = stateOf(deps);
  const expiresAtMs = deps.nowMs() + TICKET_TTL_MS;
  const nonce = randomBytes(18).toString('base64url');
  return { ticket: `${expiresAtMs}.${nonce}.${mac(state, `ticket ${sessionId} ${expiresAtMs} ${nonce}`)}`, expiresInMs: TICKET_TTL_MS };
}

/** Spends `ticket` for session `sessionId`'s stream (`spend` false: only checks it): undefined when it was good, else why not. */
export function redeemTicket(deps: AppDeps, sessionId: number, ticket: string, spend = true): ZkError | undefined {
  const state = stateOf(deps);
  const now = deps.nowMs();
  const [rawExpiry, nonce, given, extra] = ticket.split('.');
  const expiresAtMs = Number(rawExpiry);
  if (extra !== undefined || nonce === undefined || given === undefined || !/^\d{1,16}$/.test(rawExpiry ?? '')
    || !sameText(given, mac(state, `ticket ${sessionId} ${expiresAtMs} ${nonce}`))) {
    return zkError('AUTHFAILED', `not a stream ticket of session ${sessionId} from this member`);
  }
  if (expiresAtMs <= now) return zkError('AUTHFAILED', 'the stream ticket has expired; ask for a new one');
  for (const [spentNonce, until] of state.spent) {
    if (until > now) break;
    state.spent.delete(spentNonce);
  }
  if (state.spent.has(nonce)) return zkError('AUTHFAILED', 'the stream ticket was used already; ask for a new one');
  if (!spend) return undefined;
  if (state.spent.size >= SPENT_MAX) return zkError('THROTTLEDOP', 'too many stream tickets in use; retry shortly');
  state.spent.set(nonce, expiresAtMs);
  return undefined;
}

/** The stream cookie's value for session `sessionId` on this member. */
function cookieValueOf(deps: AppDeps, sessionId: number): string {
  return mac(stateOf(deps), `cookie ${sessionId}`);
}

/** Sets the cookie that lets EventSource reconnect to session `sessionId`'s stream. */
export function setStreamCookie(c: Context, deps: AppDeps, sessionId: number): void {
  setCookie(c, STREAM_COOKIE, cookieValueOf(deps, sessionId), {
    path: `/v1/sessions/${sessionId}/events`, httpOnly: true, sameSite: 'Strict', secure: c.req.url.startsWith('https:'),
  });
}

/** Whether the request carries this member's stream cookie for session `sessionId`. */
export function hasStreamCookie(c: Context, deps: AppDeps, sessionId: number): boolean {
  const value = getCookie(c, STREAM_COOKIE);
  return value !== undefined && sameText(value, cookieValueOf(deps, sessionId));
}
