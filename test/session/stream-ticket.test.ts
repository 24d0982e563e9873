// The event stream's ticket (src/http/stream-ticket.ts): a browser opens its session's stream
// without the token in the URL. A ticket opens the stream once, within its lifetime, for its
// session only, on the member that issued it; that open sets the cookie EventSource's own
// reconnect gets in with. Driven in-process (app.request) on a clock the test moves.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { appDepsOf } from '../../src/server.ts';
import { TICKET_TTL_MS } from '../../src/http/stream-ticket.ts';
import { validateResponse } from '../support/openapi.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';
import { as, openSession, type OpenSession } from './session-helpers.ts';

let t: TestNode;
let app: Hono;
let skewMs = 0;

beforeEach(() => {
  t = startTestNode({ tickTimeMs: 500 });
  skewMs = 0;
  app = createApp(appDepsOf(t.node, createLogger('silent'), () => Date.now() + skewMs));
});
afterEach(async () => {
  await t.close();
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** A request to the app under test; a stream's body is cancelled once its head is in. */
async function send(method: string, url: string, headers: Record<string, string> = {}, on: Hono = app): Promise<Answer> {
  const res = await on.request(url, { method, headers });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    validateResponse(method, url.split('?')[0]!, res.status, res.headers, undefined);
    await res.body?.cancel();
    return { status: res.status, headers: res.headers, body: undefined };
  }
  const text = await res.text();
  const body: unknown = text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  validateResponse(method, url.split('?')[0]!, res.status, res.headers, body);
  return { status: res.status, headers: res.headers, body };
}

async function ticketFor(s: OpenSession, on: Hono = app): Promise<string> {
  const res = await send('POST', `/v1/sessions/${s.id}/stream-ticket`, as(s), on);
  expect(res.status).toBe(200);
  return res.body.ticket as string;
}

const events = (s: OpenSession, query: string) => `/v1/sessions/${s.id}/events?${query}`;
const cookieOf = (res: Answer) => (res.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('POST /v1/sessions/{id}/stream-ticket', () => {
  it('answers a ticket and its lifetime, not to be cached, to a request acting for the session', async () => {
    const s = await openSession(t, 4000);
    const res = await send('POST', `/v1/sessions/${s.id}/stream-ticket`, as(s));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ticket: expect.any(String), expiresInMs: TICKET_TTL_MS });
    expect(res.body.ticket).not.toContain(s.token);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a request without the session\'s token with 401 AUTHFAILED', async () => {
    const s = await openSession(t, 4000);
    const res = await send('POST', `/v1/sessions/${s.id}/stream-ticket`, { 'zk-session-id': s.id, 'zk-session-token': 'wrong' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('AUTHFAILED');
  });
});

describe('GET /v1/sessions/{id}/events?ticket=', () => {
  it('opens the stream once, setting an HttpOnly, SameSite=Strict cookie scoped to the events URL', async () => {
    const s = await openSession(t, 4000);
    const ticket = await ticketFor(s);
    const first = await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`));
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^corral_stream=[^;]+;/);
    expect(cookie).toContain(`Path=/v1/sessions/${s.id}/events`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure');
    const again = await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`));
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ code: 'AUTHFAILED', message: expect.stringContaining('used already') });
  });

  it('does not spend a ticket on HEAD', async () => {
    const s = await openSession(t, 4000);
    const ticket = await ticketFor(s);
    expect((await send('HEAD', events(s, `ticket=${encodeURIComponent(ticket)}`))).status).toBe(200);
    expect((await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`))).status).toBe(200);
  });

  it('lets a reconnect with the spent ticket in by the cookie its first open set (EventSource\'s reconnect)', async () => {
    const s = await openSession(t, 4000);
    const ticket = await ticketFor(s);
    const first = await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`));
    const reconnect = await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`), { cookie: cookieOf(first), 'last-event-id': '1-0' });
    expect(reconnect.status).toBe(200);
    expect(reconnect.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a ticket past its lifetime with 401', async () => {
    const s = await openSession(t, 4000);
    const ticket = await ticketFor(s);
    skewMs = TICKET_TTL_MS + 1;
    const late = await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`));
    expect(late.status).toBe(401);
    expect(late.body.message).toContain('expired');
  });

  it('refuses a ticket of another session, a forged one, and a cookie of another session with 401', async () => {
    const s = await openSession(t, 4000);
    const other = await openSession(t, 4000);
    const ticket = await ticketFor(s);
    expect((await send('GET', events(other, `ticket=${encodeURIComponent(ticket)}`))).status).toBe(401);
    const [expiry, nonce] = ticket.split('.');
    expect((await send('GET', events(s, `ticket=${expiry}.${nonce}.AAAA`))).status).toBe(401);
    expect((await send('GET', events(s, `ticket=${Number(expiry) + 1}.${ticket.split('.').slice(1).join('.')}`))).status).toBe(401);
    expect((await send('GET', events(s, 'ticket=garbage'))).status).toBe(401);
    // The ticket of `s` was not spent by those attempts: it still opens `s`'s stream once.
    const opened = await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`));
    expect(opened.status).toBe(200);
    expect((await send('GET', events(other, 'x=1'), { cookie: cookieOf(opened) })).status).toBe(401);
  });

  it('refuses a ticket issued by another member (another node secret) with 401', async () => {
    const s = await openSession(t, 4000);
    const elsewhere = createApp(appDepsOf(t.node, createLogger('silent'), () => Date.now()));
    const ticket = await ticketFor(s, elsewhere);
    expect((await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`))).status).toBe(401);
  });

  it('answers a ticket for an unknown session 404, and still opens an ended session\'s stream so its end can be read', async () => {
    const s = await openSession(t, 4000);
    const ticket = await ticketFor(s);
    expect((await send('GET', `/v1/sessions/77777/events?ticket=${encodeURIComponent(ticket)}`)).status).toBe(404);
    expect((await send('DELETE', `/v1/sessions/${s.id}`, as(s))).status).toBe(204);
    // Its end is still readable with the ticket (a client that was away learns how it ended).
    expect((await send('GET', events(s, `ticket=${encodeURIComponent(ticket)}`))).status).toBe(200);
  });

  it('still takes the token in the URL (discouraged) and the token header', async () => {
    const s = await openSession(t, 4000);
    expect((await send('GET', events(s, `token=${encodeURIComponent(s.token)}`))).status).toBe(200);
    expect((await send('GET', `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token })).status).toBe(200);
    expect((await send('GET', `/v1/sessions/${s.id}/events`)).status).toBe(401);
  });
});
