/**
 * The part-B recipes on a real 3-process cluster whose leader is SIGKILLed while they work:
 * caches and service discovery converge to what a direct read shows at the end; every queue item
 * is consumed exactly once by competing consumers; no increment of a shared counter is lost or
 * counted twice. Clients prefer different members, so some streams and sessions live on the
 * member that dies. The config writes follow a seeded random schedule (RECIPE_SEED replays it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, CorralSession, DistributedQueue, ServiceDiscovery, ServiceCache, SharedCount, TreeCache } from '../../../src/client/index.ts';
import { CorralCluster } from '../../support/corral-cluster.ts';
import { waitFor } from '../../support/corral-process.ts';
import { cachedView, seededRandom, subtreeNow } from './recipe-truth.ts';

let cluster: CorralCluster;
const sessions: CorralSession[] = [];
const closers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3, raftTickMs: 100 });
}, 90_000);
afterAll(async () => {
  await Promise.all(closers.map((c) => c.close().catch(() => undefined)));
  await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  await cluster?.close();
});

const WORKERS = 3;
const ITEMS = 30;
const ADDS = 8;
const CONFIG_WRITES = 40;

/** A client whose first choice is member `first` (then the others in order). */
function clientFrom(first: number): CorralClient {
  const ids = cluster.ids;
  const at = ids.indexOf(first);
  return new CorralClient({ urls: [...ids.slice(at), ...ids.slice(0, at)].map((id) => cluster.url(id)), retryForMs: 10_000 });
}

async function openSession(first: number): Promise<CorralSession> {
  const session = await CorralSession.open(clientFrom(first), 20_000);
  sessions.push(session);
  return session;
}

describe('Recipes (part B) on a 3-process cluster with the leader SIGKILLed', () => {
  it('converges caches and discovery, consumes each queue item once and loses no increment', async () => {
    const random = seededRandom('recipes cluster');
    const leader = await cluster.leader();
    const others = cluster.ids.filter((id) => id !== leader);
    const writer = clientFrom(others[0]!);
    await writer.create('/e2e', '');
    await writer.create('/e2e/config', 'v0');
    // Caches: one following the member that dies, one another member.
    const caches = [new TreeCache(clientFrom(leader), '/e2e/config'), new TreeCache(clientFrom(others[1]!), '/e2e/config')];
    closers.push(...caches);
    await Promise.all(caches.map((c) => c.start()));

    const workers = await Promise.all(cluster.ids.map((id) => openSession(id)));
    const discoveries = workers.map((s) => new ServiceDiscovery(s, '/e2e/services'));
    await Promise.all(discoveries.map((d, i) => d.register({ name: 'worker', id: `w${i}`, address: '127.0.0.1', port: 9000 + i })));
    // Service caches: one follows the member that dies, one shares a worker session's client.
    const serviceCaches = [new ServiceCache(clientFrom(leader), '/e2e/services/worker'), new ServiceDiscovery(workers[0]!, '/e2e/services').serviceCache('worker')];
    closers.push(...serviceCaches);
    await Promise.all(serviceCaches.map((c) => c.start()));

    let progress = 0;
    let killed = false;
    const killOnce = async () => {
      if (++progress !== 12 || killed) return;
      killed = true;
      await cluster.kill(leader);
    };

    const taken: string[] = [];
    const consumers = workers.map(async (session) => {
      const queue = new DistributedQueue(session, '/e2e/queue');
      for (let i = 0; i < ITEMS + WORKERS; i++) {
        const item = new TextDecoder().decode(await queue.take({ timeoutMs: 60_000 }));
        if (item === 'stop') return;
        taken.push(item);
        await killOnce();
      }
    });
    const producer = (async () => {
      const queue = new DistributedQueue(workers[1]!, '/e2e/queue');
      for (let i = 0; i < ITEMS; i++) await queue.put(`item-${i}`);
      for (let i = 0; i < WORKERS; i++) await queue.put('stop');
    })();
    const counters = await Promise.all(workers.map(async (session) => {
      const count = new SharedCount(session, '/e2e/count');
      closers.push(count);
      await count.start();
      return count;
    }));
    const adders = counters.map(async (count) => {
      for (let i = 0; i < ADDS; i++) {
        await count.add(1);
        await killOnce();
      }
    });
    const configWrites = (async () => {
      for (let i = 0; i < CONFIG_WRITES; i++) {
        const name = `/e2e/config/k${random.int(8)}`;
        const roll = random.next();
        const write = roll < 0.5 ? writer.setData(name, `v${i}`) : roll < 0.8 ? writer.create(name, `c${i}`) : writer.delete(name);
        await write.catch((error: { code?: string }) => {
          if (error.code !== 'NONODE' && error.code !== 'NODEEXISTS') throw error;
        });
      }
      // After the kill, discovery changes too: one instance leaves, one arrives.
      await waitFor(() => killed, { timeoutMs: 60_000, what: 'the leader killed' });
      await discoveries[2]!.unregister('worker', 'w2');
      await discoveries[1]!.register({ name: 'worker', id: 'late', address: '127.0.0.1', port: 9100 });
    })();

    await Promise.all([producer, ...consumers, ...adders, configWrites]);
    expect(killed).toBe(true);

    // Queue: every item once, nothing left.
    expect(taken).toHaveLength(ITEMS);
    expect(new Set(taken).size).toBe(ITEMS);
    expect(await new DistributedQueue(workers[0]!, '/e2e/queue').poll()).toBeUndefined();
    // Counter: every increment counted once.
    const check = new SharedCount(workers[0]!, '/e2e/count');
    closers.push(check);
    await check.start();
    expect(check.getCount()).toBe(WORKERS * ADDS);
    // Caches and discovery: the same as a direct read at the end.
    const truth = await subtreeNow(writer, '/e2e/config');
    for (const [i, cache] of caches.entries()) {
      await waitFor(() => JSON.stringify(cachedView(cache)) === JSON.stringify(truth), { timeoutMs: 20_000, what: `cache ${i} to converge (seed ${random.seed})` });
    }
    const instances = async () => (await discoveries[0]!.queryForInstances('worker')).map((x) => x.id).sort();
    expect(await instances()).toEqual(['late', 'w0', 'w1']);
    for (const [i, cache] of serviceCaches.entries()) {
      await waitFor(async () => JSON.stringify(cache.instances().map((x) => x.id).sort()) === JSON.stringify(await instances()), { timeoutMs: 20_000, what: `service cache ${i} to converge` });
    }
  }, 150_000);
});
