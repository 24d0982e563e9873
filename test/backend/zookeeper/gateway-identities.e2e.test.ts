/**
 * Callers' identities reach a real ZooKeeper 3.8 as their own: a Basic caller's requests go over
 * a connection that authenticated with its digest credential (session-less: a pooled one; for a
 * session: the session's, also after a re-attach through another gateway), so the ensemble's ACLs
 * tell callers apart, and getACL/setACL through the gateway are ZooKeeper's. The pool of
 * session-less connections stays bounded, refuses rather than mixing identities, and closes idle ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { ZooKeeperBackend } from '../../../src/backend/zookeeper/zookeeper-backend.ts';
import { Authenticator } from '../../../src/auth/authenticator.ts';
import { digestOf } from '../../../src/auth/digest.ts';
import type { Caller } from '../../../src/backend/backend.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { waitFor } from '../../support/corral-process.ts';
import { loadRecord, RECORD_ROOT, recordPathOf } from '../../../src/backend/zookeeper/record-store.ts';
import { WatchRecord } from '../../../src/backend/zookeeper/watch-record.ts';
import { GATEWAY_KEY, wipe } from './gateway-test-node.ts';
import { fetchJson } from '../../support/fetch-json.ts';

interface Answer { status: number; headers: Headers; body: any }

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const ALICE = basic('alice', 'alice-pw');
const BOB = basic('bob', 'bob-pw');
const ALICE_ID = digestOf('alice', 'alice-pw');
const BOB_ID = digestOf('bob', 'bob-pw');

const call = (base: string, method: string, path: string, options: { body?: string | object; headers?: Record<string, string> } = {}): Promise<Answer> =>
  fetchJson(method, base + path, options);

describe('ZooKeeper gateway identities', () => {
  let zk: ZooKeeperHandle;
  let a: RunningGateway;
  let b: RunningGateway;
  /** A plain ZooKeeper client as alice: what the ensemble itself holds. */
  let direct: ZooKeeperClient;

  beforeAll(async () => {
    zk = await startZooKeeper();
    const options = { host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY };
    a = await startGateway(options);
    b = await startGateway(options);
    const client = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 10_000, auth: [{ scheme: 'digest', credential: Buffer.from('alice:alice-pw') }] });
    if ('code' in client) throw new Error(client.message);
    direct = client;
  }, 90_000);

  afterAll(async () => {
    await direct?.close();
    await a?.close();
    await b?.close();
    if (zk) await wipe(zk.port);
    await zk?.stop();
  });

  it('refuses a node created by one Basic user with auth::cdrwa to another user and to anonymous callers, and serves it to its owner', async () => {
    const created = await call(a.url, 'POST', '/v1/znodes/alice-only', { body: 'secret', headers: { ...ALICE, 'zk-acl': 'auth::cdrwa' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The ensemble holds alice's digest identity as the ACL (not the gateway's, not world).
    const acl = await direct.getACL('/alice-only');
    expect('code' in acl ? acl : acl.acl).toEqual([{ perms: 31, scheme: 'digest', id: ALICE_ID }]);

    const byBob = await call(b.url, 'GET', '/v1/znodes/alice-only', { headers: BOB });
    expect(byBob.status).toBe(403);
    expect(byBob.body.code).toBe('NOAUTH');
    expect((await call(a.url, 'GET', '/v1/znodes/alice-only')).status).toBe(403);
    expect((await call(a.url, 'PUT', '/v1/znodes/alice-only', { body: 'bob was here', headers: BOB })).status).toBe(403);
    const byAlice = await call(b.url, 'GET', '/v1/znodes/alice-only', { headers: ALICE });
    expect(byAlice.status).toBe(200);
    expect(byAlice.body.data).toBe('secret');
    // A read-only multi (one multiRead over the caller's pooled connection) is checked per op the same way.
    const ops = { ops: [{ op: 'getData', path: '/alice-only' }] };
    const multiByBob = await call(a.url, 'POST', '/v1/multi', { body: ops, headers: BOB });
    expect(JSON.stringify(multiByBob.body)).toContain('NOAUTH');
    const multiByAlice = await call(a.url, 'POST', '/v1/multi', { body: ops, headers: ALICE });
    expect(multiByAlice.body.results[0]).toMatchObject({ op: 'getData', path: '/alice-only', data: 'secret' });
  });

  it('shows ZooKeeper\'s own ACL through getACL and changes it with setACL, as the caller\'s identity', async () => {
    await call(a.url, 'POST', '/v1/znodes/shared-later', { body: 'x', headers: { ...ALICE, 'zk-acl': 'auth::cdrwa' } });
    expect((await call(a.url, 'GET', '/v1/acl/shared-later', { headers: BOB })).status).toBe(403);
    const shown = await call(a.url, 'GET', '/v1/acl/shared-later', { headers: ALICE });
    expect(shown.status).toBe(200);
    expect(shown.body.acl).toEqual([expect.objectContaining({ scheme: 'digest', id: ALICE_ID })]);

    // Bob may not change it (no ADMIN for him in the ensemble); alice grants him READ.
    expect((await call(a.url, 'PUT', '/v1/acl/shared-later', { body: `digest:${BOB_ID}:cdrwa`, headers: BOB })).status).toBe(403);
    const set = await call(b.url, 'PUT', '/v1/acl/shared-later', { body: `digest:${ALICE_ID}:cdrwa,digest:${BOB_ID}:r`, headers: ALICE });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const held = await direct.getACL('/shared-later');
    expect('code' in held ? held : held.acl).toEqual([{ perms: 31, scheme: 'digest', id: ALICE_ID }, { perms: 1, scheme: 'digest', id: BOB_ID }]);
    expect((await call(a.url, 'GET', '/v1/znodes/shared-later', { headers: BOB })).body.data).toBe('x');
    expect((await call(a.url, 'PUT', '/v1/znodes/shared-later', { body: 'y', headers: BOB })).status).toBe(403);
  });

  it('acts for a session as its opener\'s identity, also through a gateway that re-attaches from the token', async () => {
    await call(a.url, 'POST', '/v1/znodes/alice-dir', { body: '', headers: { ...ALICE, 'zk-acl': 'auth::cdrwa' } });
    const opened = await call(a.url, 'POST', '/v1/sessions', { body: { timeoutMs: 10_000 }, headers: ALICE });
    expect(opened.status).toBe(201);
    const session = { ...ALICE, 'zk-session-id': opened.body.id, 'zk-session-token': opened.body.token };
    // Only alice may create under /alice-dir: the session's connection is alice's on both gateways.
    expect((await call(a.url, 'POST', '/v1/znodes/alice-dir/via-a?mode=ephemeral', { body: '', headers: session })).status).toBe(201);
    const viaB = await call(b.url, 'POST', '/v1/znodes/alice-dir/via-b?mode=ephemeral', { body: '', headers: session });
    expect(viaB.status, JSON.stringify(viaB.body)).toBe(201);
    const children = await direct.getChildren('/alice-dir');
    expect('code' in children ? children : children.children.sort()).toEqual(['via-a', 'via-b']);
    // The token does not lend alice's identity to bob.
    const stolen = await call(b.url, 'POST', '/v1/znodes/alice-dir/by-bob', { body: '', headers: { ...session, ...BOB } });
    expect(stolen.status).toBe(403);
    await call(b.url, 'DELETE', `/v1/sessions/${opened.body.id}`, { headers: session });
  });

  describe('watch records under world-creatable parents', () => {
    const open = [{ perms: 31, scheme: 'world', id: 'anyone' }];
    const persistent = async (path: string, data: string) => {
      const made = await direct.create({ path, data: Buffer.from(data), acl: open, mode: 'persistent' });
      if ('code' in made && made.code !== 'NODEEXISTS') throw new Error(made.message);
    };

    it('does not trust a record the session does not own', async () => {
      await persistent(RECORD_ROOT, '');
      await persistent(`${RECORD_ROOT}/watches`, '');
      const forged = new WatchRecord(256);
      forged.fired([{ type: 'NodeDeleted', path: '/forged' }], 1);
      await persistent(recordPathOf(0x1234n), forged.toJson());
      expect(await loadRecord(direct, 0x1234n, 256)).toBeUndefined();
      // Its own ephemeral is read.
      const own = direct.session.sessionId;
      const mine = await direct.create({ path: recordPathOf(own), data: Buffer.from(new WatchRecord(256).toJson()), acl: open, mode: 'ephemeral' });
      expect('code' in mine ? mine : 'made').toBe('made');
      expect(await loadRecord(direct, own, 256)).toBeInstanceOf(WatchRecord);
    });

    it('replaces a node someone else put at its session\'s record path with its own ephemeral', async () => {
      const opened = await call(a.url, 'POST', '/v1/sessions', { body: { timeoutMs: 10_000 }, headers: ALICE });
      const session = { ...ALICE, 'zk-session-id': opened.body.id, 'zk-session-token': opened.body.token };
      await call(a.url, 'POST', '/v1/znodes/marker?mode=ephemeral', { body: '', headers: session });
      const marker = await direct.exists('/marker');
      const owner = 'code' in marker || marker.stat === null ? 0n : marker.stat.ephemeralOwner;
      expect(owner).not.toBe(0n);
      await persistent(RECORD_ROOT, '');
      await persistent(`${RECORD_ROOT}/watches`, '');
      await persistent(recordPathOf(owner), '{"v":0}');
      expect((await call(a.url, 'GET', '/v1/znodes/marker?watch=true', { headers: session })).status).toBe(200);
      const record = await direct.exists(recordPathOf(owner));
      expect('code' in record || record.stat === null ? record : record.stat.ephemeralOwner).toBe(owner);
      await call(a.url, 'DELETE', `/v1/sessions/${opened.body.id}`, { headers: session });
    });
  });

  describe('session-less connections', () => {
    const authenticator = new Authenticator({});
    const callerOf = (headers: { authorization: string }): Caller => {
      const caller = authenticator.authenticate({ authorization: headers.authorization, address: '127.0.0.1' });
      if (caller instanceof Promise || 'code' in caller) throw new Error('not a caller');
      return caller;
    };
    const start = (max: number, idleMs: number) => ZooKeeperBackend.start({
      ensemble: { servers: [{ host: '127.0.0.1', port: zk.port }], chroot: '' }, gatewayKey: GATEWAY_KEY, maxDataBytes: 1 << 20, maxSessions: 10,
      outboxEventsMax: 100, historyEventsMax: 100, minZxidWaitMs: 1000, logger: createLogger('silent'), nowMs: Date.now,
      callerConnectionsMax: max, callerConnectionIdleMs: idleMs,
    }).then((backend) => {
      if ('code' in backend) throw new Error(backend.message);
      return backend;
    });
    const read = (backend: ZooKeeperBackend, caller: Caller) => backend.read({ op: 'getData', path: '/', consistency: 'local', watchSession: 0, caller });

    it('keeps at most the bounded number, least recently used out, and closes idle ones', async () => {
      const backend = await start(2, 400);
      try {
        for (const user of ['u1', 'u2', 'u3', 'u2']) {
          expect('code' in (await read(backend, callerOf(basic(user, 'pw'))))).toBe(false);
          expect(backend.callerConnections).toBeLessThanOrEqual(2);
        }
        expect(backend.callerConnections).toBe(2);
        // Anonymous callers use the gateway's own connection, not the pool.
        await read(backend, ZooKeeperBackend.anonymous);
        expect(backend.callerConnections).toBe(2);
        await waitFor(() => (backend.callerConnections === 0 ? true : undefined), { timeoutMs: 10_000, what: 'idle caller connections closed' });
      } finally {
        await backend.close();
      }
    });

    it('refuses with THROTTLEDOP rather than borrow a busy connection of another identity', async () => {
      const backend = await start(1, 60_000);
      try {
        const first = read(backend, callerOf(basic('v1', 'pw')));
        const second = await read(backend, callerOf(basic('v2', 'pw')));
        expect('code' in second && second.code).toBe('THROTTLEDOP');
        expect('code' in (await first)).toBe(false);
        // Once the first is done, its connection gives way to the next credential.
        expect('code' in (await read(backend, callerOf(basic('v2', 'pw'))))).toBe(false);
      } finally {
        await backend.close();
      }
    });
  });
});
