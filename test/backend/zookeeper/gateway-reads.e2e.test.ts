/**
 * The reads a gateway answers with one ensemble call each, over a real ZooKeeper 3.8: a read-only
 * multi (one multiRead, so all its ops read one point), getACL, and getAllChildrenNumber
 * (GET /v1/descendants), each as the ensemble answers it to the gateway's identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { GATEWAY_KEY, wipe } from './gateway-test-node.ts';
import { fetchJson } from '../../support/fetch-json.ts';

const call = (base: string, method: string, path: string, body?: string | object) => fetchJson(method, base + path, { body });

describe('reads through a gateway', () => {
  let zk: ZooKeeperHandle;
  let gateway: RunningGateway;

  beforeAll(async () => {
    zk = await startZooKeeper();
    gateway = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });
  });

  afterAll(async () => {
    await gateway?.close();
    if (zk) await wipe(zk.port);
    await zk?.stop();
  });

  it('answers a read-only multi op by op: data with its Stat, children, and each op\'s own error', async () => {
    await call(gateway.url, 'POST', '/v1/znodes/multi', 'parent');
    const kid = await call(gateway.url, 'POST', '/v1/znodes/multi/kid', 'k');
    await call(gateway.url, 'POST', '/v1/znodes/multi/other', '');
    const read = await call(gateway.url, 'POST', '/v1/multi', {
      ops: [
        { op: 'getData', path: '/multi/kid' }, { op: 'getChildren', path: '/multi' },
        { op: 'getData', path: '/multi/missing' }, { op: 'getChildren', path: 'not-a-path' },
      ],
    });
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    const [data, children, missing, invalid] = read.body.results;
    expect(data).toMatchObject({ op: 'getData', path: '/multi/kid', data: 'k', stat: { czxid: kid.body.stat.czxid, version: 0 } });
    expect(children).toMatchObject({ op: 'getChildren', path: '/multi' });
    expect([...children.children].sort()).toEqual(['kid', 'other']);
    expect(missing).toMatchObject({ op: 'getData', code: 'NONODE' });
    expect(invalid).toMatchObject({ code: 'BADARGUMENTS' });
  });

  it('answers a read-only multi NOAUTH for a node the gateway\'s identity may not read', async () => {
    const admin = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 6000 });
    if ('code' in admin) throw new Error(admin.message);
    await admin.addAuth('digest', 'owner:pw');
    await admin.create({ path: '/private', data: new TextEncoder().encode('s'), acl: [{ perms: 31, scheme: 'auth', id: '' }], mode: 'persistent' });
    await admin.close();
    await call(gateway.url, 'POST', '/v1/znodes/public', 'p');
    const read = await call(gateway.url, 'POST', '/v1/multi', { ops: [{ op: 'getData', path: '/private' }, { op: 'getData', path: '/public' }] });
    expect(read.body.results[0]).toMatchObject({ code: 'NOAUTH' });
    expect(read.body.results[1]).toMatchObject({ data: 'p' });
  });

  it('answers getACL with the ensemble\'s ACL and Stat, and NONODE for a missing node', async () => {
    const created = await call(gateway.url, 'POST', '/v1/znodes/acl-read', '');
    expect(created.status).toBeLessThan(300);
    await call(gateway.url, 'PUT', '/v1/acl/acl-read', 'world:anyone:rw');
    const acl = await call(gateway.url, 'GET', '/v1/acl/acl-read');
    expect(acl.status, JSON.stringify(acl.body)).toBe(200);
    expect(acl.body).toMatchObject({ path: '/acl-read', acl: [{ perms: 'rw', scheme: 'world', id: 'anyone' }], stat: { aversion: 1 } });
    expect((await call(gateway.url, 'GET', '/v1/acl/no-such-node')).body).toMatchObject({ code: 'NONODE' });
  });

  it('counts the nodes below a path at every depth (GET /v1/descendants), 404 for a missing one', async () => {
    await call(gateway.url, 'POST', '/v1/znodes/tree', '');
    for (const path of ['/tree/a', '/tree/b', '/tree/a/x', '/tree/a/y', '/tree/a/y/z']) await call(gateway.url, 'POST', `/v1/znodes${path}`, '');
    const count = await call(gateway.url, 'GET', '/v1/descendants/tree');
    expect(count.status, JSON.stringify(count.body)).toBe(200);
    expect(count.body).toEqual({ path: '/tree', count: 5 });
    expect((await call(gateway.url, 'GET', '/v1/descendants/tree/a/y/z?consistency=linearizable')).body).toEqual({ path: '/tree/a/y/z', count: 0 });
    expect((await call(gateway.url, 'GET', '/v1/descendants/none')).status).toBe(404);
  });
});
