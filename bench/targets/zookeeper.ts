/**
 * ZooKeeper 3.8 as a target, standalone (`zookeeper`) or a 3-server ensemble on loopback
 * (`zookeeper-3`), driven through node-zookeeper-client. ZooKeeper's protocol pipelines requests
 * on one connection, so N in flight are spread over min(N, ZK_CONNECTIONS_MAX) connections (and
 * over the ensemble's servers round-robin). Watchers: one client connection (session) each,
 * one-shot data watches re-armed with getData after every event (the library has no persistent
 * watches); ZooKeeper's events carry no zxid.
 */
import zookeeper, { type Client } from 'node-zookeeper-client';
import { ZooKeeperEnsemble, zookeeperAvailability } from '../servers/zookeeper-server.ts';
import { startWithFreshPorts } from '../servers/managed-process.ts';
import type { Availability, Deployment, EventListener, KvClient, StartOptions, Target, Watcher } from './target.ts';

/** Overridable with BENCH_ZK_CONNECTIONS to compare (see BENCHMARKS.md). */
export const ZK_CONNECTIONS_MAX = Number(process.env.BENCH_ZK_CONNECTIONS ?? 8);
const CONNECT_TIMEOUT_MS = 30_000;
const OPS_PER_MULTI_MAX = 1000;
const NODE_DATA_CHANGED = 3;

function connect(port: number): Promise<Client> {
  const client = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 30_000, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no ZooKeeper session on 127.0.0.1:${port} within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

const fail = (what: string, path: string, error: Error) => new Error(`ZooKeeper ${what} ${path}: ${error.message}`);

class ZkPool implements KvClient {
  private next = 0;

  constructor(private readonly clients: readonly Client[]) {}

  private pick(): Client {
    const client = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return client;
  }

  setData(path: string, data: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pick().setData(path, data, -1, (error) => (error ? reject(fail('setData', path, error)) : resolve('')));
    });
  }

  getData(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pick().getData(path, (error) => (error ? reject(fail('getData', path, error)) : resolve()));
    });
  }

  create(path: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pick().create(path, data, zookeeper.CreateMode.PERSISTENT, (error) => (error ? reject(fail('create', path, error)) : resolve()));
    });
  }

  async createMany(paths: readonly string[], data: Buffer): Promise<void> {
    for (let i = 0; i < paths.length; i += OPS_PER_MULTI_MAX) {
      const txn = this.pick().transaction();
      for (const path of paths.slice(i, i + OPS_PER_MULTI_MAX)) txn.create(path, data, zookeeper.CreateMode.PERSISTENT);
      await new Promise<void>((resolve, reject) => txn.commit((error) => (error ? reject(fail('multi', paths[i]!, error)) : resolve())));
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
  }
}

/** One session per watcher; the one-shot watch is re-armed by `arm()` (getData with a watcher). */
async function zkWatcher(port: number, path: string, onEvent: EventListener): Promise<Watcher> {
  const client = await connect(port);
  const watch = (event: { type: number }) => {
    if (event.type === NODE_DATA_CHANGED) onEvent('', performance.now());
  };
  return {
    arm: () => new Promise<void>((resolve, reject) => {
      client.getData(path, watch, (error) => (error ? reject(fail('getData+watch', path, error)) : resolve()));
    }),
    close: () => client.close(),
  };
}

export class ZkDeployment implements Deployment {
  readonly oneShotWatches = true;

  constructor(readonly target: string, readonly nodes: number, protected readonly ensemble: ZooKeeperEnsemble) {}

  async client(inFlight: number): Promise<KvClient> {
    const ports = this.ensemble.clientPorts;
    const count = Math.max(1, Math.min(inFlight, ZK_CONNECTIONS_MAX));
    const clients = await Promise.all(Array.from({ length: count }, (_, i) => connect(ports[i % ports.length]!)));
    return new ZkPool(clients);
  }

  /** The client ports, for the watch-scale subscribers (bench/workloads/watch-scale.ts). */
  scaleEndpoints(): { kind: 'zookeeper'; ports: number[] } {
    return { kind: 'zookeeper', ports: [...this.ensemble.clientPorts] };
  }

  watcher(path: string, index: number, onEvent: EventListener): Promise<Watcher> {
    const ports = this.ensemble.clientPorts;
    return zkWatcher(ports[index % ports.length]!, path, onEvent);
  }

  rssBytes(): number[] {
    return this.ensemble.rssBytes();
  }

  cpuSeconds(): number {
    return this.ensemble.cpuSeconds();
  }

  exitDetail(): string | undefined {
    return this.ensemble.exitDetail();
  }

  async restart(): Promise<number> {
    await this.ensemble.stop();
    return this.ensemble.start();
  }

  stop(): Promise<void> {
    return this.ensemble.remove();
  }
}

export function zookeeperTargetAvailability(): Availability {
  const available = zookeeperAvailability();
  return available.ok ? { ok: true } : { ok: false, status: 'missing', reason: `missing: ${available.reason}` };
}

function zookeeperTarget(name: string, nodes: 1 | 3): Target {
  return {
    name, nodes, bulkBatchMax: OPS_PER_MULTI_MAX, availability: zookeeperTargetAvailability,
    start: (options: StartOptions) => startWithFreshPorts(async () => {
      const ensemble = await ZooKeeperEnsemble.create(nodes, options.workDir);
      try {
        const readyMs = await ensemble.start();
        return { deployment: new ZkDeployment(name, nodes, ensemble), readyMs };
      } catch (error) {
        await ensemble.remove();
        throw error;
      }
    }),
  };
}

export const zookeeperStandaloneTarget = zookeeperTarget('zookeeper', 1);
export const zookeeperEnsembleTarget = zookeeperTarget('zookeeper-3', 3);
