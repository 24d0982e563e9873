// The TypeScript ZooKeeper client against a real ZooKeeper 3.8 (Debian's package, one server on
// loopback in a temp dir): every op it sends, watches, re-attach and reconnect. Fails (never
// skips) where ZooKeeper is not installed: .ci/install-zookeeper.sh brings it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZkError } from '../../src/core/errors.ts';
import { OPEN_ACL_UNSAFE, ZooKeeperClient, type ClientOptions, type WatcherEvent } from '../../src/zookeeper-client/index.ts';
import { waitFor } from '../support/corral-process.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../oracle/zookeeper-server.ts';
import { startTcpCutter, type TcpCutter } from './tcp-cutter.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function ok<T>(value: T | ZkError): T {
  if (typeof value === 'object' && value !== null && 'code' in value && 'message' in value) throw new Error(`unexpected ${value.code}: ${value.message}`);
  return value as T;
}

function codeOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && 'code' in value ? (value as ZkError).code : undefined;
}

describe('ZooKeeperClient against a real ZooKeeper', () => {
  let zk: ZooKeeperHandle;
  const clients: ZooKeeperClient[] = [];
  let cutter: TcpCutter | undefined;

  const connect = async (extra: Partial<ClientOptions> = {}, onWatch?: (e: WatcherEvent, zxid: bigint) => void) => {
    const client = ok(await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000, ...extra }, { watch: onWatch }));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    zk = await startZooKeeper({ systemProperties: { 'znode.container.checkIntervalMs': '100' } });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await cutter?.close();
    await zk?.stop();
  });

  it('creates, reads, sets and deletes a node with Stats and zxids', async () => {
    const c = await connect();
    const created = ok(await c.create({ path: '/crud', data: bytes('v1'), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    expect(created.path).toBe('/crud');
    expect(created.stat.czxid).toBe(created.zxid);
    const read = ok(await c.getData('/crud'));
    expect(text(read.data)).toBe('v1');
    expect(read.stat.version).toBe(0);
    const set = ok(await c.setData('/crud', bytes('v2'), 0));
    expect(set.stat.version).toBe(1);
    expect(codeOf(await c.setData('/crud', bytes('v3'), 0))).toBe('BADVERSION');
    expect(codeOf(await c.create({ path: '/crud', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }))).toBe('NODEEXISTS');
    expect(codeOf(await c.delete('/crud', 0))).toBe('BADVERSION');
    ok(await c.delete('/crud', 1));
    expect(codeOf(await c.getData('/crud'))).toBe('NONODE');
    expect(ok(await c.exists('/crud')).stat).toBeNull();
  });

  it('creates every mode the server allows: sequential, ephemeral, container and TTL', async () => {
    const c = await connect();
    ok(await c.create({ path: '/modes', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    const seq = ok(await c.create({ path: '/modes/s-', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent_sequential' }));
    expect(seq.path).toBe('/modes/s-0000000000');
    const eph = ok(await c.create({ path: '/modes/e', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'ephemeral' }));
    expect(eph.stat.ephemeralOwner).toBe(c.session.sessionId);
    ok(await c.create({ path: '/modes/es-', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'ephemeral_sequential' }));
    ok(await c.create({ path: '/modes/c', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'container' }));
    const ttl = ok(await c.create({ path: '/modes/t', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent_with_ttl', ttlMs: 60_000 }));
    expect(ttl.stat.ephemeralOwner).toBe(0n); // the ttl lives in the server's own record, not the Stat a client sees
    ok(await c.create({ path: '/modes/ts-', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent_sequential_with_ttl', ttlMs: 60_000 }));
    const children = ok(await c.getChildren('/modes'));
    expect(children.children.sort()).toEqual(['c', 'e', 'es-0000000002', 's-0000000000', 't', 'ts-0000000005']);
    expect(children.stat.numChildren).toBe(6);
    // The container with no child is reaped by the server's ContainerManager (interval 100 ms here).
    ok(await c.create({ path: '/modes/c/x', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    ok(await c.delete('/modes/c/x', -1));
    await waitFor(async () => (ok(await c.exists('/modes/c')).stat === null ? true : undefined), { timeoutMs: 10_000, what: 'the container reaped' });
  });

  it('applies a multi all-or-nothing and sends version 0 as 0', async () => {
    const c = await connect();
    ok(await c.create({ path: '/multi', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    const failed = ok(await c.multi([
      { type: 'create', path: '/multi/a', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' },
      { type: 'check', path: '/multi', version: 5 },
    ]));
    expect(failed.results.map((r) => (r.type === 'error' ? r.err : r.type))).toEqual([0, -103]);
    expect(ok(await c.exists('/multi/a')).stat).toBeNull();
    const done = ok(await c.multi([
      { type: 'check', path: '/multi', version: 0 },
      { type: 'create', path: '/multi/a', data: bytes('x'), acl: OPEN_ACL_UNSAFE, mode: 'persistent' },
      { type: 'setData', path: '/multi/a', data: bytes('y'), version: 0 },
      { type: 'delete', path: '/multi/a', version: 1 },
    ]));
    expect(done.results.map((r) => r.type)).toEqual(['check', 'create', 'setData', 'delete']);
    const read = ok(await c.multiRead([{ type: 'getData', path: '/multi' }, { type: 'getChildren', path: '/multi' }, { type: 'getData', path: '/nope' }]));
    expect(read.results.map((r) => r.type)).toEqual(['getData', 'getChildren', 'error']);
  });

  it('syncs, and sets and reads ACLs', async () => {
    const c = await connect();
    ok(await c.sync('/'));
    ok(await c.create({ path: '/acl', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    const set = ok(await c.setACL('/acl', [{ perms: 1, scheme: 'world', id: 'anyone' }], 0));
    expect(set.stat.aversion).toBe(1);
    expect(ok(await c.getACL('/acl')).acl).toEqual([{ perms: 1, scheme: 'world', id: 'anyone' }]);
    expect(codeOf(await c.setData('/acl', bytes('no'), -1))).toBe('NOAUTH');
  });

  it('authenticates with digest and is refused without it', async () => {
    const alice = await connect();
    ok(await alice.addAuth('digest', 'alice:secret'));
    ok(await alice.create({ path: '/private', data: bytes('s'), acl: [{ perms: 31, scheme: 'auth', id: '' }], mode: 'persistent' }));
    expect(text(ok(await alice.getData('/private')).data)).toBe('s');
    const other = await connect();
    expect(codeOf(await other.getData('/private'))).toBe('NOAUTH');
  });

  it('fires one-shot data, exist and child watches once', async () => {
    const events: string[] = [];
    const c = await connect({}, (e) => events.push(`${e.type} ${e.path}`));
    const writer = await connect();
    ok(await c.exists('/w', true));
    ok(await writer.create({ path: '/w', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    ok(await c.getData('/w', true));
    ok(await c.getChildren('/w', true));
    ok(await writer.setData('/w', bytes('1'), -1));
    ok(await writer.setData('/w', bytes('2'), -1));
    ok(await writer.create({ path: '/w/k', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    await waitFor(() => (events.length >= 3 ? true : undefined), { timeoutMs: 5000, what: 'three events' });
    ok(await c.sync('/')); // any later notification would have come before this reply
    expect(events).toEqual(['NodeCreated /w', 'NodeDataChanged /w', 'NodeChildrenChanged /w']);
  });

  it('keeps persistent and recursive watches, and removes and checks them', async () => {
    const events: string[] = [];
    const c = await connect({}, (e) => events.push(`${e.type} ${e.path}`));
    ok(await c.create({ path: '/p', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    ok(await c.addWatch('/p', 'persistent_recursive'));
    ok(await c.checkWatches('/p', 'any'));
    ok(await c.create({ path: '/p/a', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    ok(await c.setData('/p/a', bytes('1'), -1));
    ok(await c.setData('/p/a', bytes('2'), -1));
    await waitFor(() => (events.length >= 3 ? true : undefined), { timeoutMs: 5000, what: 'three events' });
    expect(events).toEqual(['NodeCreated /p/a', 'NodeDataChanged /p/a', 'NodeDataChanged /p/a']);
    ok(await c.removeWatches('/p', 'any'));
    expect(codeOf(await c.checkWatches('/p', 'any'))).toBe('NOWATCHER');
    expect(codeOf(await c.removeWatches('/p', 'any'))).toBe('NOWATCHER');
  });

  it('works under a chroot: paths in and out are the chroot\'s', async () => {
    const root = await connect();
    ok(await root.create({ path: '/chroot', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    const events: string[] = [];
    const c = await connect({ chroot: '/chroot' }, (e) => events.push(`${e.type} ${e.path}`));
    ok(await c.exists('/n', true));
    const created = ok(await c.create({ path: '/n', data: bytes('in'), acl: OPEN_ACL_UNSAFE, mode: 'persistent_sequential' }));
    expect(created.path).toBe('/n0000000000');
    expect(text(ok(await root.getData('/chroot/n0000000000')).data)).toBe('in');
    const multi = ok(await c.multi([{ type: 'create', path: '/m', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }]));
    expect(multi.results[0]).toMatchObject({ type: 'create', path: '/m' });
    expect(ok(await c.getChildren('/')).children.sort()).toEqual(['m', 'n0000000000']);
    ok(await root.create({ path: '/chroot/n', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    await waitFor(() => (events.length >= 1 ? true : undefined), { timeoutMs: 5000, what: 'the chrooted event' });
    expect(events).toEqual(['NodeCreated /n']);
  });

  it('takes the zxid of its close as the session\'s last, past the zxid of the ephemerals it ends', async () => {
    const c = await connect();
    const eph = ok(await c.create({ path: '/closing', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'ephemeral' }));
    expect(c.session.lastZxid).toBe(eph.zxid);
    await c.close();
    // closeSession is a transaction: its zxid dates the deletions it made (a gateway's answer carries it).
    expect(c.session.lastZxid).toBeGreaterThan(eph.zxid);
  });

  it('re-attaches another client to a session by id and password; its ephemerals stay', async () => {
    const first = await connect();
    const eph = ok(await first.create({ path: '/handover', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'ephemeral' }));
    first.session.detach();
    const second = await connect({ sessionId: first.session.sessionId, password: first.session.password, lastZxid: first.session.lastZxid });
    expect(second.session.sessionId).toBe(first.session.sessionId);
    expect(ok(await second.exists('/handover')).stat?.ephemeralOwner).toBe(eph.stat.ephemeralOwner);
    await second.close();
    const observer = await connect();
    expect(ok(await observer.exists('/handover')).stat).toBeNull();
    const wrong = await ZooKeeperClient.connect({
      servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000, sessionId: first.session.sessionId, password: new Uint8Array(16),
    });
    expect(codeOf(wrong)).toBe('SESSIONEXPIRED');
  });

  it('reconnects after losing its connection and hears what changed meanwhile (setWatches2)', async () => {
    cutter = await startTcpCutter(zk.port);
    const events: string[] = [];
    const states: string[] = [];
    /** The last state the listener heard when each event came: `connected` comes before the events a reconnect fires. */
    const stateAtEvents: Array<string | undefined> = [];
    const c = ok(await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: cutter.port }], sessionTimeoutMs: 6000 }, {
      watch: (e) => {
        events.push(`${e.type} ${e.path}`);
        stateAtEvents.push(states.at(-1));
      },
      state: (s) => states.push(s),
    }));
    clients.push(c);
    ok(await c.create({ path: '/rc', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    ok(await c.getData('/rc', true));
    ok(await c.addWatch('/rc', 'persistent'));
    const writer = await connect();
    cutter.cut();
    // Written while c is away: the reconnect's setWatches2 (relative to c's last zxid) fires the
    // one-shot data watch. ZooKeeper re-adds a persistent watch without comparing zxids
    // (DataTree.setWatches), so the persistent one does not hear of it: only of later changes.
    ok(await writer.setData('/rc', bytes('while away'), -1));
    await waitFor(() => (events.length >= 1 ? true : undefined), { timeoutMs: 10_000, what: 'the missed change after reconnect' });
    expect(states).toContain('disconnected');
    expect(stateAtEvents).toEqual(['connected']);
    expect(c.session.state).toBe('connected');
    expect(text(ok(await c.getData('/rc')).data)).toBe('while away');
    ok(await writer.setData('/rc', bytes('after'), -1));
    await waitFor(() => (events.length >= 2 ? true : undefined), { timeoutMs: 10_000, what: 'the persistent watch after reconnect' });
    ok(await c.sync('/'));
    expect(events).toEqual(['NodeDataChanged /rc', 'NodeDataChanged /rc']);
  });

  // A setData of /big with n data bytes is n + 24 bytes on the wire after the length prefix
  // (xid, op, the path, the data's length, the version). ZooKeeper 3.8 takes a packet of
  // jute.maxbuffer (1048575 by default) bytes and closes the connection of one a byte larger.
  it('sends no request over jute.maxbuffer: it answers it BADARGUMENTS (tooLarge) and its connection goes on', async () => {
    const states: string[] = [];
    const c = ok(await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000 }, { state: (st) => states.push(st) }));
    clients.push(c);
    ok(await c.create({ path: '/big', data: bytes(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
    const ofSize = (size: number) => new Uint8Array(size - 24);
    ok(await c.setData('/big', ofSize(1048575), -1));
    const refused = await c.setData('/big', ofSize(1048576), -1);
    expect(refused).toMatchObject({ code: 'BADARGUMENTS', tooLarge: true });
    expect(ok(await c.exists('/big')).stat?.dataLength).toBe(1048575 - 24);
    expect(states).not.toContain('disconnected');
    expect(c.session.state).toBe('connected');
    // What the bound spares the connection: told the ensemble takes more, the client sends it, and
    // ZooKeeper closes the connection.
    const trusting = ok(await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000, maxRequestBytes: 2 * 1048576 }));
    clients.push(trusting);
    expect(codeOf(await trusting.setData('/big', ofSize(1048576), -1))).toBe('CONNECTIONLOSS');
  });

  it('answers CONNECTIONLOSS, not a hang, when no server answers', async () => {
    const closed = await startTcpCutter(1); // forwards to a port nobody listens on
    const answer = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: closed.port }], sessionTimeoutMs: 4000, connectTimeoutMs: 1000 });
    await closed.close();
    expect(codeOf(answer)).toBe('CONNECTIONLOSS');
  });
});
