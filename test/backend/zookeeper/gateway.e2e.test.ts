/**
 * Gateways in front of a real ZooKeeper 3.8 (one server on loopback): two gateways over HTTP
 * (startGateway, real sockets), sessions that are ZooKeeper sessions, tokens that re-attach
 * through the other gateway and are refused when altered, watches delivered over SSE with the
 * ensemble's zxids, the session-less stream sharing one ZooKeeper watch per path per gateway, and
 * an expiry by the ensemble reported as one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { waitFor } from '../../support/corral-process.ts';
import { GATEWAY_KEY, wipe } from './gateway-test-node.ts';
import { fetchJson } from '../../support/fetch-json.ts';

interface Answer { status: number; headers: Headers; body: any }

const call = (base: string, method: string, path: string, options: { body?: string | object; headers?: Record<string, string> } = {}): Promise<Answer> =>
  fetchJson(method, base + path, options);

describe('ZooKeeper gateways', () => {
  let zk: ZooKeeperHandle;
  let a: RunningGateway;
  let b: RunningGateway;
  const streams: SseStream[] = [];

  const open = async (base: string, path: string, headers: Record<string, string> = {}) => {
    const stream = await SseStream.open(base + path, { headers, controller: new AbortController() });
    streams.push(stream);
    return stream;
  };

  const session = async (base: string, timeoutMs = 10_000) => {
    const opened = await call(base, 'POST', '/v1/sessions', { body: { timeoutMs } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const { id, token } = opened.body as { id: string; token: string };
    return { id, token, headers: { 'zk-session-id': id, 'zk-session-token': token } };
  };

  beforeAll(async () => {
    zk = await startZooKeeper();
    const options = { host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY };
    a = await startGateway(options);
    b = await startGateway(options);
  });

  afterAll(async () => {
    for (const s of streams) s.abort();
    await a?.close();
    await b?.close();
    if (zk) await wipe(zk.port);
    await zk?.stop();
  });

  it('serves the ensemble\'s znodes through every gateway, with the ensemble\'s zxids', async () => {
    const created = await call(a.url, 'POST', '/v1/znodes/shared', { body: 'one' });
    expect(created.status).toBe(201);
    expect(created.headers.get('zk-zxid')).toBe(created.body.stat.czxid);
    const read = await call(b.url, 'GET', '/v1/znodes/shared');
    expect(read.body.data).toBe('one');
    expect(read.body.stat.czxid).toBe(created.body.stat.czxid);
    expect(BigInt(read.headers.get('zk-zxid')!)).toBeGreaterThanOrEqual(BigInt(created.body.stat.czxid));
    const linearizable = await call(b.url, 'GET', '/v1/znodes/shared?consistency=linearizable');
    expect(linearizable.status).toBe(200);
    const cluster = await call(a.url, 'GET', '/v1/cluster');
    expect(cluster.body).toMatchObject({ role: 'gateway', members: [{ address: `127.0.0.1:${zk.port}`, role: 'zookeeper', connected: true }] });
  });

  it('waits for Zk-Min-Zxid from another gateway\'s write, and refuses a zxid the ensemble has not reached', async () => {
    const written = await call(a.url, 'POST', '/v1/znodes/min-zxid', { body: 'x' });
    const zxid = written.headers.get('zk-zxid')!;
    const read = await call(b.url, 'GET', '/v1/znodes/min-zxid', { headers: { 'zk-min-zxid': zxid } });
    expect(read.status).toBe(200);
    expect(BigInt(read.headers.get('zk-zxid')!)).toBeGreaterThanOrEqual(BigInt(zxid));
    const ahead = await call(b.url, 'GET', '/v1/znodes/min-zxid', { headers: { 'zk-min-zxid': String(BigInt(zxid) + 1_000_000n) } });
    expect(ahead.body).toMatchObject({ code: 'OPERATIONTIMEOUT' });
  });

  it('makes a Corral session a ZooKeeper session: ephemerals owned by it, deleted when it closes', async () => {
    const s = await session(a.url);
    const eph = await call(a.url, 'POST', '/v1/znodes/worker?mode=ephemeral', { body: '', headers: s.headers });
    expect(eph.status, JSON.stringify(eph.body)).toBe(201);
    expect(eph.body.stat.ephemeralOwner).toBe(s.id);
    expect((await call(a.url, 'GET', `/v1/sessions/${s.id}/ephemerals`, { headers: s.headers })).body.paths).toEqual(['/worker']);
    const closed = await call(a.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
    expect(closed.status).toBe(204);
    expect((await call(b.url, 'GET', '/v1/znodes/worker')).status).toBe(404);
  });

  it('continues a session through another gateway with its token; an altered token is refused', async () => {
    const s = await session(a.url);
    await call(a.url, 'POST', '/v1/znodes/owned-a?mode=ephemeral', { body: '', headers: s.headers });
    const viaB = await call(b.url, 'POST', '/v1/znodes/owned-b?mode=ephemeral', { body: '', headers: s.headers });
    expect(viaB.status, JSON.stringify(viaB.body)).toBe(201);
    expect(viaB.body.stat.ephemeralOwner).toBe(s.id);
    const last = s.token.at(-2) === 'A' ? 'B' : 'A';
    const altered = `${s.token.slice(0, -2)}${last}${s.token.at(-1)}`;
    const refused = await call(b.url, 'POST', '/v1/znodes/intruder?mode=ephemeral', { body: '', headers: { ...s.headers, 'zk-session-token': altered } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect((await call(a.url, 'GET', '/v1/znodes/intruder')).status).toBe(404);
    await call(b.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
    expect((await call(a.url, 'GET', '/v1/znodes/owned-a')).status).toBe(404);
  });

  it('delivers a session\'s one-shot and persistent watches on its stream, dated with the ensemble\'s zxids', async () => {
    const s = await session(a.url);
    await call(a.url, 'POST', '/v1/znodes/watched', { body: 'v0' });
    const stream = await open(a.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token });
    expect(stream.status).toBe(200);
    expect((await call(a.url, 'GET', '/v1/znodes/watched?watch=true', { headers: s.headers })).status).toBe(200);
    expect((await call(a.url, 'POST', `/v1/sessions/${s.id}/watches`, { body: { path: '/watched', mode: 'persistent_recursive' }, headers: s.headers })).status).toBeLessThan(300);
    const set = await call(b.url, 'PUT', '/v1/znodes/watched', { body: 'v1' });
    await stream.until(() => stream.watchEvents().length >= 1, 5000, 'the data change');
    const child = await call(b.url, 'POST', '/v1/znodes/watched/kid', { body: '' });
    await stream.until(() => stream.watchEvents().length >= 2, 5000, 'the child create');
    expect(stream.watchEvents()).toEqual(['NodeDataChanged /watched', 'NodeCreated /watched/kid']);
    const [first, second] = stream.events.filter((e) => e.event === 'watch').map((e) => JSON.parse(e.data) as { zxid: string });
    // Dated at or after the change, before the next one: a read at that zxid sees it.
    expect(BigInt(first!.zxid)).toBeGreaterThanOrEqual(BigInt(set.body.stat.mzxid));
    expect(BigInt(first!.zxid)).toBeLessThan(BigInt(child.body.stat.czxid));
    expect(BigInt(second!.zxid)).toBeGreaterThanOrEqual(BigInt(child.body.stat.czxid));
    await call(a.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
    await stream.until(() => stream.events.some((e) => e.event === 'session' && e.data.includes('closed')), 5000, 'the session end');
  });

  it('removes a session\'s watches, announcing it on its stream, and answers NOWATCHER when there is none', async () => {
    const s = await session(a.url);
    await call(a.url, 'POST', '/v1/znodes/unwatched', { body: '' });
    const stream = await open(a.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token });
    await call(a.url, 'GET', '/v1/znodes/unwatched?watch=true', { headers: s.headers });
    await call(a.url, 'GET', '/v1/children/unwatched?watch=true', { headers: s.headers });
    expect((await call(a.url, 'DELETE', '/v1/sessions/' + s.id + '/watches?path=/unwatched&type=any', { headers: s.headers })).status).toBe(204);
    await stream.until(() => stream.watchEvents().length >= 2, 5000, 'the removal events');
    expect(stream.watchEvents()).toEqual(['DataWatchRemoved /unwatched', 'ChildWatchRemoved /unwatched']);
    const again = await call(a.url, 'DELETE', '/v1/sessions/' + s.id + '/watches?path=/unwatched&type=any', { headers: s.headers });
    expect(again.body).toMatchObject({ code: 'NOWATCHER' });
    await call(b.url, 'PUT', '/v1/znodes/unwatched', { body: 'changed' });
    await call(a.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
    await stream.until(() => stream.events.some((e) => e.event === 'session'), 5000, 'the session end');
    expect(stream.watchEvents()).toEqual(['DataWatchRemoved /unwatched', 'ChildWatchRemoved /unwatched']);
  });

  it('serves /v1/watch with one ZooKeeper watch per path for all its subscribers', async () => {
    await call(a.url, 'POST', '/v1/znodes/feed', { body: '' });
    const one = await open(a.url, '/v1/watch/feed?recursive=true');
    const two = await open(a.url, '/v1/watch/feed?recursive=true');
    expect([one.status, two.status]).toEqual([200, 200]);
    await waitFor(() => (a.backend.changes.subscribers === 2 ? true : undefined), { timeoutMs: 5000, what: 'two subscribers' });
    const created = await call(b.url, 'POST', '/v1/znodes/feed/item', { body: 'x' });
    await call(b.url, 'PUT', '/v1/znodes/feed/item', { body: 'y' });
    for (const stream of [one, two]) {
      await stream.until(() => stream.watchEvents().length >= 2, 5000, 'two events');
      expect(stream.watchEvents()).toEqual(['NodeCreated /feed/item', 'NodeDataChanged /feed/item']);
    }
    const firstZxid = (JSON.parse(one.events.find((e) => e.event === 'watch')!.data) as { zxid: string }).zxid;
    expect(BigInt(firstZxid)).toBeGreaterThanOrEqual(BigInt(created.body.stat.czxid));
    expect(a.backend.changes.watchedPaths()).toEqual(['r:/feed']);
  });

  it('continues a session, its one-shot watches and its stream through another gateway when its gateway dies, with no event lost and none repeated', async () => {
    const c = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });
    const s = await session(c.url);
    await call(c.url, 'POST', '/v1/znodes/handover', { body: '' });
    await call(c.url, 'POST', '/v1/znodes/handover/data', { body: 'v0' });
    await call(c.url, 'POST', '/v1/znodes/handover/mine?mode=ephemeral', { body: '', headers: s.headers });
    const first = await open(c.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token });
    await call(c.url, 'GET', '/v1/znodes/handover/data?watch=true', { headers: s.headers });
    await call(c.url, 'GET', '/v1/children/handover?watch=true', { headers: s.headers });
    expect((await call(c.url, 'HEAD', '/v1/znodes/handover/later?watch=true', { headers: s.headers })).status).toBe(404);
    await call(a.url, 'PUT', '/v1/znodes/handover/data', { body: 'v1' });
    await first.until(() => first.watchEvents().length >= 1, 5000, 'the first event');
    const lastId = first.events.filter((e) => e.event === 'watch').at(-1)!.id!;
    // Delivered by the dying gateway, but the client resumes from before it (it never got it).
    await call(a.url, 'POST', '/v1/znodes/handover/one', { body: '' });
    await first.until(() => first.watchEvents().length >= 2, 5000, 'the second event');
    expect(first.watchEvents()).toEqual(['NodeDataChanged /handover/data', 'NodeChildrenChanged /handover']);
    await c.close(); // the gateway goes away; the ZooKeeper session does not
    first.abort();
    // While no gateway holds the session: one watch fires (exists), one fired watch must not fire again.
    await call(a.url, 'POST', '/v1/znodes/handover/later', { body: '' });
    await call(a.url, 'PUT', '/v1/znodes/handover/data', { body: 'v2' });
    const second = await open(b.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token, 'last-event-id': lastId });
    expect(second.status).toBe(200);
    await second.until(() => second.watchEvents().length >= 2, 5000, 'the events the client missed');
    expect((await call(b.url, 'GET', '/v1/znodes/handover/mine')).body.stat.ephemeralOwner).toBe(s.id);
    // A last watch set through the new gateway: every event before its one has arrived by then.
    expect((await call(b.url, 'HEAD', '/v1/znodes/handover/end?watch=true', { headers: s.headers })).status).toBe(404);
    await call(a.url, 'POST', '/v1/znodes/handover/end', { body: '' });
    await second.until(() => second.watchEvents().includes('NodeCreated /handover/end'), 5000, 'the event of the new watch');
    expect(second.watchEvents()).toEqual(['NodeChildrenChanged /handover', 'NodeCreated /handover/later', 'NodeCreated /handover/end']);
    expect(second.events.some((e) => e.event === 'overflow')).toBe(false);
    const ids = second.events.filter((e) => e.event === 'watch').map((e) => e.id!);
    expect(ids[0]).toBe(first.events.filter((e) => e.event === 'watch').at(-1)!.id);
    await call(b.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
  });

  it('tells a moved session holding a persistent watch that it overflowed (ZooKeeper does not replay those), and keeps the watch', async () => {
    const c = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });
    const s = await session(c.url);
    await call(c.url, 'POST', '/v1/znodes/persisted', { body: '' });
    const first = await open(c.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token });
    expect((await call(c.url, 'POST', `/v1/sessions/${s.id}/watches`, { body: { path: '/persisted', mode: 'persistent_recursive' }, headers: s.headers })).status).toBeLessThan(300);
    await call(a.url, 'POST', '/v1/znodes/persisted/one', { body: '' });
    await first.until(() => first.watchEvents().length >= 1, 5000, 'the first event');
    const lastId = first.events.filter((e) => e.event === 'watch').at(-1)!.id!;
    await c.close();
    first.abort();
    await call(a.url, 'POST', '/v1/znodes/persisted/meanwhile', { body: '' });
    const second = await open(b.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token, 'last-event-id': lastId });
    await second.until(() => second.events.some((e) => e.event === 'overflow'), 5000, 'the overflow notice');
    await call(a.url, 'POST', '/v1/znodes/persisted/after', { body: '' });
    await second.until(() => second.watchEvents().includes('NodeCreated /persisted/after'), 5000, 'the event after the takeover');
    await call(b.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
  });

  it('refuses a watch past --max-watches-per-session with 429 THROTTLEDOP; a watch set again is not counted', async () => {
    const small = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY, maxWatchesPerSession: 2 });
    try {
      const s = await session(small.url);
      await call(small.url, 'POST', '/v1/znodes/limited', { body: '' });
      expect((await call(small.url, 'GET', '/v1/znodes/limited?watch=true', { headers: s.headers })).status).toBe(200);
      expect((await call(small.url, 'POST', `/v1/sessions/${s.id}/watches`, { body: { path: '/limited', mode: 'persistent' }, headers: s.headers })).status).toBe(201);
      expect((await call(small.url, 'GET', '/v1/znodes/limited?watch=true', { headers: s.headers })).status).toBe(200);
      const refused = await call(small.url, 'GET', '/v1/children/limited?watch=true', { headers: s.headers });
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('THROTTLEDOP');
      await call(small.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
    } finally {
      await small.close();
    }
  });

  it('holds --max-sessions when many sessions are opened at once', async () => {
    const small = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY, maxSessions: 2 });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => call(small.url, 'POST', '/v1/sessions', { body: { timeoutMs: 10_000 } })));
      expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 429, 429, 429, 429]);
      for (const opened of answers.filter((a) => a.status === 201)) {
        await call(small.url, 'DELETE', `/v1/sessions/${opened.body.id}`, { headers: { 'zk-session-token': opened.body.token } });
      }
    } finally {
      await small.close();
    }
  });

  it('acts with its own ZooKeeper identity (--zookeeper-auth) on its shared and session connections', async () => {
    const admin = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000 });
    if ('code' in admin) throw new Error(admin.message);
    await admin.addAuth('digest', 'gateway:pw');
    await admin.create({ path: '/locked', data: new TextEncoder().encode('s'), acl: [{ perms: 31, scheme: 'auth', id: '' }], mode: 'persistent' });
    await admin.close();
    const trusted = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY, zookeeperAuth: 'gateway:pw' });
    try {
      expect((await call(a.url, 'GET', '/v1/znodes/locked')).body).toMatchObject({ code: 'NOAUTH' });
      expect((await call(trusted.url, 'GET', '/v1/znodes/locked')).body.data).toBe('s');
      const s = await session(trusted.url);
      expect((await call(trusted.url, 'POST', '/v1/znodes/locked/mine?mode=ephemeral', { body: '', headers: s.headers })).status).toBe(201);
      await call(trusted.url, 'DELETE', `/v1/sessions/${s.id}`, { headers: { 'zk-session-token': s.token } });
      expect((await call(trusted.url, 'DELETE', '/v1/znodes/locked')).status).toBe(204);
    } finally {
      await trusted.close();
    }
  });

  it('reports a session the ensemble expired as expired', async () => {
    // A gateway that goes away leaves its sessions to expire in the ensemble (tickTime 2 s: 4 s is the least timeout).
    const c = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });
    const s = await session(c.url, 4000);
    await call(c.url, 'POST', '/v1/znodes/short-lived?mode=ephemeral', { body: '', headers: s.headers });
    await c.close();
    await waitFor(async () => ((await call(a.url, 'GET', '/v1/znodes/short-lived')).status === 404 ? true : undefined), { timeoutMs: 15_000, what: 'the ensemble to expire the session' });
    const stream = await open(b.url, `/v1/sessions/${s.id}/events`, { 'zk-session-token': s.token });
    await stream.until(() => stream.events.some((e) => e.event === 'session' && e.data.includes('expired')) || stream.status !== 200, 10_000, 'the expiry');
    if (stream.status === 200) expect(stream.events.some((e) => e.event === 'session' && e.data.includes('expired'))).toBe(true);
    else expect(stream.errorBody).toMatchObject({ code: 'SESSIONEXPIRED' });
  });
});
