/**
 * A cluster of real Corral servers in this process (startServer: real HTTP, real peer TCP links,
 * real SQLite files), for tests of what the cluster adds at the API: forwarding, sessions and
 * streams moving between nodes. test/cluster runs separate processes for fault tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Member } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort, waitFor } from './corral-process.ts';

export interface InProcessCluster {
  readonly servers: Array<RunningServer | undefined>;
  /** Client base URL of member i + 1. */
  readonly urls: readonly string[];
  /** The leader's id once every running member follows it and their links are up. */
  leader(timeoutMs?: number): Promise<number>;
  /** Stops member `id` (its data stays). */
  stop(id: number): Promise<void>;
  close(): Promise<void>;
}

/** Attempts at a start whose free ports another process took between the probe and the listen. */
const PORT_ATTEMPTS = 3;

export async function startInProcessCluster(size: number, options: { tickTimeMs?: number } = {}): Promise<InProcessCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(size, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

async function startOnce(size: number, options: { tickTimeMs?: number }): Promise<InProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-inprocess-cluster-'));
  const members: Member[] = [];
  for (let id = 1; id <= size; id++) {
    members.push({ id, client: `127.0.0.1:${await freePort()}`, peer: { host: '127.0.0.1', port: await freePort() } });
  }
  const servers: Array<RunningServer | undefined> = [];
  try {
    for (const m of members) {
      servers.push(await startServer({
        id: m.id, members, clusterSecret: 'in-process-cluster-secret', raftTickMs: 20, host: '127.0.0.1',
        port: Number(m.client.split(':')[1]), dataDir: join(dir, `n${m.id}`), tickTimeMs: options.tickTimeMs ?? 500,
      }));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const urls = members.map((m) => `http://${m.client}`);
  return {
    servers, urls,
    async leader(timeoutMs = 10_000) {
      return waitFor(() => {
        const running = servers.filter((s): s is RunningServer => s !== undefined);
        const leaders = new Set(running.map((s) => s.node.host.status().leader));
        const [leader] = leaders;
        const ok = leaders.size === 1 && leader !== 0 && running.some((s) => s.node.host.status().role === 'leader');
        // Formed: every running member's links to the others are up (a follower still redialing its leader would answer 503s).
        const ids = running.map((s) => s.node.config.id);
        const linked = running.every((s) => ids.every((id) => id === s.node.config.id || s.node.peers.connectedTo(id)));
        return ok && linked ? leader : undefined;
      }, { timeoutMs, what: 'one leader every running member follows, with every link up' });
    },
    async stop(id) {
      const server = servers[id - 1];
      servers[id - 1] = undefined;
      await server?.close();
    },
    async close() {
      await Promise.all(servers.map((s) => s?.close()));
      servers.fill(undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
