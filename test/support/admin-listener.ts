/**
 * A real node (sockets on 127.0.0.1, a real data directory) started with an admin listener
 * (--admin-listen 127.0.0.1:0), for the tests of the routes served there only: one setup instead
 * of a copy per route's test file. `adminListenerNodes()` registers the cleanup (afterEach) of
 * the nodes it starts, so a test only calls `start()`.
 */
import { afterEach } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.ts';
import { makeTempDir, removeDir } from './corral-process.ts';

/** Each call is bounded: a node that stops answering fails the test instead of holding it. */
const CALL_TIMEOUT_MS = 5000;

export interface AdminListenerNode {
  readonly server: RunningServer;
  readonly publicUrl: string;
  readonly adminUrl: string;
  /** fetch() on the public listener (bounded). */
  onPublic(path: string, init?: RequestInit): Promise<Response>;
  /** fetch() on the admin listener (bounded). */
  onAdmin(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts a node with an admin listener on 127.0.0.1 (`options` added to its configuration). */
export async function startAdminListenerNode(dataDir: string, options: ServerOptions = {}): Promise<AdminListenerNode> {
  const server = await startServer({ dataDir, host: '127.0.0.1', port: 0, adminListen: '127.0.0.1:0', ...options });
  const adminUrl = server.adminUrl;
  if (adminUrl === undefined) {
    await server.close();
    throw new Error('the node started without its admin listener');
  }
  const call = (base: string) => (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), ...init });
  return { server, publicUrl: server.url, adminUrl, onPublic: call(server.url), onAdmin: call(adminUrl) };
}

/** A starter whose nodes (and data directories) are closed and removed after each test. */
export function adminListenerNodes(prefix = 'corral-admin-'): { start(options?: ServerOptions): Promise<AdminListenerNode> } {
  const started: Array<{ dataDir: string; node?: AdminListenerNode }> = [];
  afterEach(async () => {
    for (const { dataDir, node } of started.splice(0)) {
      await node?.server.close();
      removeDir(dataDir);
    }
  });
  return {
    async start(options = {}) {
      const entry: { dataDir: string; node?: AdminListenerNode } = { dataDir: makeTempDir(prefix) };
      started.push(entry);
      entry.node = await startAdminListenerNode(entry.dataDir, options);
      return entry.node;
    },
  };
}
