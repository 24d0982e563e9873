/**
 * etcd 3.4 as a target, one member (`etcd`) or three (`etcd-3`), driven through its v3 JSON
 * gateway (grpc-gateway inside etcd, on the client port): POST /v3/kv/put, /v3/kv/range and
 * /v3/kv/txn with base64 keys and values, over node:http keep-alive sockets. Reads are
 * `serializable` (served by the member, like ZooKeeper's and Corral's reads); a create is a txn
 * that puts only if the key has never been created (ZooKeeper's create semantics). Watchers: one
 * POST /v3/watch stream each; events carry the revision.
 */
import { HttpClient, HttpError, openStream } from '../http-client.ts';
import { EtcdCluster, etcdAvailability } from '../servers/etcd-server.ts';
import { startWithFreshPorts } from '../servers/managed-process.ts';
import type { Availability, Deployment, EventListener, KvClient, StartOptions, Target, Watcher } from './target.ts';

/** etcd's default --max-txn-ops. */
const OPS_PER_TXN_MAX = 128;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const JSON_HEADERS = { 'content-type': 'application/json' };

class EtcdClient implements KvClient {
  private next = 0;

  constructor(private readonly members: readonly HttpClient[]) {}

  private pick(): HttpClient {
    const member = this.members[this.next]!;
    this.next = (this.next + 1) % this.members.length;
    return member;
  }

  async setData(path: string, data: Buffer, wantToken = false): Promise<string> {
    const body = JSON.stringify({ key: b64(path), value: data.toString('base64') });
    const reply = await this.pick().expect('POST', '/v3/kv/put', 200, body, JSON_HEADERS);
    return wantToken ? String(JSON.parse(reply.body.toString('utf8')).header.revision) : '';
  }

  async getData(path: string): Promise<void> {
    const reply = await this.pick().expect('POST', '/v3/kv/range', 200, JSON.stringify({ key: b64(path), serializable: true }), JSON_HEADERS);
    // An absent key is a 200 with no kvs; ZooKeeper and Corral would answer NONODE.
    if (!reply.body.includes('"kvs"')) throw new Error(`etcd range ${path}: no such key`);
  }

  async create(path: string, data: Buffer): Promise<void> {
    await this.txnCreate([path], data);
  }

  async createMany(paths: readonly string[], data: Buffer): Promise<void> {
    for (let i = 0; i < paths.length; i += OPS_PER_TXN_MAX) await this.txnCreate(paths.slice(i, i + OPS_PER_TXN_MAX), data);
  }

  private async txnCreate(paths: readonly string[], data: Buffer): Promise<void> {
    const value = data.toString('base64');
    const keys = paths.map(b64);
    const body = JSON.stringify({
      compare: keys.map((key) => ({ key, target: 'CREATE', result: 'EQUAL', create_revision: '0' })),
      success: keys.map((key) => ({ request_put: { key, value } })),
    });
    const reply = await this.pick().expect('POST', '/v3/kv/txn', 200, body, JSON_HEADERS);
    if (!reply.body.includes('"succeeded":true')) throw new HttpError(200, reply.body.toString('utf8'), `etcd create ${paths[0]} (exists)`);
  }

  async close(): Promise<void> {
    for (const member of this.members) member.close();
  }
}

/** One watch stream (its own connection); the gateway sends one JSON object per line. */
async function etcdWatcher(baseUrl: string, path: string, onEvent: EventListener): Promise<Watcher> {
  let buffer = '';
  let created: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => (created = resolve));
  const stream = openStream(baseUrl, 'POST', '/v3/watch', JSON.stringify({ create_request: { key: b64(path) } }), JSON_HEADERS,
    (text) => {
      const at = performance.now();
      buffer += text;
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line === '') continue;
        const result = JSON.parse(line).result ?? {};
        if (result.created) created?.();
        for (const event of result.events ?? []) onEvent(String(event.kv?.mod_revision ?? ''), at);
      }
    }, () => undefined);
  await stream.opened;
  await ready;
  return { arm: async () => undefined, close: () => stream.close() };
}

class EtcdDeployment implements Deployment {
  readonly oneShotWatches = false;

  constructor(readonly target: string, readonly nodes: number, private readonly cluster: EtcdCluster) {}

  async client(inFlight: number): Promise<KvClient> {
    return new EtcdClient(this.cluster.clientUrls.map((url) => new HttpClient(url, inFlight)));
  }

  watcher(path: string, index: number, onEvent: EventListener): Promise<Watcher> {
    const urls = this.cluster.clientUrls;
    return etcdWatcher(urls[index % urls.length]!, path, onEvent);
  }

  rssBytes(): number[] {
    return this.cluster.rssBytes();
  }

  cpuSeconds(): number {
    return this.cluster.cpuSeconds();
  }

  exitDetail(): string | undefined {
    return this.cluster.exitDetail();
  }

  async restart(): Promise<number> {
    await this.cluster.stop();
    return this.cluster.start();
  }

  stop(): Promise<void> {
    return this.cluster.remove();
  }
}

function availability(): Availability {
  const available = etcdAvailability();
  return available.ok ? { ok: true } : { ok: false, status: 'missing', reason: `missing: ${available.reason}` };
}

function etcdTarget(name: string, nodes: 1 | 3): Target {
  return {
    name, nodes, bulkBatchMax: OPS_PER_TXN_MAX, availability,
    start: (options: StartOptions) => startWithFreshPorts(async () => {
      const cluster = await EtcdCluster.create(nodes, options.workDir);
      try {
        const readyMs = await cluster.start();
        return { deployment: new EtcdDeployment(name, nodes, cluster), readyMs };
      } catch (error) {
        await cluster.remove();
        throw error;
      }
    }),
  };
}

export const etcdSingleTarget = etcdTarget('etcd', 1);
export const etcdClusterTarget = etcdTarget('etcd-3', 3);
