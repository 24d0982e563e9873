/**
 * An in-process Corral node on 127.0.0.1 (a free port) over a fresh temp data dir, for suites
 * that run against several servers (oracle, sessions oracle, browser): its URL, and a close that
 * stops it and removes the dir (also when it failed to start).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ServerOptions } from '../../src/server.ts';

export interface EmbeddedServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedServer(prefix: string, options: Omit<ServerOptions, 'dataDir' | 'port' | 'host'> = {}): Promise<EmbeddedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const server = await startServer({ ...options, dataDir, port: 0, host: '127.0.0.1' }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: server.url,
    async close() {
      try {
        await server.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
