/**
 * ZooKeeper 3.8 standalone over TLS (`zookeeper-tls`: its secureClientPort) and the same server's
 * plain port (`zookeeper-netty`), both driven by Corral's own ZooKeeper client
 * (src/zookeeper-client, the gateway's), which speaks TLS where node-zookeeper-client (the
 * `zookeeper` target's) does not. The server is the same in both: Netty connections, which
 * ZooKeeper needs for TLS, so the pair tells what TLS costs ZooKeeper, to set beside what it costs
 * Corral (`corral-tls`). Certificates from scripts/dev-pki.ts (EC P-256), no client certificate,
 * TLS 1.3 — as Corral's TLS target. `zookeeper-own-client` is the `zookeeper` target's server
 * (NIO, no TLS) driven by this client: what node-zookeeper-client costs the `zookeeper` rows.
 * Opt-in; request workloads only.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { makeDevPki } from '../../scripts/dev-pki.ts';
import { OPEN_ACL_UNSAFE, ZooKeeperClient } from '../../src/zookeeper-client/index.ts';
import type { ZkTlsOptions } from '../../src/zookeeper-client/index.ts';
import { makeTempDir, removeTempDir, startWithFreshPorts } from '../servers/managed-process.ts';
import { ZooKeeperEnsemble } from '../servers/zookeeper-server.ts';
import type { Availability, KvClient, StartOptions, Target, Watcher } from './target.ts';
import { ZK_CONNECTIONS_MAX, ZkDeployment, zookeeperTargetAvailability } from './zookeeper.ts';

const OPS_PER_MULTI_MAX = 1000;
const SESSION_TIMEOUT_MS = 30_000;

function connect(port: number, tls: ZkTlsOptions | undefined): Promise<ZooKeeperClient> {
  return ZooKeeperClient.connect({
    servers: [{ host: '127.0.0.1', port }], sessionTimeoutMs: SESSION_TIMEOUT_MS, connectTimeoutMs: 30_000, ...(tls ? { tls } : {}),
  }).then((client) => {
    if (!(client instanceof ZooKeeperClient)) throw new Error(`no ZooKeeper session on 127.0.0.1:${port}: ${client.code} ${client.message}`);
    return client;
  });
}

/** Throws the server's error of `what`, else nothing. */
function check(what: string, path: string, answer: object): void {
  if ('code' in answer && typeof answer.code === 'string') throw new Error(`ZooKeeper ${what} ${path}: ${answer.code} ${String((answer as { message?: unknown }).message ?? '')}`);
}

class OwnClientPool implements KvClient {
  private next = 0;

  constructor(private readonly clients: readonly ZooKeeperClient[]) {}

  private pick(): ZooKeeperClient {
    const client = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return client;
  }

  async setData(path: string, data: Buffer): Promise<string> {
    check('setData', path, await this.pick().setData(path, data, -1));
    return '';
  }

  async getData(path: string): Promise<void> {
    check('getData', path, await this.pick().getData(path));
  }

  async create(path: string, data: Buffer): Promise<void> {
    check('create', path, await this.pick().create({ path, data, acl: OPEN_ACL_UNSAFE, mode: 'persistent' }));
  }

  async createMany(paths: readonly string[], data: Buffer): Promise<void> {
    for (let i = 0; i < paths.length; i += OPS_PER_MULTI_MAX) {
      const ops = paths.slice(i, i + OPS_PER_MULTI_MAX).map((path) => ({ type: 'create' as const, path, data, acl: OPEN_ACL_UNSAFE, mode: 'persistent' as const }));
      check('multi', paths[i]!, await this.pick().multi(ops));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/** The `zookeeper` target's deployment, driven by Corral's own client on one port, request workloads only. */
class ZkTlsDeployment extends ZkDeployment {
  constructor(target: string, ensemble: ZooKeeperEnsemble, private readonly port: number,
    private readonly tls: ZkTlsOptions | undefined, private readonly dir: string) {
    super(target, 1, ensemble);
  }

  override async client(inFlight: number): Promise<KvClient> {
    const count = Math.max(1, Math.min(inFlight, ZK_CONNECTIONS_MAX));
    return new OwnClientPool(await Promise.all(Array.from({ length: count }, () => connect(this.port, this.tls))));
  }

  override watcher(): Promise<Watcher> {
    return Promise.reject(new Error(`${this.target} runs the request workloads only`));
  }

  override async stop(): Promise<void> {
    await super.stop();
    removeTempDir(this.dir);
  }
}

/** `server`: with a secureClientPort (Netty, `port` says which of its ports is driven), or the default NIO server without one. */
function target(name: string, server: 'netty' | 'nio', port: 'secure' | 'plain'): Target {
  const overTls = port === 'secure';
  return {
    name, nodes: 1, bulkBatchMax: OPS_PER_MULTI_MAX, availability: zookeeperTargetAvailability,
    start: (options: StartOptions) => startWithFreshPorts(async () => {
      const dir = makeTempDir('zk-tls-bench-', options.workDir);
      const pki = makeDevPki(join(dir, 'pki'));
      const ensemble = await ZooKeeperEnsemble.create(1, options.workDir, server === 'netty' ? pki : undefined);
      try {
        const readyMs = await ensemble.start();
        const port = overTls ? ensemble.securePorts[0]! : ensemble.clientPorts[0]!;
        const tls = overTls ? { ca: readFileSync(pki.ca.cert) } : undefined;
        return { deployment: new ZkTlsDeployment(name, ensemble, port, tls, dir), readyMs };
      } catch (error) {
        await ensemble.remove();
        removeTempDir(dir);
        throw error;
      }
    }),
  };
}

export const zookeeperTlsTarget = target('zookeeper-tls', 'netty', 'secure');
export const zookeeperNettyTarget = target('zookeeper-netty', 'netty', 'plain');
/** The `zookeeper` target's server exactly (NIO, no TLS), driven by this client instead of node-zookeeper-client. */
export const zookeeperOwnClientTarget = target('zookeeper-own-client', 'nio', 'plain');
