// Specification of the session endpoints (API.md, Sessions; ZK-SEMANTICS.md, Sessions): open,
// keepalive, close, who may act for a session, ephemerals and expiry. In-process, tickTime 100 ms,
// so timeouts are clamped into [200, 2000] ms. Watches: sessions-watches.test.ts. Also run against
// a gateway (test/backend/zookeeper/sessions-http.gateway.e2e.test.ts): there the clamp is
// ZooKeeper's own, by its tickTime (2 s in test/oracle/zookeeper-server.ts's zoo.cfg), and a
// session's id is ZooKeeper's, not a zxid (docs/operations.md).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { harness, startTestNode, type TestNode } from '../support/test-node.ts';
import { as, call, exists, openSession, waitGone, type OpenSession } from '../session/session-helpers.ts';
import { SseParser } from './sse-reader.ts';

const TICK_MS = harness === 'gateway' ? 2000 : 100;
/** Expiry tests wait up to this long: a gateway stops pinging after half a timeout, ZooKeeper expires a tick late at most. */
const EXPIRY_BOUND_MS = 50 * TICK_MS;
let t: TestNode;
beforeEach(() => {
  t = startTestNode({ tickTimeMs: TICK_MS });
});
afterEach(async () => {
  await t.close();
});

const createNode = (path: string, mode = 'persistent', s?: OpenSession) =>
  call(t, 'POST', `/v1/znodes${path}?mode=${mode}`, { body: '', headers: s ? as(s) : {} });

describe('POST /v1/sessions (open)', () => {
  it('answers 201 {id, timeoutMs, token} with the timeout clamped into [2, 20] × tickTime', async () => {
    const T = TICK_MS;
    const cases = [[1, 2 * T], [T / 2, 2 * T], [7.5 * T, 7.5 * T], [20 * T, 20 * T], [1000 * T, 20 * T]] as const;
    for (const [requestedMs, negotiatedMs] of cases) {
      const res = await call(t, 'POST', '/v1/sessions', { body: { timeoutMs: requestedMs } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(/^[1-9]\d*$/), timeoutMs: negotiatedMs, token: expect.any(String) });
      expect(res.headers.get('location')).toBe(`/v1/sessions/${res.body.id}`);
    }
  });

  if (harness === 'embedded') {
    it('uses the zxid of the createSession transaction as the id, so ids increase and tokens differ', async () => {
      const a = await call(t, 'POST', '/v1/sessions', { body: { timeoutMs: 1000 } });
      expect(a.body.id).toBe(String(t.node.host.appliedZxid));
      expect(a.headers.get('zk-zxid')).toBe(a.body.id);
      const b = await openSession(t, 1000);
      expect(BigInt(b.id)).toBeGreaterThan(BigInt(a.body.id));
      expect(b.token).not.toBe(a.body.token);
      expect(b.token.length).toBeGreaterThanOrEqual(32);
    });
  } else {
    it('uses the ZooKeeper session\'s id (not a zxid), so two sessions\' ids and tokens differ', async () => {
      const a = await openSession(t, 4000);
      const b = await openSession(t, 4000);
      expect(a.id).toMatch(/^[1-9]\d*$/);
      expect(b.id).not.toBe(a.id);
      expect(b.token).not.toBe(a.token);
      expect(b.token.length).toBeGreaterThanOrEqual(32);
    });
  }

  it('negotiates a default timeout when the body names none', async () => {
    const s = await openSession(t);
    expect(s.timeoutMs).toBeGreaterThanOrEqual(2 * TICK_MS);
    expect(s.timeoutMs).toBeLessThanOrEqual(20 * TICK_MS);
  });

  it.each([[{ timeoutMs: 0 }], [{ timeoutMs: -5 }], [{ timeoutMs: 1.5 }], [{ timeoutMs: '1000' }], ['not json'], [[1000]]])(
    'refuses %j with 400 BADARGUMENTS', async (body) => {
      const res = await call(t, 'POST', '/v1/sessions', { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('BADARGUMENTS');
    });

  it('holds the session limit when many sessions are opened at once', async () => {
    const small = startTestNode({ tickTimeMs: TICK_MS, maxSessions: 2 });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => call(small, 'POST', '/v1/sessions', { body: { timeoutMs: 1000 } })));
      expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 429, 429, 429, 429]);
      expect(small.node.sessions.size).toBe(2);
    } finally {
      await small.close();
    }
  });

  it('refuses a session past the node\'s limit with 429 THROTTLEDOP, and makes room when one closes', async () => {
    const small = startTestNode({ tickTimeMs: TICK_MS, maxSessions: 2 });
    try {
      const first = await openSession(small, 1000);
      await openSession(small, 1000);
      const refused = await call(small, 'POST', '/v1/sessions', { body: { timeoutMs: 1000 } });
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('THROTTLEDOP');
      expect((await call(small, 'DELETE', `/v1/sessions/${first.id}`, { headers: as(first) })).status).toBe(204);
      expect((await call(small, 'POST', '/v1/sessions', { body: { timeoutMs: 1000 } })).status).toBe(201);
    } finally {
      await small.close();
    }
  });
});

