/**
 * The gateways' own znodes (`/.corral-gateway`: each session's watch record, which a takeover
 * replays on the session's stream) are out of the API's reach and out of every stream, over a
 * real ZooKeeper 3.8 (see src/backend/zookeeper/gateway-own-paths.ts for why).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayChanges } from '../../../src/backend/zookeeper/gateway-changes.ts';
import { RECORD_ROOT } from '../../../src/backend/zookeeper/record-store.ts';
import type { TreeEvent } from '../../../src/core/tree/results.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { ZERO_STAT } from '../../../src/zookeeper-client/records.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { sessionOutbox, startTestNode, useEnsemble, type GatewayTestNode } from './gateway-test-node.ts';

let zk: ZooKeeperHandle;
let t: GatewayTestNode;
beforeAll(async () => {
  zk = await startZooKeeper();
  useEnsemble(zk.port);
});
afterAll(async () => {
  await zk?.stop();
});
beforeEach(() => {
  t = startTestNode();
});
afterEach(async () => {
  await t.close();
});

async function openSession(): Promise<{ id: string; headers: Record<string, string> }> {
  const open = await t.request('POST', '/v1/sessions', { body: { timeoutMs: 10_000 } });
  expect(open.status).toBe(201);
  return { id: open.body.id, headers: { 'zk-session-id': open.body.id, 'zk-session-token': open.body.token } };
}

/** The records below RECORD_ROOT, read directly from ZooKeeper (not through the gateway). */
async function records(): Promise<string[]> {
  const client = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000 });
  if ('code' in client) throw new Error(client.message);
  try {
    const listed = await client.getChildren(`${RECORD_ROOT}/watches`);
    return 'code' in listed ? [] : listed.children.map((name) => `${RECORD_ROOT}/watches/${name}`);
  } finally {
    await client.close();
  }
}

describe('the gateways\' own znodes', () => {
  it('tells a session watching / recursively of the caller\'s changes only, never of its own watch record', async () => {
    const s = await openSession();
    expect((await t.request('POST', `/v1/sessions/${s.id}/watches`, { body: { path: '/', mode: 'persistent_recursive' }, headers: s.headers })).status).toBe(201);
    expect(await records()).toHaveLength(1);
    await t.request('POST', '/v1/znodes/a', { body: '' });
    await t.request('PUT', '/v1/znodes/a', { body: 'x' });
    const heard = (await sessionOutbox(t, Number(s.id))).map((e) => JSON.parse(e.data) as { type: string; path: string });
    expect(heard.map((e) => `${e.type} ${e.path}`)).toEqual(['NodeCreated /a', 'NodeDataChanged /a']);
  });

  it('is made by the gateway before a caller\'s create of it, which finds it (409 NODEEXISTS) and cannot give it an ACL that keeps records out', async () => {
    const made = await t.request('POST', `/v1/znodes${RECORD_ROOT}`, { body: '', headers: { 'zk-acl': 'world:anyone:r' } });
    expect(made.status).toBe(409);
    expect(made.body.code).toBe('NODEEXISTS');
    expect((await t.request('GET', `/v1/children${RECORD_ROOT}`)).body.children).toEqual(['watches']);
  });

  it('answers every read, write and watch below it, and every change of it, with 403 NOAUTH, and leaves the records as they are', async () => {
    const s = await openSession();
    await t.request('GET', '/v1/stat/x?watch=true', { headers: s.headers });
    const [record] = await records();
    expect(record).toBeDefined();
    const inside = record!;
    const asked = [
      ['GET', `/v1/znodes${inside}`, undefined], ['GET', `/v1/stat${inside}`, undefined], ['GET', `/v1/children${RECORD_ROOT}/watches`, undefined],
      ['GET', `/v1/acl${inside}`, undefined], ['GET', `/v1/descendants${RECORD_ROOT}/watches`, undefined],
      ['PUT', `/v1/znodes${RECORD_ROOT}`, 'x'], ['DELETE', `/v1/znodes${RECORD_ROOT}`, undefined], ['PUT', `/v1/acl${RECORD_ROOT}`, 'world:anyone:r'],
      ['PUT', `/v1/znodes${inside}`, '{"v":1,"events":[]}'], ['DELETE', `/v1/znodes${inside}`, undefined],
      ['POST', `/v1/znodes${RECORD_ROOT}/watches/fake`, ''], ['PUT', `/v1/acl${inside}`, 'world:anyone:cdrwa'],
      ['POST', '/v1/multi', { ops: [{ op: 'create', path: '/fine' }, { op: 'delete', path: inside }] }],
    ] as const;
    for (const [method, url, body] of asked) {
      const reply = await t.request(method, url, { body, unchecked: true });
      expect(reply.status, `${method} ${url}: ${JSON.stringify(reply.body)}`).toBeGreaterThanOrEqual(400);
      expect(reply.status, `${method} ${url}`).toBeLessThan(500);
      expect(reply.body.code, `${method} ${url}: ${JSON.stringify(reply.body)}`).toBe('NOAUTH');
    }
    const readMulti = await t.request('POST', '/v1/multi', { body: { ops: [{ op: 'getData', path: inside }] } });
    expect(readMulti.body.results[0]).toMatchObject({ code: 'NOAUTH' });
    const watched = await t.request('GET', `/v1/znodes${inside}?watch=true`, { headers: s.headers });
    expect(watched.status).toBe(403);
    const added = await t.request('POST', `/v1/sessions/${s.id}/watches`, { body: { path: RECORD_ROOT, mode: 'persistent_recursive' }, headers: s.headers, unchecked: true });
    expect(added.status).toBe(403);
    expect((await t.request('GET', `/v1/children${RECORD_ROOT}?watch=true`, { headers: s.headers })).status).toBe(403);
    expect(await records()).toEqual([inside]);
    expect((await t.request('GET', '/v1/znodes/fine')).status).toBe(404);
  });
});

describe('GatewayChanges (the session-less streams)', () => {
  it('hands its subscribers no event about the gateways\' own znodes', async () => {
    const open = { acl: [{ perms: 31, scheme: 'world', id: 'anyone' }], stat: ZERO_STAT };
    const changes = new GatewayChanges({
      client: () => ({ addWatch: () => new Promise(() => undefined), getACL: async () => open }) as unknown as ZooKeeperClient,
      appliedZxid: () => 0, sawZxid: () => undefined, historyEventsMax: 100, lingerMs: 0, lingeringMax: 0, onError: () => undefined,
    });
    const heard: TreeEvent[] = [];
    changes.subscribe('/', true, { changed: (events) => heard.push(...events), gap: () => undefined });
    changes.deliver({ zxid: 7, events: [
      { type: 'NodeDataChanged', state: 'SyncConnected', path: `${RECORD_ROOT}/watches/0100000000000001` },
      { type: 'NodeCreated', state: 'SyncConnected', path: '/app' },
    ] } as never);
    await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 2000 });
    expect(heard.map((e) => e.path)).toEqual(['/app']);
    expect(changes.replay(0, 10).map((e) => e.path)).toEqual(['/app']);
  });
});
