/**
 * The in-process test harness (test/support/test-node.ts) with a gateway behind the app instead
 * of an embedded node: the same `request` (every answer checked against openapi.yaml), a
 * ZooKeeperBackend over a real ZooKeeper. Suites written against startTestNode run unchanged
 * when a test file mocks test-node.ts with this module (see znodes.gateway.e2e.test.ts). Each
 * close() leaves the ensemble's tree as ZooKeeper starts it (only /zookeeper), for the next test.
 */
import type { Hono } from 'hono';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { Authenticator } from '../../../src/auth/authenticator.ts';
import { createApp } from '../../../src/http/app.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { ZooKeeperBackend } from '../../../src/backend/zookeeper/zookeeper-backend.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import type { DeferredEvents } from '../../../src/backend/zookeeper/deferred-events.ts';
import type { OutboxEvent } from '../../../src/node/outbox.ts';
import { credentialedOverrides, withTestAuthorization } from '../../support/credentialed-mode.ts';
import { validateResponse } from '../../support/openapi.ts';
import type { Reply, RequestOptions, StreamServer } from '../../support/test-node.ts';

export type { Reply, RequestOptions, StreamServer };

/** Suites whose contract differs on a gateway (documented in docs/operations.md) branch on it. */
export const harness: 'embedded' | 'gateway' = 'gateway';

let ensemblePort = 0;

/** Which ZooKeeper the harness's gateways front (set once the test file has started it). */
export function useEnsemble(port: number): void {
  ensemblePort = port;
}

/** The ZooKeeper useEnsemble named (throws before it was called). */
export function ensemblePortInUse(): number {
  if (ensemblePort === 0) throw new Error('useEnsemble(port) first: no ZooKeeper for the gateway');
  return ensemblePort;
}

export const GATEWAY_KEY = 'gateway-test-key-0123456789';

/**
 * The parts of an embedded node's surface suites read directly (a session's outbox and watch
 * count, test/session/session-helpers.ts's `queued`), answered by the gateway once it started.
 */
export interface GatewayNodeView {
  readonly sessions: { outbox(id: number): { read(seq: number): ReturnType<DeferredEvents['outbox']['read']> } | undefined; readonly size: number };
  readonly host: { readonly tree: { readonly watches: { count(id: number): number } } };
}

