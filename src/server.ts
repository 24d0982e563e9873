/**
 * Starts a node and its HTTP server; used by main.ts and by tests that want a real server
 * in-process. Closing is graceful: stop accepting, finish writes in flight, close the database.
 */
import { getRequestListener, type ServerType } from '@hono/node-server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultConfig, type Config } from './config.ts';
import { EmbeddedBackend } from './backend/embedded/embedded-backend.ts';
import type { AppDeps } from './http/app-deps.ts';
import { createApp } from './http/app.ts';
import { withFastPath } from './http/fast-path.ts';
import { installWirePath, type WirePath } from './http/wire/wire-server.ts';
import { CorralNode } from './node/corral-node.ts';
import { createLogger, type Logger } from './observability/logger.ts';

export interface RunningServer {
  readonly url: string;
  readonly node: CorralNode;
  close(): Promise<void>;
}

export interface ServerOptions extends Partial<Config> {
  readonly logger?: Logger;
}

/** What the HTTP layer is given: the embedded node behind the Backend interface. */
export function appDepsOf(node: CorralNode, logger: Logger, nowMs: () => number): AppDeps {
  return { backend: new EmbeddedBackend(node, nowMs), metrics: node.metrics, config: node.config, logger, nowMs };
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const { logger: given, ...overrides } = options;
  const config = defaultConfig({ logLevel: given ? 'info' : 'silent', ...overrides });
  const logger = given ?? createLogger(config.logLevel);
  const nowMs = () => Date.now();
  const node = new CorralNode(config, { logger, nowMs });
  const deps = appDepsOf(node, logger, nowMs);
  const app = createApp(deps);
  let server: ServerType | undefined;
  let wire: WirePath | undefined;
  try {
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      // The Hono app behind the direct path for plain znode calls (see http/fast-path.ts), and
      // the wire path in front of both for connections that only make plain calls (http/wire/).
      const listening = createServer(withFastPath(deps, getRequestListener(app.fetch, { hostname: config.host })));
      wire = installWirePath(listening, deps);
      server = listening;
      listening.once('error', reject);
      listening.listen(config.port, config.host, () => resolve(listening.address() as AddressInfo));
    });
    await node.start();
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${address.port}`;
    logger.info({ event: 'listening', url, dataDir: config.dataDir }, 'corral is serving');
    return { url, node, close: () => stop(server!, wire!, node) };
  } catch (error) {
    await node.close();
    throw error;
  }
}

async function stop(server: ServerType, wire: WirePath, node: CorralNode): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Long-lived streams would hold close() open; in-flight writes still finish in node.close().
  if ('closeIdleConnections' in server) server.closeIdleConnections();
  wire.close();
  await node.close();
  if ('closeAllConnections' in server) server.closeAllConnections();
  wire.destroy();
  await closed;
}
