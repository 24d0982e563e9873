// Specification of watches over HTTP (API.md, Znodes `?watch=true` and Sessions addWatch /
// removeWatches; ZK-SEMANTICS.md, Watches), in-process. What a session's stream will send is read
// from its outbox; the stream itself is covered by events.e2e.test.ts. Also run against a gateway
// (test/backend/zookeeper/sessions-watches.gateway.e2e.test.ts): there the outbox is read once the
// session is settled (the harness's sessionOutbox), as a request for it would be.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { harness, sessionOutbox, sessionWatchCount, startTestNode, type TestNode } from '../support/test-node.ts';
import { as, call, openSession, type OpenSession } from '../session/session-helpers.ts';

let t: TestNode;
let s: OpenSession;
beforeEach(async () => {
  t = startTestNode({ tickTimeMs: 100 });
  s = await openSession(t, 2000);
});
afterEach(async () => {
  await t.close();
});

const put = (path: string, data = 'x') => call(t, 'PUT', `/v1/znodes${path}`, { body: data });
const create = (path: string) => call(t, 'POST', `/v1/znodes${path}`, { body: '' });
const watchCount = () => sessionWatchCount(t, Number(s.id));
/** ZooKeeper expires a session one timeout after the gateway stops pinging (its minimum is 2 ticks of 2 s). */
const expiryBoundMs = harness === 'gateway' ? 20_000 : 5000;

/** What the session's stream has queued, as `Type path` (watch events) or `session state`. */
async function queued(node: TestNode, who: OpenSession): Promise<string[]> {
  return (await sessionOutbox(node, Number(who.id))).map((e) => {
    const data = JSON.parse(e.data) as { type?: string; path?: string; state?: string };
    return e.event === 'watch' ? `${data.type} ${data.path}` : `session ${data.state}`;
  });
}
const addWatch = (body: object, who = s) => call(t, 'POST', `/v1/sessions/${who.id}/watches`, { body, headers: as(who) });
const removeWatches = (query: string, who = s) => call(t, 'DELETE', `/v1/sessions/${who.id}/watches?${query}`, { headers: as(who) });

const READS = [
  { name: 'getData', method: 'GET', prefix: '/v1/znodes' },
  { name: 'exists (HEAD)', method: 'HEAD', prefix: '/v1/znodes' },
  { name: 'exists (stat)', method: 'GET', prefix: '/v1/stat' },
  { name: 'getChildren', method: 'GET', prefix: '/v1/children' },
] as const;

describe('?watch=true', () => {
  it.each(READS)('$name with watch=true and no session is 400 BADARGUMENTS', async ({ method, prefix }) => {
    await create('/a');
    const res = await call(t, method, `${prefix}/a?watch=true`);
    expect(res.status).toBe(400);
    if (method !== 'HEAD') expect(res.body.code).toBe('BADARGUMENTS');
  });

  it('queues a data watch\'s event on the session\'s stream before the write answers', async () => {
    await create('/a');
    expect((await call(t, 'GET', '/v1/znodes/a?watch=true', { headers: as(s) })).status).toBe(200);
    const written = await put('/a');
    expect(await queued(t, s)).toEqual(['NodeDataChanged /a']);
    const [event] = await sessionOutbox(t, Number(s.id));
    expect(event!.id).toBe(`${written.body.stat.mzxid}-0`);
    expect(JSON.parse(event!.data)).toEqual({ type: 'NodeDataChanged', path: '/a', zxid: written.body.stat.mzxid });
  });

  it('sets a watch with exists on a missing node (HEAD or stat) that fires NodeCreated', async () => {
    expect((await call(t, 'HEAD', '/v1/znodes/x?watch=true', { headers: as(s) })).status).toBe(404);
    expect((await call(t, 'GET', '/v1/stat/y?watch=true', { headers: as(s) })).status).toBe(404);
    expect(await watchCount()).toBe(2);
    await create('/x');
    await create('/y');
    expect(await queued(t, s)).toEqual(['NodeCreated /x', 'NodeCreated /y']);
  });

  it('sets no watch with getData or getChildren on a missing node', async () => {
    expect((await call(t, 'GET', '/v1/znodes/x?watch=true', { headers: as(s) })).status).toBe(404);
    expect((await call(t, 'GET', '/v1/children/x?watch=true', { headers: as(s) })).status).toBe(404);
    expect(await watchCount()).toBe(0);
    await create('/x');
    await create('/x/c');
    expect(await queued(t, s)).toEqual([]);
  });

  it('fires a child watch once on create, and not for a read without watch=true', async () => {
    await create('/p');
    await call(t, 'GET', '/v1/children/p?watch=true', { headers: as(s) });
    await call(t, 'GET', '/v1/znodes/p', { headers: as(s) });
    await create('/p/a');
    await create('/p/b');
    await put('/p');
    expect(await queued(t, s)).toEqual(['NodeChildrenChanged /p']);
  });

  it('delivers the node\'s own event before its parent\'s NodeChildrenChanged', async () => {
    await create('/p');
    await call(t, 'GET', '/v1/stat/p/c?watch=true', { headers: as(s) });
    await call(t, 'GET', '/v1/children/p?watch=true', { headers: as(s) });
    await create('/p/c');
    expect(await queued(t, s)).toEqual(['NodeCreated /p/c', 'NodeChildrenChanged /p']);
  });
});

