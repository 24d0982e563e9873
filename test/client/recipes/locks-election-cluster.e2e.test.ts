/**
 * ReadWriteLock, Semaphore, LeaderSelector and LeaderLatch on a real 3-process cluster whose
 * leader is SIGKILLed mid-run while one participant's session expires (its network cut by the
 * test). Checking resources stand for what the recipes guard: every holder writes on entry and on
 * exit with its fencing token; an exit write is accepted only if no conflicting holder's write was
 * accepted since the entry, and a participant cut off from the cluster is cut off from the
 * resource too until it heals (then its stale token is refused).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CorralClient, CorralSession, FencingGuard, LeaderLatch, LeaderSelector, ReadWriteFencingGuard, ReadWriteLock, Semaphore,
} from '../../../src/client/index.ts';
import { CorralCluster } from '../../support/corral-cluster.ts';
import { waitFor } from '../../support/corral-process.ts';
import { cuttableFetch, type CuttableFetch } from './cuttable-fetch.ts';
import { seededRandom } from './queue-test-helpers.ts';

let cluster: CorralCluster;
const opened: CorralSession[] = [];
/** tickTime 500 ms: session timeouts are clamped to [1 s, 10 s]. */
const TICK_MS = 500;
const SESSION_MS = 10_000;
const EXPIRING_SESSION_MS = 1000;

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3, raftTickMs: 100, extraArgs: ['--tick-time-ms', String(TICK_MS)] });
}, 120_000);
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => (s.ended ? undefined : s.close().catch(() => undefined))));
  await cluster.restore(60_000);
}, 90_000);
afterAll(async () => {
  await cluster?.close();
});

/** A session preferring member `i % 3` first, so some sessions live on the member that dies. */
async function session(i: number, net?: CuttableFetch): Promise<CorralSession> {
  const ids = cluster.ids;
  const order = [...ids.slice(i % ids.length), ...ids.slice(0, i % ids.length)].map((id) => cluster.url(id));
  const client = new CorralClient({ urls: order, retryForMs: net ? 300 : 15_000, ...(net ? { fetch: net.fetch } : {}) });
  const opening = await CorralSession.open(client, net ? EXPIRING_SESSION_MS : SESSION_MS);
  opened.push(opening);
  return opening;
}

/** Kills the cluster's leader once, when `turn` reaches `at`. */
function killer(at: number): { onTurn: (turn: number) => Promise<void>; killed: () => boolean } {
  let killed = false;
  return {
    onTurn: async (turn) => {
      if (turn !== at || killed) return;
      killed = true;
      await cluster.kill(await cluster.leader());
    },
    killed: () => killed,
  };
}