describe('POST /v1/sessions/{id}/keepalive', () => {
  it('answers 200 {id, timeoutMs}', async () => {
    const s = await openSession(t, 8 * TICK_MS);
    const res = await call(t, 'POST', `/v1/sessions/${s.id}/keepalive`, { headers: as(s) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: s.id, timeoutMs: 8 * TICK_MS });
  });
});

/** Every call that acts for a session, so each is held to the same rules about ids and tokens. */
const ACTING = [
  { name: 'keepalive', method: 'POST', url: (id: string) => `/v1/sessions/${id}/keepalive` },
  { name: 'close', method: 'DELETE', url: (id: string) => `/v1/sessions/${id}` },
  { name: 'events', method: 'GET', url: (id: string) => `/v1/sessions/${id}/events` },
  { name: 'addWatch', method: 'POST', url: (id: string) => `/v1/sessions/${id}/watches`, body: { path: '/', mode: 'persistent' } },
  { name: 'removeWatches', method: 'DELETE', url: (id: string) => `/v1/sessions/${id}/watches?path=/&type=any` },
] as const;

describe('acting for a session', () => {
  it.each(ACTING)('$name: wrong or missing token is 401 AUTHFAILED', async ({ method, url, ...rest }) => {
    const s = await openSession(t, 2000);
    const body = 'body' in rest ? rest.body : undefined;
    for (const headers of <Array<Record<string, string>>>[{ 'zk-session-token': 'nope' }, { 'zk-session-token': s.token.slice(0, -1) }, {}]) {
      const res = await call(t, method, url(s.id), { headers, body });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'AUTHFAILED', zkCode: -115 });
    }
  });

  it.each(ACTING)('$name: a malformed id is 400 BADARGUMENTS', async ({ method, url }) => {
    for (const id of ['abc', '0', '-1', '1.5', '12345678901234567', '1e3']) {
      const res = await call(t, method, url(id), { headers: { 'zk-session-token': 'x' } });
      expect(res.status, id).toBe(400);
      expect(res.body.code).toBe('BADARGUMENTS');
    }
  });

  it.each(ACTING)('$name: an unknown id is 404 UNKNOWNSESSION', async ({ method, url }) => {
    const res = await call(t, method, url('987654321'), { headers: { 'zk-session-token': 'x' } });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'UNKNOWNSESSION', zkCode: -12 });
  });

  it.each(ACTING.filter((a) => a.name !== 'events'))('$name: a closed session is 410 SESSIONEXPIRED', async ({ method, url, ...rest }) => {
    const s = await openSession(t, 2000);
    expect((await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) })).status).toBe(204);
    const res = await call(t, method, url(s.id), { headers: as(s), body: 'body' in rest ? rest.body : undefined });
    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ code: 'SESSIONEXPIRED', zkCode: -112 });
  });

  it('events: a closed session\'s stream can still be read to its end, with its token only', async () => {
    const s = await openSession(t, 2000);
    await createNode('/e', 'ephemeral', s);
    await call(t, 'GET', '/v1/stat/e?watch=true', { headers: as(s) });
    expect((await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) })).status).toBe(204);
    const refused = await call(t, 'GET', `/v1/sessions/${s.id}/events`, { headers: { 'zk-session-token': 'nope' } });
    expect(refused.status).toBe(401);
    const res = await call(t, 'GET', `/v1/sessions/${s.id}/events`, { headers: { 'zk-session-token': s.token } });
    expect(res.status).toBe(200);
    const items = new SseParser().feed(String(res.body)).flatMap((item) => (item.kind === 'event' ? [item.event] : []));
    expect(items.map((e) => `${e.event} ${e.data}`)).toEqual([
      `watch ${JSON.stringify({ type: 'NodeDeleted', path: '/e', zxid: items[0]!.id!.split('-')[0] })}`,
      `session ${JSON.stringify({ state: 'closed', zxid: items[0]!.id!.split('-')[0] })}`,
    ]);
  });

  it('holds znode requests carrying Zk-Session-Id to the same rules', async () => {
    const s = await openSession(t, 2000);
    const read = (headers: Record<string, string>) => call(t, 'GET', '/v1/znodes', { headers });
    expect((await read(as(s))).status).toBe(200);
    expect((await read({ 'zk-session-id': s.id, 'zk-session-token': 'nope' })).status).toBe(401);
    expect((await read({ 'zk-session-id': s.id })).status).toBe(401);
    expect((await read({ 'zk-session-id': 'abc', 'zk-session-token': 'x' })).status).toBe(400);
    expect((await read({ 'zk-session-id': '987654321', 'zk-session-token': 'x' })).status).toBe(404);
    await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) });
    const expired = await read(as(s));
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe('SESSIONEXPIRED');
  });
});