describe('POST /v1/sessions/{id}/watches (addWatch)', () => {
  it('adds a persistent watch (201) that fires every change on its path and stays', async () => {
    const res = await addWatch({ path: '/p', mode: 'persistent' });
    expect(res.status).toBe(201);
    await create('/p');
    await create('/p/c');
    await put('/p');
    await put('/p/c');
    expect(await queued(t, s)).toEqual(['NodeCreated /p', 'NodeChildrenChanged /p', 'NodeDataChanged /p']);
    expect(await watchCount()).toBe(1);
  });

  it('adds a recursive watch that fires for descendants but not NodeChildrenChanged', async () => {
    expect((await addWatch({ path: '/p', mode: 'persistent_recursive' })).status).toBe(201);
    await create('/p');
    await create('/p/c');
    await put('/p/c');
    expect(await queued(t, s)).toEqual(['NodeCreated /p', 'NodeCreated /p/c', 'NodeDataChanged /p/c']);
  });

  it.each([
    [{ path: '/p', mode: 'sticky' }], [{ mode: 'persistent' }], [{ path: 'p', mode: 'persistent' }], [{ path: '/p/', mode: 'persistent' }],
  ])('refuses %j with 400 BADARGUMENTS', async (body) => {
    const res = await addWatch(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BADARGUMENTS');
  });
});

describe('DELETE /v1/sessions/{id}/watches (removeWatches)', () => {
  it('removes a data watch (204), announces DataWatchRemoved, then answers 404 NOWATCHER', async () => {
    await create('/a');
    await call(t, 'GET', '/v1/znodes/a?watch=true', { headers: as(s) });
    expect((await removeWatches('path=/a&type=data')).status).toBe(204);
    const again = await removeWatches('path=/a&type=data');
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ code: 'NOWATCHER', zkCode: -121 });
    await put('/a');
    expect(await queued(t, s)).toEqual(['DataWatchRemoved /a']);
  });

  it('removes child watches with type=children and both kinds with type=any', async () => {
    await create('/a');
    await call(t, 'GET', '/v1/children/a?watch=true', { headers: as(s) });
    expect((await removeWatches('path=/a&type=children')).status).toBe(204);
    await call(t, 'GET', '/v1/children/a?watch=true', { headers: as(s) });
    await call(t, 'GET', '/v1/znodes/a?watch=true', { headers: as(s) });
    expect((await removeWatches('path=/a&type=any')).status).toBe(204);
    expect(await watchCount()).toBe(0);
    expect(await queued(t, s)).toEqual(['ChildWatchRemoved /a', 'DataWatchRemoved /a', 'ChildWatchRemoved /a']);
  });

  it('answers 404 NOWATCHER for another kind, path or session, and keeps the watch', async () => {
    const other = await openSession(t, 2000);
    await create('/a');
    await call(t, 'GET', '/v1/znodes/a?watch=true', { headers: as(s) });
    expect((await removeWatches('path=/a&type=children')).status).toBe(404);
    expect((await removeWatches('path=/b&type=any')).status).toBe(404);
    expect((await removeWatches('path=/a&type=any', other)).status).toBe(404);
    await put('/a');
    expect(await queued(t, s)).toEqual(['NodeDataChanged /a']);
  });

  it('removes a persistent watch', async () => {
    await addWatch({ path: '/a', mode: 'persistent' });
    expect((await removeWatches('path=/a&type=any')).status).toBe(204);
    await create('/a');
    expect(await queued(t, s)).toEqual(['DataWatchRemoved /a']);
  });

  it.each(['path=/a&type=everything', 'type=any', 'path=a&type=any'])('refuses %s with 400 BADARGUMENTS', async (query) => {
    const res = await removeWatches(query);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BADARGUMENTS');
  });
});

