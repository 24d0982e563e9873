/**
 * The session-less /v1/watch stream on a gateway tells a subscriber only of nodes it may READ, as
 * the embedded store does (src/http/watch-stream.ts), over a real ZooKeeper 3.8. ZooKeeper checks
 * its persistent watches against the watching connection's identity only (Debian's 3.8.0 carries
 * the CVE-2024-23944 fix): the gateway's, shared by all its streams. So the gateway reads each
 * node's ACL (src/backend/zookeeper/event-acls.ts) and each stream checks it against its caller.
 * Here the gateway reaches ZooKeeper as digest `gw` (--zookeeper-auth); READ and ADMIN for `gw`
 * let it hear of a node and read its whole ACL (digest hashes are shown only with ADMIN).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../src/auth/digest.ts';
import { waitFor } from '../../support/corral-process.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { startServedNode, useEnsemble } from './gateway-test-node.ts';

const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:secret`).toString('base64')}` });
const ALICE = basic('alice');
const ALICE_ONLY = `digest:${digestOf('alice', 'secret')}:cdrwa`;
const GATEWAY_AUTH = 'gw:gateway-secret';
const gatewayMay = (perms: string) => `digest:${digestOf('gw', 'gateway-secret')}:${perms}`;

let zk: ZooKeeperHandle;
let gateway: Awaited<ReturnType<typeof startServedNode>> | undefined;
const streams: SseStream[] = [];
beforeAll(async () => {
  zk = await startZooKeeper();
  useEnsemble(zk.port);
});
afterAll(async () => {
  await zk?.stop();
});
afterEach(async () => {
  for (const s of streams.splice(0)) s.abort();
  await gateway?.close();
  gateway = undefined;
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<number> {
  const res = await fetch(`${gateway!.url}${path}`, { method, headers, body: method === 'GET' || method === 'DELETE' ? undefined : body, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

async function follow(path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = await SseStream.open(`${gateway!.url}/v1/watch${path}`, { headers, controller: new AbortController() });
  streams.push(stream);
  expect(stream.status).toBe(200);
  return stream;
}

/** Writes markers until every stream heard one: the gateway's ZooKeeper watch is set. */
async function untilWatching(all: readonly SseStream[]): Promise<void> {
  let i = 0;
  await waitFor(async () => {
    expect(await call('POST', `/v1/znodes/app/ready-${i++}`)).toBe(201);
    return all.every((s) => s.watchEvents().length > 0);
  }, { timeoutMs: 10_000, what: 'the streams to hear a marker' });
}

/** The events heard after the markers, once `last` has been heard by all. */
async function heardUntil(all: readonly SseStream[], last: string): Promise<string[][]> {
  await Promise.all(all.map((s) => s.until(() => s.watchEvents().includes(last), 10_000, last)));
  return all.map((s) => s.watchEvents().filter((e) => !e.includes('/app/ready-')));
}