export interface GatewayTestNode {
  readonly app: Promise<Hono>;
  readonly config: Config;
  readonly backend: Promise<ZooKeeperBackend>;
  readonly node: GatewayNodeView;
  request(method: string, url: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export function startTestNode(overrides: Partial<Config> = {}): GatewayTestNode {
  if (ensemblePort === 0) throw new Error('useEnsemble(port) first: no ZooKeeper for the gateway');
  const config = defaultConfig({
    logLevel: 'silent', ...credentialedOverrides(), ...overrides,
    backend: `zookeeper://127.0.0.1:${ensemblePort}`, gatewayKey: GATEWAY_KEY,
  });
  const logger = createLogger('silent');
  const nowMs = () => Date.now();
  const backend = ZooKeeperBackend.start({
    ensemble: { servers: [{ host: '127.0.0.1', port: ensemblePort }], chroot: '' }, gatewayKey: config.gatewayKey,
    maxDataBytes: config.maxDataBytes, maxSessions: config.maxSessions, outboxEventsMax: config.outboxEventsMax, maxWatchesPerSession: config.maxWatchesPerSession,
    historyEventsMax: config.historyEventsMax, minZxidWaitMs: config.minZxidWaitMs, watchLingerMs: config.zookeeperWatchLingerMs, logger, nowMs,
  }).then((b) => {
    if ('code' in b) throw new Error(`the gateway could not reach ZooKeeper: ${b.message}`);
    return b;
  });
  const app = backend.then((b) => createApp({
    backend: b, authenticator: new Authenticator({ superDigest: config.superDigest || undefined, nowMs }),
    metrics: new Metrics({ znodeCount: () => 0, logEntries: () => 0, appliedZxid: () => b.appliedZxid }), config, logger, nowMs,
  }));
  let started: ZooKeeperBackend | undefined;
  void backend.then((b) => (started = b), () => undefined);
  const running = (): ZooKeeperBackend => {
    if (!started) throw new Error('the gateway has not started yet: make a request first');
    return started;
  };
  const node: GatewayNodeView = {
    sessions: {
      outbox: (id) => (running().sessions.events(id) as DeferredEvents | undefined)?.outbox,
      get size() {
        return running().sessions.list().length;
      },
    },
    host: { tree: { watches: { count: (id) => running().sessions.watchCount(id) } } },
  };
  return {
    app, config, backend, node,
    async request(method, url, options = {}) {
      const { body, unchecked } = options;
      const headers = withTestAuthorization(options.headers ?? {});
      const init: RequestInit = { method, headers };
      if (body !== undefined) {
        const isJson = typeof body === 'object' && !(body instanceof Uint8Array);
        init.body = isJson ? JSON.stringify(body) : (body as BodyInit);
        if (isJson) init.headers = { 'content-type': 'application/json', ...headers };
      }
      const res = await (await app).request(url, init);
      await settleAll(await backend);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const type = res.headers.get('content-type') ?? '';
      const text = Buffer.from(bytes).toString('utf8');
      const parsed: unknown = type.includes('json') && text !== '' ? JSON.parse(text) : text;
      if (!unchecked) validateResponse(method, url.split('?')[0]!, res.status, res.headers, type.includes('octet-stream') ? bytes : parsed);
      return { status: res.status, headers: res.headers, body: parsed, bytes };
    },
    async close() {
      await (await backend).close();
      await wipe(ensemblePort);
    },
  };
}

/**
 * What a session's stream has queued. A gateway queues a session's events off the write's path
 * (they reach the session's own ZooKeeper connection), so first the session is settled as a
 * request for it with Zk-Min-Zxid at the gateway's zxid would be: its connection synced past
 * every write answered so far, and what it received on the stream (docs/operations.md).
 */
export async function sessionOutbox(t: GatewayTestNode, id: number): Promise<readonly OutboxEvent[]> {
  const backend = await t.backend;
  await backend.sessions.settle(id, backend.appliedZxid);
  const events = (backend.sessions.events(id) as DeferredEvents | undefined)?.outbox.read(0) ?? [];
  if (events === 'overflow') throw new Error('outbox overflowed');
  return events;
}

/** The watches a session holds, as its record counts them. */
export async function sessionWatchCount(t: GatewayTestNode, id: number): Promise<number> {
  return (await t.backend).sessions.watchCount(id);
}

/**
 * A gateway queues a session's events off the write's path (they reach the session's own
 * ZooKeeper connection). So that suites reading a session's outbox right after another caller's
 * write run unchanged, every answer of the harness waits until each session the gateway holds is
 * settled as a request for it with Zk-Min-Zxid at the gateway's zxid would be (docs/operations.md).
 */
async function settleAll(backend: ZooKeeperBackend): Promise<void> {
  await Promise.all(backend.sessions.list().map((s) => backend.sessions.settle(s.id, backend.appliedZxid)));
}

/** A gateway behind real sockets on 127.0.0.1 (the direct paths); close() wipes the tree too. */
export async function startServedNode(overrides: Partial<Config> = {}): Promise<{ readonly url: string; close(): Promise<void> }> {
  if (ensemblePort === 0) throw new Error('useEnsemble(port) first: no ZooKeeper for the gateway');
  const port = ensemblePort;
  const gateway = await startGateway({ ...overrides, host: '127.0.0.1', port: 0, gatewayKey: GATEWAY_KEY, backend: `zookeeper://127.0.0.1:${port}` });
  return {
    url: gateway.url,
    async close() {
      await gateway.close();
      await wipe(port);
    },
  };
}

/**
 * A gateway behind real sockets on 127.0.0.1 for the session-less stream suites. restart() stops
 * it and starts another over the same ensemble (the store stays; its in-memory history does not);
 * close() wipes the tree too.
 */
export async function startStreamServer(overrides: Partial<Config> = {}): Promise<StreamServer> {
  const port = ensemblePortInUse();
  const start = () => startGateway({ ...overrides, host: '127.0.0.1', port: 0, gatewayKey: GATEWAY_KEY, backend: `zookeeper://127.0.0.1:${port}` });
  let gateway: RunningGateway | undefined = await start();
  let last = gateway;
  const running = () => {
    if (!gateway) throw new Error('the gateway is not running');
    return gateway;
  };
  return {
    get url() {
      return running().url;
    },
    get subscribers() {
      return (gateway ?? last).backend.changes.subscribers;
    },
    historyFloor: () => BigInt(running().backend.changes.gatewayFloor()),
    async restart() {
      const old = gateway;
      gateway = undefined;
      await old?.close();
      gateway = last = await start();
    },
    async close() {
      const old = gateway;
      gateway = undefined;
      await old?.close();
      await wipe(port);
    },
  };
}

/** Deletes every znode but ZooKeeper's own (/zookeeper and below); bounded by the tree's size. */
export async function wipe(port: number): Promise<void> {
  const client = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port }], sessionTimeoutMs: 6000 });
  if ('code' in client) throw new Error(`wipe: ${client.message}`);
  const remove = async (path: string, depth: number): Promise<void> => {
    if (depth > 64) throw new Error(`wipe: ${path} is deeper than any test makes`);
    const children = await client.getChildren(path);
    if ('code' in children) return;
    for (const name of children.children) {
      const child = path === '/' ? `/${name}` : `${path}/${name}`;
      if (child === '/zookeeper') continue;
      await remove(child, depth + 1);
      await client.delete(child, -1);
    }
  };
  await remove('/', 0);
  await client.close();
}