describe('watch limit and session end', () => {
  it('refuses a watch past maxWatchesPerSession with 429 THROTTLEDOP; a duplicate is not counted', async () => {
    const small = startTestNode({ tickTimeMs: 100, maxWatchesPerSession: 2 });
    try {
      const w = await openSession(small, 2000);
      await call(small, 'POST', '/v1/znodes/a', { body: '' });
      expect((await call(small, 'GET', '/v1/znodes/a?watch=true', { headers: as(w) })).status).toBe(200);
      expect((await call(small, 'POST', `/v1/sessions/${w.id}/watches`, { headers: as(w), body: { path: '/b', mode: 'persistent' } })).status).toBe(201);
      expect((await call(small, 'GET', '/v1/znodes/a?watch=true', { headers: as(w) })).status).toBe(200);
      const refused = [
        await call(small, 'GET', '/v1/children/a?watch=true', { headers: as(w) }),
        await call(small, 'GET', '/v1/stat/c?watch=true', { headers: as(w) }),
        await call(small, 'POST', `/v1/sessions/${w.id}/watches`, { headers: as(w), body: { path: '/c', mode: 'persistent' } }),
      ];
      for (const res of refused) {
        expect(res.status).toBe(429);
        expect(res.body.code).toBe('THROTTLEDOP');
      }
      const other = await openSession(small, 2000);
      expect((await call(small, 'GET', '/v1/children/a?watch=true', { headers: as(other) })).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('fires other sessions\' watches on the ephemerals of a session that expires, all at one zxid', async () => {
    const doomed = await openSession(t, 200);
    await create('/dir');
    await call(t, 'POST', '/v1/znodes/dir/a?mode=ephemeral', { body: '', headers: as(doomed) });
    await call(t, 'POST', '/v1/znodes/dir/b?mode=ephemeral', { body: '', headers: as(doomed) });
    await call(t, 'GET', '/v1/znodes/dir/a?watch=true', { headers: as(s) });
    await call(t, 'GET', '/v1/stat/dir/b?watch=true', { headers: as(s) });
    await waitFor(async () => {
      await call(t, 'POST', `/v1/sessions/${s.id}/keepalive`, { headers: as(s) });
      return (await queued(t, s)).length >= 2;
    }, { timeoutMs: expiryBoundMs, what: 'the expiry\'s events' });
    expect((await queued(t, s)).sort()).toEqual(['NodeDeleted /dir/a', 'NodeDeleted /dir/b']);
    const events = await sessionOutbox(t, Number(s.id));
    expect(events[0]!.zxid).toBe(events[1]!.zxid);
    expect((await call(t, 'GET', '/v1/children/dir')).body.children).toEqual([]);
  });

  it('drops the session\'s watches when it closes', async () => {
    await create('/a');
    await call(t, 'GET', '/v1/znodes/a?watch=true', { headers: as(s) });
    await addWatch({ path: '/', mode: 'persistent_recursive' });
    expect(await watchCount()).toBe(2);
    expect((await call(t, 'DELETE', `/v1/sessions/${s.id}`, { headers: as(s) })).status).toBe(204);
    expect(await watchCount()).toBe(0);
    await put('/a');
    expect(await queued(t, s)).toEqual(['session closed']);
  });
});

describe('getEphemerals', () => {
  it('lists the session\'s ephemeral paths, sorted, optionally under a string prefix', async () => {
    const t2 = startTestNode();
    try {
      const open = await t2.request('POST', '/v1/sessions', { body: { timeoutMs: 4000 } });
      const { id, token } = open.body as { id: string; token: string };
      const headers = { 'zk-session-id': id, 'zk-session-token': token };
      await t2.request('POST', '/v1/znodes/app', { body: '' });
      for (const path of ['/app/b', '/app/a', '/apple', '/other']) {
        expect((await t2.request('POST', `/v1/znodes${path}?mode=ephemeral`, { body: '', headers })).status).toBe(201);
      }
      await t2.request('POST', '/v1/znodes/app/p', { body: '' });
      const all = await t2.request('GET', `/v1/sessions/${id}/ephemerals`, { headers });
      expect(all.body).toEqual({ paths: ['/app/a', '/app/b', '/apple', '/other'] });
      const under = await t2.request('GET', `/v1/sessions/${id}/ephemerals?prefix=/app`, { headers });
      expect(under.body).toEqual({ paths: ['/app/a', '/app/b', '/apple'] });
      expect((await t2.request('GET', `/v1/sessions/${id}/ephemerals`, { headers: { 'zk-session-token': 'x' } })).status).toBe(401);
      expect((await t2.request('GET', `/v1/sessions/${id}/ephemerals?prefix=app`, { headers })).status).toBe(400);
    } finally {
      await t2.close();
    }
  });
});
