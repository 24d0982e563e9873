/**
 * Real Corral servers in this process (real HTTP, peer links and SQLite) whose peer links a test
 * shapes: each member's own options (secret, peer TLS, logger), and the address the OTHER members
 * dial it at (a relay in front of it, say). Members can be stopped and started again on the same
 * data. close() stops every member and removes the data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config, Member } from '../../src/config.ts';
import type { Logger } from '../../src/observability/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort, waitFor } from '../support/corral-process.ts';

export const CLUSTER_SECRET = 'member-cluster-test-secret';

export interface MemberClusterOptions {
  readonly size: number;
  /** Member `id`'s own options; default the cluster secret. */
  readonly configOf?: (id: number) => Partial<Config>;
  readonly loggerOf?: (id: number) => Logger | undefined;
}

export class MemberCluster {
  readonly servers: Array<RunningServer | undefined>;
  /** The port the others dial member i + 1 at (its own peer port unless redirected). */
  private readonly dialPorts: number[];

  private constructor(
    private readonly dir: string,
    readonly clientPorts: readonly number[],
    /** The port member i + 1 listens for peers on. */
    readonly peerPorts: readonly number[],
    private readonly options: MemberClusterOptions,
  ) {
    this.servers = clientPorts.map(() => undefined);
    this.dialPorts = [...peerPorts];
  }

  /** Ports for `size` members; nothing runs until start(). */
  static async create(options: MemberClusterOptions): Promise<MemberCluster> {
    const clientPorts: number[] = [];
    const peerPorts: number[] = [];
    for (let i = 0; i < options.size; i++) {
      clientPorts.push(await freePort());
      peerPorts.push(await freePort());
    }
    return new MemberCluster(mkdtempSync(join(tmpdir(), 'corral-member-cluster-')), clientPorts, peerPorts, options);
  }

  /** The others dial member `id` at `port` from their next start on. */
  redirect(id: number, port: number): void {
    this.dialPorts[id - 1] = port;
  }

  url(id: number): string {
    return `http://127.0.0.1:${this.clientPorts[id - 1]}`;
  }

  async startAll(): Promise<void> {
    for (let id = 1; id <= this.clientPorts.length; id++) await this.start(id);
  }

  /** Starts member `id` (again, on its data). */
  async start(id: number): Promise<RunningServer> {
    const members: Member[] = this.clientPorts.map((clientPort, i) => ({
      id: i + 1, client: `127.0.0.1:${clientPort}`,
      peer: { host: '127.0.0.1', port: i + 1 === id ? this.peerPorts[i]! : this.dialPorts[i]! },
    }));
    const server = await startServer({
      id, members, clusterSecret: CLUSTER_SECRET, raftTickMs: 20, host: '127.0.0.1', port: this.clientPorts[id - 1]!,
      dataDir: join(this.dir, `n${id}`), tickTimeMs: 500, logger: this.options.loggerOf?.(id), ...this.options.configOf?.(id),
    });
    this.servers[id - 1] = server;
    return server;
  }

  async stop(id: number): Promise<void> {
    const server = this.servers[id - 1];
    this.servers[id - 1] = undefined;
    await server?.close();
  }

  /** The leader's id once every running member follows it. */
  async leader(timeoutMs = 10_000): Promise<number> {
    return waitFor(() => {
      const running = this.servers.filter((s): s is RunningServer => s !== undefined);
      const leaders = new Set(running.map((s) => s.node.host.status().leader));
      const [leader] = leaders;
      return leaders.size === 1 && leader !== 0 && running.some((s) => s.node.host.status().role === 'leader') ? leader : undefined;
    }, { timeoutMs, what: 'one leader every running member follows' });
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s?.close()));
    this.servers.fill(undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates znode `path` with `data` through member `url`; the HTTP status. */
export async function createZnode(url: string, path: string, data: string): Promise<number> {
  const res = await fetch(`${url}/v1/znodes${path}`, { method: 'POST', body: data, signal: AbortSignal.timeout(8000) });
  await res.arrayBuffer();
  return res.status;
}

/** Member `url`'s own copy of `path`'s data, or undefined while it has none. */
export async function localData(url: string, path: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v1/znodes${path}`, { signal: AbortSignal.timeout(8000) });
  const text = await res.text();
  if (res.status !== 200) return undefined;
  const body = JSON.parse(text) as { data?: string; encoding?: string };
  if (body.data === undefined) return undefined;
  return body.encoding === 'base64' ? Buffer.from(body.data, 'base64').toString('utf8') : body.data;
}
