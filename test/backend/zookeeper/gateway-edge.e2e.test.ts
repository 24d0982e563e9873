/**
 * Hostile input at a gateway's edge, over real sockets and a real ZooKeeper 3.8: paths that try
 * to leave the chroot (dot segments, encoded or not, empty segments, NULs), and session headers
 * and tokens that are not what a gateway sealed. Every one gets a 4xx with the contract's error
 * body, never a 500, and nothing outside the chroot is read or written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { exchange, rawRequest } from '../../http/edge/raw-http.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { GATEWAY_KEY } from './gateway-test-node.ts';

let zk: ZooKeeperHandle;
let direct: ZooKeeperClient;
let gateway: RunningGateway;
let port = 0;
const OUTSIDE = 'outside-the-chroot';

beforeAll(async () => {
  zk = await startZooKeeper();
  const client = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 10_000 });
  if ('code' in client) throw new Error(client.message);
  direct = client;
  for (const [path, data] of [['/jail', ''], ['/jail/inside', 'in'], ['/outside', OUTSIDE], ['/jail-other', OUTSIDE]] as const) {
    const made = await direct.create({ path, data: new TextEncoder().encode(data), acl: [{ perms: 31, scheme: 'world', id: 'anyone' }], mode: 'persistent' });
    if ('code' in made) throw new Error(made.message);
  }
  gateway = await startGateway({ host: '127.0.0.1', port: 0, gatewayKey: GATEWAY_KEY, backend: `zookeeper://127.0.0.1:${zk.port}/jail` });
  port = Number(new URL(gateway.url).port);
}, 60_000);
afterAll(async () => {
  await gateway?.close();
  await direct?.close();
  await zk?.stop();
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gateway.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, body: text !== '' && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
}

describe('a gateway with a chroot', () => {
  it('serves the chroot as / and nothing outside it', async () => {
    expect((await call('GET', '/v1/children')).body.children).toEqual(['inside']);
    expect((await call('GET', '/v1/znodes/inside')).body.data).toBe('in');
    expect((await call('GET', '/v1/znodes/outside')).status).toBe(404);
    expect((await call('POST', '/v1/znodes/made', {}, 'x')).status).toBe(201);
    expect('code' in (await direct.getData('/jail/made'))).toBe(false);
    expect(await direct.getData('/made')).toMatchObject({ code: 'NONODE' });
  });

  const ESCAPES = [
    '/v1/znodes/../outside', '/v1/znodes/%2e%2e/outside', '/v1/znodes/%2E%2E%2Foutside', '/v1/znodes/..%2Foutside',
    '/v1/znodes/inside/../../outside', '/v1/znodes/./inside', '/v1/znodes//outside', '/v1/znodes/%00/outside',
    '/v1/children/..', '/v1/stat/%2e%2e', '/v1/acl/..%2f..%2foutside', '/v1/descendants/..', '/v1/znodes/..\\outside',
    '/v1/znodes/%2e%2e%5coutside', '/v1/znodes/%252e%252e/outside', '/v1/watch/..%2Foutside', '/v1/znodes/-other',
  ];
  it.each(ESCAPES)('answers %s with a 4xx and no byte from outside the chroot', async (target) => {
    const [reply] = await exchange(port, [rawRequest('GET', target)]);
    expect(reply!.status, reply!.text).toBeGreaterThanOrEqual(400);
    expect(reply!.status, reply!.text).toBeLessThan(500);
    expect(reply!.text).not.toContain(OUTSIDE);
    if ((reply!.headers['content-type'] ?? '').includes('json')) expect(typeof reply!.json.code).toBe('string');
  });

  it.each([['create', { op: 'create', path: '/../outside/x' }], ['setData', { op: 'setData', path: '/../outside', data: 'w' }], ['delete', { op: 'delete', path: '/..' }]])(
    'refuses a multi whose %s leaves the chroot with 400 BADARGUMENTS and writes nothing', async (_name, op) => {
      const reply = await call('POST', '/v1/multi', { 'content-type': 'application/json' }, JSON.stringify({ ops: [op] }));
      expect(reply.status).toBe(400);
      expect(reply.body.code).toBe('BADARGUMENTS');
      const outside = await direct.getData('/outside');
      expect('code' in outside ? outside.code : Buffer.from(outside.data).toString('utf8')).toBe(OUTSIDE);
      expect(await direct.getChildren('/outside')).toMatchObject({ children: [] });
    });
});

describe('hostile session headers at a gateway', () => {
  const HEADERS: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ['an id that is not a number', { 'zk-session-id': 'abc', 'zk-session-token': 'x' }],
    ['a negative id', { 'zk-session-id': '-1', 'zk-session-token': 'x' }],
    ['an id past 2^53', { 'zk-session-id': '99999999999999999999', 'zk-session-token': 'x' }],
    ['an exponent', { 'zk-session-id': '1e3', 'zk-session-token': 'x' }],
    ['hex', { 'zk-session-id': '0x10', 'zk-session-token': 'x' }],
    ['no token', { 'zk-session-id': '12345' }],
    ['a 5000-character token', { 'zk-session-id': '12345', 'zk-session-token': 'A'.repeat(5000) }],
    ['a token of base64 garbage', { 'zk-session-id': '12345', 'zk-session-token': Buffer.alloc(80, 7).toString('base64url') }],
    ['a token with characters outside base64url', { 'zk-session-id': '12345', 'zk-session-token': '!!!///+++===' }],
  ];
  it.each(HEADERS)('answers a write with %s with a 4xx and an error code, and writes nothing', async (_name, headers) => {
    const reply = await call('POST', '/v1/znodes/hostile?mode=ephemeral', headers, '');
    expect(reply.status, JSON.stringify(reply.body)).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(typeof reply.body.code).toBe('string');
    expect(await direct.getData('/jail/hostile')).toMatchObject({ code: 'NONODE' });
  });

  it('refuses a real token presented for another session, and the token of a closed session', async () => {
    const open = async () => (await call('POST', '/v1/sessions', { 'content-type': 'application/json' }, JSON.stringify({ timeoutMs: 10_000 }))).body as { id: string; token: string };
    const [a, b] = [await open(), await open()];
    const crossed = await call('POST', '/v1/znodes/crossed?mode=ephemeral', { 'zk-session-id': b.id, 'zk-session-token': a.token }, '');
    expect(crossed.status).toBe(401);
    expect(crossed.body.code).toBe('AUTHFAILED');
    expect((await call('DELETE', `/v1/sessions/${a.id}`, { 'zk-session-id': a.id, 'zk-session-token': a.token })).status).toBe(204);
    const closed = await call('POST', '/v1/znodes/late?mode=ephemeral', { 'zk-session-id': a.id, 'zk-session-token': a.token }, '');
    expect(closed.status).toBeGreaterThanOrEqual(400);
    expect(closed.status).toBeLessThan(500);
    expect(await direct.getData('/jail/crossed')).toMatchObject({ code: 'NONODE' });
    expect(await direct.getData('/jail/late')).toMatchObject({ code: 'NONODE' });
  });
});