describe('ephemeral nodes', () => {
  it('creates ephemerals whose ephemeralOwner is the session id', async () => {
    const s = await openSession(t, 2000);
    const plain = await createNode('/e', 'ephemeral', s);
    await createNode('/queue');
    const seq = await createNode('/queue/q-', 'ephemeral_sequential', s);
    expect(plain.status).toBe(201);
    expect(plain.body.stat.ephemeralOwner).toBe(s.id);
    expect(seq.body.path).toBe('/queue/q-0000000000');
    expect(seq.body.stat.ephemeralOwner).toBe(s.id);
    expect((await createNode('/p', 'persistent', s)).body.stat.ephemeralOwner).toBe('0');
  });

  it('creates ephemerals in a multi for the session it carries, and refuses them without one', async () => {
    const s = await openSession(t, 2000);
    const ops = [{ op: 'create', path: '/m', mode: 'ephemeral' }, { op: 'create', path: '/n', mode: 'ephemeral_sequential' }];
    const multi = await call(t, 'POST', '/v1/multi', { body: { ops }, headers: as(s) });
    expect(multi.status).toBe(200);
    expect(multi.body.results.map((r: { stat: { ephemeralOwner: string } }) => r.stat.ephemeralOwner)).toEqual([s.id, s.id]);
    const without = await call(t, 'POST', '/v1/multi', { body: { ops: [{ op: 'create', path: '/o', mode: 'ephemeral' }] } });
    expect(without.status).toBe(400);
    expect(without.body.code).toBe('BADARGUMENTS');
    await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) });
    expect(await exists(t, '/m')).toBe(false);
  });

  it('refuses children under an ephemeral with 409 NOCHILDRENFOREPHEMERALS', async () => {
    const s = await openSession(t, 2000);
    await createNode('/e', 'ephemeral', s);
    for (const [path, mode] of [['/e/c', 'persistent'], ['/e/c', 'ephemeral'], ['/e/', 'persistent_sequential']] as const) {
      const res = await createNode(path, mode, s);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'NOCHILDRENFOREPHEMERALS', zkCode: -108 });
    }
  });

  it('does not create an ephemeral for a wrong token or a closed session', async () => {
    const s = await openSession(t, 2000);
    const wrong = await call(t, 'POST', '/v1/znodes/e?mode=ephemeral', { body: '', headers: { ...as(s), 'zk-session-token': 'nope' } });
    expect(wrong.status).toBe(401);
    await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) });
    expect((await createNode('/e', 'ephemeral', s)).status).toBe(410);
    expect(await exists(t, '/e')).toBe(false);
  });

  it('deletes the session\'s ephemerals, and only those, before close answers 204', async () => {
    const s = await openSession(t, 2000);
    const other = await openSession(t, 2000);
    await createNode('/dir');
    await createNode('/dir/mine', 'ephemeral', s);
    await createNode('/mine', 'ephemeral', s);
    await createNode('/dir/theirs', 'ephemeral', other);
    const closed = await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) });
    expect(closed.status).toBe(204);
    expect(await exists(t, '/mine')).toBe(false);
    expect((await call(t, 'GET', '/v1/children/dir')).body.children).toEqual(['theirs']);
    expect((await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) })).status).toBe(410);
  });
});

describe('session expiry', () => {
  it('expires a silent session (its ephemerals go) while sessions kept alive stay', async () => {
    const silent = await openSession(t, 2 * TICK_MS);
    const pinged = await openSession(t, 2 * TICK_MS);
    const reading = await openSession(t, 2 * TICK_MS);
    // Before the silent session's last request was sent: the node heard it no earlier than this.
    const silentHeardAfter = Date.now();
    await createNode('/silent', 'ephemeral', silent);
    await createNode('/pinged', 'ephemeral', pinged);
    await createNode('/reading', 'ephemeral', reading);
    const openedAt = Date.now();
    const keepAlive = async () => {
      await call(t, 'POST', `/v1/sessions/${pinged.id}/keepalive`, { headers: as(pinged) });
      await call(t, 'GET', '/v1/znodes', { headers: as(reading) }); // any request counts as being heard from
    };
    await waitGone(t, '/silent', EXPIRY_BOUND_MS, keepAlive);
    expect(Date.now() - silentHeardAfter).toBeGreaterThanOrEqual(silent.timeoutMs);
    // Keep the others alive for several of their timeouts more.
    await waitFor(async () => {
      await keepAlive();
      return Date.now() - openedAt >= 4 * pinged.timeoutMs;
    }, { timeoutMs: EXPIRY_BOUND_MS, what: 'four timeouts to pass' });
    expect(await exists(t, '/pinged')).toBe(true);
    expect(await exists(t, '/reading')).toBe(true);
    expect((await call(t, 'POST', `/v1/sessions/${pinged.id}/keepalive`, { headers: as(pinged) })).status).toBe(200);
    const gone = await call(t, 'POST', `/v1/sessions/${silent.id}/keepalive`, { headers: as(silent) });
    expect(gone.status).toBe(410);
    expect(gone.body.code).toBe('SESSIONEXPIRED');
  }, 2 * EXPIRY_BOUND_MS);

  it('does not expire a session before its negotiated timeout', async () => {
    const s = await openSession(t, 2 * TICK_MS);
    await createNode('/e', 'ephemeral', s);
    const openedAt = Date.now();
    await waitGone(t, '/e', EXPIRY_BOUND_MS);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(s.timeoutMs);
  }, 2 * EXPIRY_BOUND_MS);
});
