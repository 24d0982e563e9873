/**
 * The edge checks on every carrier of a live node: the wire path, node:http's direct path and
 * the Hono app (the app takes every request while CORS is configured, and every request the
 * direct paths do not). A request target URL parsing would rewrite is 400 BADARGUMENTS and
 * does nothing; a Host the node does not answer to is 403 NOAUTH.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.ts';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { CARRIERS, exchange, rawRequest, type RawReply } from './raw-http.ts';

interface Started {
  readonly server: RunningServer;
  readonly port: number;
  readonly dir: string;
}

async function start(overrides: Partial<Config> = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-edge-'));
  const server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir, ...overrides });
  return { server, port: Number(new URL(server.url).port), dir };
}

async function stop(s: Started | undefined): Promise<void> {
  if (!s) return;
  await s.server.close();
  rmSync(s.dir, { recursive: true, force: true });
}

/** One request as its carrier takes it; the answer to it (not to the hand-off before it). */
async function ask(port: number, carrier: keyof typeof CARRIERS | 'app', request: string): Promise<RawReply> {
  const requests = carrier === 'app' ? [request] : CARRIERS[carrier](request);
  const replies = await exchange(port, requests);
  expect(replies).toHaveLength(requests.length);
  return replies.at(-1)!;
}

async function children(port: number, path: string): Promise<string[]> {
  const [reply] = await exchange(port, [rawRequest('GET', `/v1/children${path}`)]);
  return reply!.json.children;
}

function expectBadArguments(reply: RawReply): void {
  expect(reply.status).toBe(400);
  expect(reply.json).toMatchObject({ code: 'BADARGUMENTS', zkCode: -8, message: expect.any(String) });
}

/** Targets every carrier must refuse, and the znode each would have reached on main. */
const REFUSED_TARGETS = [
  ['an absolute-form DELETE', 'DELETE', 'http://xyz/v1/znodes/foo'],
  ['an absolute-form create with userinfo', 'POST', 'http://ab@tenantB/v1/znodes/x'],
  ['a percent-encoded .. before the route', 'DELETE', '/v1/%2e%2e/v1/znodes/foo'],
  ['a mixed-case encoded ..', 'DELETE', '/v1/%2E%2e/v1/znodes/foo'],
  ['a half-encoded ..', 'GET', '/v1/.%2E/v1/znodes/foo'],
  ['a raw . segment in the znode path', 'DELETE', '/v1/znodes/v1/./znodes/foo'],
  ['an encoded .. in the znode path', 'DELETE', '/v1/znodes/v1/znodes/foo/%2e%2e/foo'],
  ['an encoded .. after an encoded separator', 'GET', '/v1/znodes/v1%2F%2e%2e%2Fv1'],
  ['a backslash in the path', 'GET', '/v1/znodes/v1\\znodes'],
  ['a fragment', 'DELETE', '/v1/znodes/v1/znodes/foo#x'],
  ['an encoded API prefix', 'DELETE', '/v1/%7Anodes/v1/znodes/foo'],
] as const;

describe('the request target, on every carrier', () => {
  let plain: Started | undefined;
  let withCors: Started | undefined;
  beforeAll(async () => {
    plain = await start();
    withCors = await start({ corsOrigins: ['*'] });
    for (const s of [plain, withCors]) {
      for (const path of ['/v1', '/v1/znodes', '/v1/znodes/foo']) {
        const [created] = await exchange(s.port, [rawRequest('POST', `/v1/znodes${path}`)]);
        expect(created!.status).toBe(201);
      }
    }
  });
  afterAll(async () => {
    await stop(plain);
    await stop(withCors);
  });

  const carriers = [['wire'], ['node:http direct path'], ['app']] as const;
  describe.each(carriers)('%s', (carrier) => {
    it.each(REFUSED_TARGETS)('refuses %s with 400 BADARGUMENTS and acts on nothing', async (_name, method, target) => {
      const s = carrier === 'app' ? withCors! : plain!;
      const reply = await ask(s.port, carrier, rawRequest(method, target, {}, method === 'POST' ? 'x' : ''));
      // @hono/node-server refuses a backslash itself, before the app, with a body of its own.
      if (carrier === 'app' && target.includes('\\')) expect(reply.status).toBe(400);
      else expectBadArguments(reply);
      expect(await children(s.port, '/v1/znodes')).toEqual(['foo']);
      expect(await children(s.port, '')).toEqual(['v1', 'zookeeper']);
    });

    it('still reads a znode whose name is percent-encoded, %2F as a separator', async () => {
      const s = carrier === 'app' ? withCors! : plain!;
      const reply = await ask(s.port, carrier, rawRequest('GET', '/v1/znodes/v1%2Fznodes%2ffoo'));
      expect(reply.status).toBe(200);
      expect(reply.json.path).toBe('/v1/znodes/foo');
    });
  });

  it.each([[['*']], [['http://app.example']]])('answers an absolute-form write with userinfo and a body with 400, not 500, when CORS is %j', async (origins) => {
    const s = await start({ corsOrigins: origins });
    try {
      for (const [method, target] of [['PUT', 'http://a%2Fb@x/v1/znodes/a'], ['POST', 'http://a@x/v1/znodes/a'], ['POST', 'http://a:b@x/v1/multi']] as const) {
        const [reply] = await exchange(s.port, [rawRequest(method, target, { Origin: 'http://app.example' }, 'x')]);
        expectBadArguments(reply!);
      }
    } finally {
      await stop(s);
    }
  });
});