describe('/v1/watch on a gateway', () => {
  it('tells a subscriber of changes only to nodes it may read, deletions included', async () => {
    gateway = await startServedNode({ zookeeperAuth: GATEWAY_AUTH });
    expect(await call('POST', '/v1/znodes/app')).toBe(201);
    expect(await call('POST', '/v1/znodes/app/secret', { ...ALICE, 'zk-acl': `${ALICE_ONLY},${gatewayMay('ra')}` })).toBe(201);
    expect(await call('POST', '/v1/znodes/app/public')).toBe(201);
    const [anonymous, bob, alice] = [await follow('/app?recursive=true'), await follow('/app?recursive=true', basic('bob')), await follow('/app?recursive=true', ALICE)];
    await untilWatching([anonymous!, bob!, alice!]);
    expect(await call('PUT', '/v1/znodes/app/secret', ALICE, 'new')).toBe(200);
    expect(await call('PUT', '/v1/znodes/app/public', {}, 'new')).toBe(200);
    expect(await call('DELETE', '/v1/znodes/app/secret', ALICE)).toBe(204);
    expect(await call('POST', '/v1/znodes/app/end')).toBe(201);
    const [forAnonymous, forBob, forAlice] = await heardUntil([anonymous!, bob!, alice!], 'NodeCreated /app/end');
    // Bob may not read /app/secret. An anonymous caller's reads go as the gateway's identity, but a
    // stream checks the ACL against the caller's own identities (ip:127.0.0.1 only): it hears less.
    expect(forAnonymous).toEqual(['NodeDataChanged /app/public', 'NodeCreated /app/end']);
    expect(forBob).toEqual(['NodeDataChanged /app/public', 'NodeCreated /app/end']);
    expect(forAlice).toEqual(['NodeDataChanged /app/secret', 'NodeDataChanged /app/public', 'NodeDeleted /app/secret', 'NodeCreated /app/end']);
    expect(await call('GET', '/v1/znodes/app/secret', ALICE)).toBe(404);
  });

  it('tells a subscriber to read state again (reset), not of the deletion, when a node is deleted before the gateway ever read its ACL', async () => {
    gateway = await startServedNode({ zookeeperAuth: GATEWAY_AUTH });
    expect(await call('POST', '/v1/znodes/app')).toBe(201);
    expect(await call('POST', '/v1/znodes/app/old')).toBe(201);
    const stream = await follow('/app?recursive=true');
    await untilWatching([stream]);
    expect(await call('DELETE', '/v1/znodes/app/old')).toBe(204);
    await stream.until(() => stream.events.some((e) => e.event === 'reset'), 10_000, 'a reset');
    expect(await call('POST', '/v1/znodes/app/end')).toBe(201);
    const [heard] = await heardUntil([stream], 'NodeCreated /app/end');
    expect(heard).toEqual(['NodeCreated /app/end']);
    expect(JSON.parse(stream.events.find((e) => e.event === 'reset')!.data)).toMatchObject({ reason: expect.stringContaining('read state again') });
  });

  it('tells a subscriber following one node of its change and then its deletion, with no reset', async () => {
    gateway = await startServedNode({ zookeeperAuth: GATEWAY_AUTH });
    expect(await call('POST', '/v1/znodes/app')).toBe(201);
    expect(await call('POST', '/v1/znodes/app/config')).toBe(201);
    const [node, tree] = [await follow('/app/config'), await follow('/app?recursive=true')];
    await untilWatching([tree]);
    expect(await call('PUT', '/v1/znodes/app/config', {}, 'v2')).toBe(200);
    await node.until(() => node.watchEvents().includes('NodeDataChanged /app/config'), 10_000, 'the change');
    expect(await call('DELETE', '/v1/znodes/app/config')).toBe(204);
    await node.until(() => node.watchEvents().includes('NodeDeleted /app/config'), 10_000, 'the deletion');
    expect(node.events.filter((e) => e.event === 'reset')).toEqual([]);
  });

  it('tells nobody of a node whose ACL hides a digest from the gateway (READ without ADMIN for its identity)', async () => {
    gateway = await startServedNode({ zookeeperAuth: GATEWAY_AUTH });
    expect(await call('POST', '/v1/znodes/app')).toBe(201);
    expect(await call('POST', '/v1/znodes/app/veiled', { ...ALICE, 'zk-acl': `${ALICE_ONLY},${gatewayMay('r')}` })).toBe(201);
    const [anonymous, alice] = [await follow('/app?recursive=true'), await follow('/app?recursive=true', ALICE)];
    await untilWatching([anonymous!, alice!]);
    expect(await call('PUT', '/v1/znodes/app/veiled', ALICE, 'new')).toBe(200);
    expect(await call('POST', '/v1/znodes/app/end')).toBe(201);
    const [forAnonymous, forAlice] = await heardUntil([anonymous!, alice!], 'NodeCreated /app/end');
    expect(forAnonymous).toEqual(['NodeCreated /app/end']);
    expect(forAlice).toEqual(['NodeCreated /app/end']);
  });
});
