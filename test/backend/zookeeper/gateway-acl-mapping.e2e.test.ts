/**
 * `auth` ACL entries through a gateway, over a real ZooKeeper 3.8. ZooKeeper fills `auth` with
 * the identities of the connection a request came on. An HTTP Basic caller's requests come on a
 * connection of its own digest identity, so `auth::` names that caller, as on the embedded store.
 * Anonymous, JWT and certificate callers come on the gateway's own connection (here digest `gw`,
 * --zookeeper-auth): `auth::` would name the gateway, and hand the node to every such caller, so
 * the gateway refuses it with 400 INVALIDACL (as the embedded store refuses `auth` without an
 * identity to fill it with).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../src/auth/digest.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { startServedNode, useEnsemble } from './gateway-test-node.ts';

const BOB = { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` };
const AUTH_ONLY = { 'zk-acl': 'auth::cdrwa' };

let zk: ZooKeeperHandle;
let gateway: Awaited<ReturnType<typeof startServedNode>> | undefined;
beforeAll(async () => {
  zk = await startZooKeeper();
  useEnsemble(zk.port);
});
afterAll(async () => {
  await zk?.stop();
});
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: any }> {
  const json = typeof body === 'object';
  const res = await fetch(`${gateway!.url}${path}`, {
    method, headers: json ? { 'content-type': 'application/json', ...headers } : headers,
    body: body === undefined ? undefined : json ? JSON.stringify(body) : String(body), signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text !== '' && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
}

async function openSession(headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const open = await call('POST', '/v1/sessions', headers, { timeoutMs: 10_000 });
  expect(open.status).toBe(201);
  return { ...headers, 'zk-session-id': open.body.id, 'zk-session-token': open.body.token };
}

describe('auth:: ACL entries through a gateway', () => {
  it('gives an HTTP Basic caller\'s node the caller\'s own digest identity, with or without a session', async () => {
    gateway = await startServedNode({ zookeeperAuth: 'gw:gateway-secret' });
    expect((await call('POST', '/v1/znodes/bobs', { ...BOB, ...AUTH_ONLY }, '')).status).toBe(201);
    expect((await call('GET', '/v1/acl/bobs', BOB)).body.acl).toEqual([{ perms: 'cdrwa', scheme: 'digest', id: digestOf('bob', 'secret') }]);
    const session = await openSession(BOB);
    expect((await call('POST', '/v1/znodes/bobs-ephemeral?mode=ephemeral', { ...session, ...AUTH_ONLY }, '')).status).toBe(201);
    expect((await call('GET', '/v1/znodes/bobs', {})).status).toBe(403);
  });

  it('refuses auth:: from a caller ZooKeeper cannot authenticate with 400 INVALIDACL, in a create, a session\'s create, a multi and a setACL, and applies nothing', async () => {
    gateway = await startServedNode({ zookeeperAuth: 'gw:gateway-secret' });
    const refused = [
      await call('POST', '/v1/znodes/mine', AUTH_ONLY, ''),
      await call('POST', '/v1/znodes/mine?mode=ephemeral', { ...(await openSession()), ...AUTH_ONLY }, ''),
      await call('POST', '/v1/multi', {}, { ops: [{ op: 'create', path: '/first' }, { op: 'create', path: '/mine', acl: 'auth::cdrwa' }] }),
    ];
    for (const reply of refused) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(400);
      expect(reply.body.code ?? reply.body.results?.[1]?.code).toBe('INVALIDACL');
    }
    expect((await call('GET', '/v1/znodes/mine')).status).toBe(404);
    expect((await call('GET', '/v1/znodes/first')).status).toBe(404);
    expect((await call('POST', '/v1/znodes/open', {}, '')).status).toBe(201);
    const setAcl = await call('PUT', '/v1/acl/open', {}, 'auth::cdrwa');
    expect(setAcl.status).toBe(400);
    expect(setAcl.body.code).toBe('INVALIDACL');
    expect((await call('GET', '/v1/acl/open')).body.acl).toEqual([{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
  });
});