describe('the Host a request names', () => {
  let loopback: Started | undefined;
  let anyHost: Started | undefined;
  let named: Started | undefined;
  beforeAll(async () => {
    loopback = await start();
    anyHost = await start({ allowedHosts: ['*'] });
    named = await start({ allowedHosts: ['corral.internal', 'other.internal:1234'] });
  });
  afterAll(async () => {
    await stop(loopback);
    await stop(anyHost);
    await stop(named);
  });

  const carriers = [['wire'], ['node:http direct path'], ['app']] as const;
  /** The app carrier on a server without CORS: a request with an Origin goes to the app. */
  const via = (carrier: (typeof carriers)[number][0], s: Started, headers: Record<string, string>) => {
    const host = headers.Host ?? '127.0.0.1';
    return ask(s.port, carrier, rawRequest('GET', '/v1/znodes', carrier === 'app' ? { Origin: `http://${host.split('\n')[0]}`, ...headers } : headers));
  };

  describe.each(carriers)('%s', (carrier) => {
    it.each([['evil.example:8181'], ['evil.example'], ['127.0.0.1.evil.example'], ['localhost.evil.example:80'], ['localhost.:8181']])(
      'refuses Host %j with 403 NOAUTH on a node bound to loopback (DNS rebinding)', async (host) => {
        const reply = await via(carrier, loopback!, { Host: host });
        expect(reply.status).toBe(403);
        expect(reply.json).toMatchObject({ code: 'NOAUTH', message: expect.stringContaining('--allowed-hosts') });
      });

    it('refuses a repeated Host, whichever comes first', async () => {
      const reply = await via(carrier, loopback!, { Host: '127.0.0.1\nevil.example' });
      expect(reply.status).toBe(403);
    });

    it.each([['localhost'], ['LOCALHOST:1'], ['127.0.0.1:8181'], ['[::1]:9']])('answers Host %j on a node bound to loopback', async (host) => {
      expect((await via(carrier, loopback!, { Host: host })).status).toBe(200);
    });

    it('answers only the configured names with --allowed-hosts', async () => {
      expect((await via(carrier, named!, { Host: 'corral.internal:8181' })).status).toBe(200);
      expect((await via(carrier, named!, { Host: 'other.internal:1234' })).status).toBe(200);
      expect((await via(carrier, named!, { Host: 'other.internal:1235' })).status).toBe(403);
      expect((await via(carrier, named!, { Host: '127.0.0.1' })).status).toBe(403);
    });
  });

  it('no longer trusts an Origin because it equals the Host where any Host is allowed (403 NOAUTH)', async () => {
    const [write] = await exchange(anyHost!.port, [rawRequest('POST', '/v1/znodes/victim', { Host: 'rebound.example:8181', Origin: 'http://rebound.example:8181' }, 'x')]);
    expect(write!.status).toBe(403);
    expect(write!.json.code).toBe('NOAUTH');
    expect((await exchange(anyHost!.port, [rawRequest('GET', '/v1/znodes/victim')]))[0]!.status).toBe(404);
    // Without an Origin (not a browser), any Host is answered there.
    expect((await exchange(anyHost!.port, [rawRequest('GET', '/v1/znodes', { Host: 'rebound.example' })]))[0]!.status).toBe(200);
  });

  it('trusts the node\'s own origin where the Host is one of the names it answers to', async () => {
    const [own] = await exchange(named!.port, [rawRequest('POST', '/v1/znodes/own', { Host: 'corral.internal', Origin: 'http://corral.internal' }, 'x')]);
    expect(own!.status).toBe(201);
  });
});
