/**
 * Query parameters mean the same on every carrier: a read asking for `consistency=linearizable`
 * with its name or value percent-encoded is a linearizable read whether the wire path, node:http's
 * direct path or the Hono app took it. Shown by spying on the backend each carrier calls.
 */
import { getRequestListener } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReadRequest } from '../../../src/backend/backend.ts';
import { defaultConfig } from '../../../src/config.ts';
import { createApp } from '../../../src/http/app.ts';
import { withFastPath } from '../../../src/http/fast-path.ts';
import { installWirePath, type WirePath } from '../../../src/http/wire/wire-server.ts';
import { CorralNode } from '../../../src/node/corral-node.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { appDepsOf } from '../../../src/server.ts';
import { CARRIERS, exchange, rawRequest } from './raw-http.ts';

let dir: string;
let node: CorralNode;
let server: Server;
let wire: WirePath;
let port: number;
const reads: ReadRequest[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-query-'));
  const config = defaultConfig({ logLevel: 'silent', dataDir: dir, host: '127.0.0.1', port: 0 });
  const logger = createLogger('silent');
  const nowMs = () => Date.now();
  node = new CorralNode(config, { logger, nowMs });
  await node.start();
  const deps = appDepsOf(node, logger, nowMs);
  const read = deps.backend.read.bind(deps.backend);
  vi.spyOn(deps.backend, 'read').mockImplementation((request) => {
    reads.push(request);
    return read(request);
  });
  server = createServer(withFastPath(deps, getRequestListener(createApp(deps).fetch, { hostname: '127.0.0.1' })));
  wire = installWirePath(server, deps);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  wire.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await node.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  reads.length = 0;
});

/** The app takes a request with an Origin (the node's own: allowed) from the direct paths. */
const CARRIER_REQUESTS = {
  ...CARRIERS,
  app: (request: string) => [request.replace('\r\n', '\r\nOrigin: http://127.0.0.1\r\n')],
} as const;

const SPELLINGS = [
  ['/v1/znodes?consisten%63y=linearizable'],
  ['/v1/znodes?consistency=lineariz%61ble'],
  ['/v1/stat/?%63onsistency=%6Cinearizable'],
  ['/v1/children?consisten%63y=lineariz%61ble&x=1'],
  ['/v1/znodes?consisten%63y=linearizable&consistency=local'],
] as const;

describe.each([['wire'], ['node:http direct path'], ['app']] as const)('query parameters on the %s', (carrier) => {
  it.each(SPELLINGS)('reads %s linearizably', async (target) => {
    const requests = CARRIER_REQUESTS[carrier](rawRequest('GET', target));
    const replies = await exchange(port, requests);
    expect(replies.at(-1)!.status).toBe(200);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.consistency).toBe('linearizable');
  });

  it('refuses an encoded consistency it does not know with 400, as the plain spelling', async () => {
    const replies = await exchange(port, CARRIER_REQUESTS[carrier](rawRequest('GET', '/v1/znodes?consisten%63y=lineariz%62ble')));
    expect(replies.at(-1)!.status).toBe(400);
  });
});
