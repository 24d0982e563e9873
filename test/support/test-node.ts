/**
 * A real node (real SQLite file in a fresh temp dir) behind its Hono app, driven in-process with
 * app.request(): no sockets. Every response is checked against openapi.yaml, so code and spec
 * cannot drift apart unnoticed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { OutboxEvent } from '../../src/node/outbox.ts';
import { defaultConfig, type Config } from '../../src/config.ts';
import { createApp } from '../../src/http/app.ts';
import { CorralNode } from '../../src/node/corral-node.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { appDepsOf, startServer } from '../../src/server.ts';
import { credentialedOverrides, withTestAuthorization } from './credentialed-mode.ts';
import { validateResponse } from './openapi.ts';

/** Which store the suites' nodes have (the gateway harness, test/backend/zookeeper/gateway-test-node.ts, says 'gateway'). */
export const harness: 'embedded' | 'gateway' = 'embedded';

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON when the response is JSON, else the text ('' when empty). */
  readonly body: any;
  readonly bytes: Uint8Array;
}

export interface RequestOptions {
  readonly body?: string | Uint8Array | object;
  readonly headers?: Record<string, string>;
  /** Skip the spec check (for deliberately odd requests whose answers the fuzz test checks). */
  readonly unchecked?: boolean;
}

export interface TestNode {
  readonly app: Hono;
  readonly node: CorralNode;
  readonly dir: string;
  readonly config: Config;
  request(method: string, url: string, options?: RequestOptions): Promise<Reply>;
  /** Closes the node; `keepDir` leaves the data for a restart. */
  close(keepDir?: boolean): Promise<void>;
}

export function startTestNode(overrides: Partial<Config> = {}, dir?: string): TestNode {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'corral-test-'));
  const config = defaultConfig({ logLevel: 'silent', dataDir, ...credentialedOverrides(), ...overrides });
  const logger = createLogger('silent');
  const nowMs = () => Date.now();
  const node = new CorralNode(config, { logger, nowMs });
  node.start();
  const app = createApp(appDepsOf(node, logger, nowMs));
  return {
    app, node, dir: dataDir, config,
    async request(method, url, options = {}) {
      const { body, unchecked } = options;
      const headers = withTestAuthorization(options.headers ?? {});
      const init: RequestInit = { method, headers };
      if (body !== undefined) {
        const isJson = typeof body === 'object' && !(body instanceof Uint8Array);
        init.body = isJson ? JSON.stringify(body) : (body as BodyInit);
        if (isJson) init.headers = { 'content-type': 'application/json', ...headers };
      }
      const res = await app.request(url, init);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const type = res.headers.get('content-type') ?? '';
      const text = Buffer.from(bytes).toString('utf8');
      const parsed: unknown = type.includes('json') && text !== '' ? JSON.parse(text) : text;
      if (!unchecked) {
        const pathname = url.split('?')[0]!;
        validateResponse(method, pathname, res.status, res.headers, type.includes('octet-stream') ? bytes : parsed);
      }
      return { status: res.status, headers: res.headers, body: parsed, bytes };
    },
    async close(keepDir = false) {
      await node.close();
      if (!keepDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The same store behind real sockets on 127.0.0.1 (the direct paths, not app.request()). */
export async function startServedNode(): Promise<{ readonly url: string; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-served-'));
  const server = await startServer({ dataDir, host: '127.0.0.1', port: 0 });
  return {
    url: server.url,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A served store for the session-less stream suites: restart() keeps the store (an embedded node's data dir). */
export interface StreamServer {
  readonly url: string;
  /** The session-less streams subscribed now (once closed: those still subscribed when it closed). */
  readonly subscribers: number;
  /** Resumes from before this zxid get `reset` (the change history's floor). */
  historyFloor(): bigint;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A node behind real sockets on 127.0.0.1 on a fresh data dir, with `overrides`. */
export async function startStreamServer(overrides: Partial<Config> = {}): Promise<StreamServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-streams-'));
  const start = () => startServer({ ...overrides, dataDir, port: 0, host: '127.0.0.1' });
  let server: Awaited<ReturnType<typeof startServer>> | undefined = await start();
  let last = server;
  const running = () => {
    if (!server) throw new Error('the server is not running');
    return server;
  };
  return {
    get url() {
      return running().url;
    },
    get subscribers() {
      return (server ?? last).node.changes.subscribers;
    },
    historyFloor: () => BigInt(running().node.changes.history.floor()),
    async restart() {
      const old = server;
      server = undefined;
      await old?.close();
      server = last = await start();
    },
    async close() {
      const old = server;
      server = undefined;
      await old?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What a session's stream has queued (its outbox from the start); the embedded store queues before a write answers. */
export async function sessionOutbox(t: TestNode, id: number): Promise<readonly OutboxEvent[]> {
  const events = t.node.sessions.outbox(id)?.read(0) ?? [];
  if (events === 'overflow') throw new Error('outbox overflowed');
  return events;
}

/** The watches a session holds. */
export async function sessionWatchCount(t: TestNode, id: number): Promise<number> {
  return t.node.host.tree.watches.count(id);
}