describe('Recipes on a 3-process cluster with the leader SIGKILLed and a session expiring', () => {
  it('ReadWriteLock: a checking resource never accepts a writer while anyone else holds, and refuses the expired writer', async () => {
    const random = seededRandom('rw-lock cluster workload');
    const guard = new ReadWriteFencingGuard();
    const accepted: Array<{ who: number; side: 'read' | 'write' }> = [];
    const write = (who: number, side: 'read' | 'write', token: bigint) => {
      if (!(side === 'read' ? guard.admitRead(token) : guard.admitWrite(token))) return false;
      accepted.push({ who, side });
      return true;
    };
    // The participant that will expire takes the write lock first; everyone else queues behind it.
    const net = cuttableFetch();
    const stale = await new ReadWriteLock(await session(0, net), '/recipes/cluster-rw').writeLock.acquire({ timeoutMs: 20_000 });
    expect(write(-1, 'write', stale.token)).toBe(true);
    const kill = killer(4);
    let turns = 0;
    const sessions = await Promise.all([1, 2, 3].map((i) => session(i)));
    const plan = sessions.map(() => Array.from({ length: 3 }, () => (random() < 0.5 ? 'write' as const : 'read' as const)));
    const work = Promise.all(sessions.map(async (s, who) => {
      const rw = new ReadWriteLock(s, '/recipes/cluster-rw');
      for (const side of plan[who]!) {
        const lease = await (side === 'read' ? rw.readLock : rw.writeLock).acquire({ timeoutMs: 60_000 });
        const entered = accepted.length;
        expect(write(who, side, lease.token)).toBe(true);
        await kill.onTurn(++turns);
        await s.request('/v1/stat/recipes/cluster-rw'); // a round trip inside the section
        if (write(who, side, lease.token)) {
          const since = accepted.slice(entered + 1, -1);
          expect(since.every((w) => (side === 'write' ? w.who === who : w.side === 'read' || w.who === who))).toBe(true);
        }
        await lease.release();
      }
    }));
    net.cut(); // the first writer's session expires: the queue behind it moves on
    await work;
    net.heal();
    expect(write(-1, 'write', stale.token)).toBe(false); // it still thinks it holds the lock: refused
    await waitFor(() => stale.lost.aborted, { timeoutMs: 20_000, what: 'the expired writer told it lost the lock' });
    expect(kill.killed()).toBe(true);
    expect(turns).toBe(9);
  }, 180_000);

  it('Semaphore: never more than N holders, and an expired holder\'s lease comes back', async () => {
    const N = 2;
    const net = cuttableFetch();
    const [stale] = await new Semaphore(await session(0, net), '/recipes/cluster-sem', N).acquire(1, { timeoutMs: 20_000 });
    const inside = new Set<number>([-1]);
    let most = inside.size;
    const kill = killer(3);
    let turns = 0;
    const sessions = await Promise.all([1, 2, 3].map((i) => session(i)));
    net.cut();
    inside.delete(-1); // cut off: it no longer uses the resource (its lease expires on the server)
    await Promise.all(sessions.map(async (s, who) => {
      const semaphore = new Semaphore(s, '/recipes/cluster-sem', N);
      for (let round = 0; round < 3; round++) {
        const [lease] = await semaphore.acquire(1, { timeoutMs: 60_000 });
        inside.add(who);
        most = Math.max(most, inside.size);
        await kill.onTurn(++turns);
        for (let trip = 0; trip < 3; trip++) await s.request('/v1/stat/recipes/cluster-sem'); // holding for a while
        inside.delete(who);
        await lease!.release();
      }
    }));
    expect(kill.killed()).toBe(true);
    expect(most).toBeLessThanOrEqual(N);
    expect(turns).toBe(9);
    // The expired holder's lease goes back to the pool: all N can be taken at once.
    const semaphore = new Semaphore(sessions[0]!, '/recipes/cluster-sem', N);
    await waitFor(async () => (await semaphore.leaseCount()) === 0, { timeoutMs: 30_000, what: 'the expired lease gone' });
    const all = await semaphore.acquire(N, { timeoutMs: 20_000 });
    expect(all).toHaveLength(N);
    for (const lease of all) await lease.release();
    net.heal();
    await waitFor(() => stale!.lost.aborted, { timeoutMs: 20_000, what: 'the expired holder told it lost its lease' });
  }, 180_000);

  it('LeaderSelector: one leader at a time, each epoch led by one participant, the expired leader fenced off', async () => {
    const guard = new FencingGuard();
    const epochs = new Map<bigint, number>();
    let leading = 0;
    let most = 0;
    let turns = 0;
    const violations: string[] = []; // collected: what takeLeadership throws is only reported to onError
    const kill = killer(3);
    const net = cuttableFetch();
    const makeWork = (who: number) => async (signal: AbortSignal, epoch: bigint) => {
      if (epochs.has(epoch)) violations.push(`epoch ${epoch} led twice`);
      epochs.set(epoch, who);
      if (!guard.admit(epoch)) violations.push(`epoch ${epoch} refused`);
      if (who === -1) return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      leading++;
      most = Math.max(most, leading);
      await kill.onTurn(++turns);
      leading--;
    };
    const expiring = new LeaderSelector(await session(0, net), '/recipes/cluster-selector', makeWork(-1), { id: 'expiring' });
    expiring.start();
    await waitFor(() => expiring.hasLeadership(), { timeoutMs: 20_000, what: 'the first participant leading' });
    const staleEpoch = expiring.epoch!;
    const sessions = await Promise.all([1, 2, 3].map((i) => session(i)));
    const selectors = sessions.map((s, who) => new LeaderSelector(s, '/recipes/cluster-selector', makeWork(who), { id: `p${who}`, autoRequeue: true }));
    for (const selector of selectors) selector.start();
    net.cut(); // the leader's session expires: the next participant leads
    await waitFor(() => turns >= 9, { timeoutMs: 90_000, what: 'nine leaderships' });
    for (const selector of selectors) await selector.close();
    net.heal();
    expect(guard.admit(staleEpoch)).toBe(false);
    await waitFor(() => !expiring.hasLeadership(), { timeoutMs: 20_000, what: 'the expired leader told' });
    expect(kill.killed()).toBe(true);
    expect(violations).toEqual([]);
    expect(most).toBe(1);
  }, 180_000);

  it('LeaderLatch: exactly one leader per epoch while leaders leave and the cluster leader dies', async () => {
    const sessions = await Promise.all([0, 1, 2].map((i) => session(i)));
    const epochs = new Map<bigint, string>();
    let latches = sessions.map((s, i) => new LeaderLatch(s, '/recipes/cluster-latch', `p${i}`));
    for (const latch of latches) await latch.start();
    const kill = killer(2);
    let most = 0;
    for (let round = 1; round <= 5; round++) {
      const leader = await waitFor(() => {
        const leaders = latches.filter((l) => l.isLeader());
        most = Math.max(most, leaders.length);
        return leaders[0];
      }, { timeoutMs: 30_000, what: `a leader in round ${round}` });
      const epoch = leader.epoch!;
      expect(epochs.get(epoch) ?? leader.id).toBe(leader.id);
      expect([...epochs.keys()].every((e) => e < epoch)).toBe(true);
      epochs.set(epoch, leader.id);
      await kill.onTurn(round);
      // The leader leaves and joins again at the back of the queue.
      await leader.close();
      const again = new LeaderLatch(leader.session, '/recipes/cluster-latch', leader.id);
      latches = [...latches.filter((l) => l !== leader), again];
      await again.start();
    }
    expect(kill.killed()).toBe(true);
    expect(most).toBe(1);
    expect(epochs.size).toBe(5);
    for (const latch of latches) await latch.close();
  }, 180_000);
});
