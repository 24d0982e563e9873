/**
 * The lock on a real 3-process cluster whose leader is SIGKILLed while contenders take turns:
 * a resource that checks fencing tokens never accepts writes from two holders in overlapping
 * critical sections (every holder writes on entry and on exit; a holder's exit write is accepted
 * only if no other holder's write was accepted since its entry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, CorralSession, FencingGuard, Lock } from '../../../src/client/index.ts';
import { CorralCluster } from '../../support/corral-cluster.ts';

let cluster: CorralCluster;
const sessions: CorralSession[] = [];

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3, raftTickMs: 100 });
}, 90_000);
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  await cluster?.close();
});

const CONTENDERS = 3;
const ROUNDS = 4;

describe('Lock on a 3-process cluster with the leader SIGKILLed', () => {
  it('never lets a checking resource accept two holders at once, and every contender gets its turns', async () => {
    const leader = await cluster.leader();
    // Each contender prefers a different member, so some sessions live on the node that dies.
    for (let i = 0; i < CONTENDERS; i++) {
      const order = [...cluster.ids.slice(i), ...cluster.ids.slice(0, i)].map((id) => cluster.url(id));
      sessions.push(await CorralSession.open(new CorralClient({ urls: order, retryForMs: 10_000 }), 20_000));
    }
    const guard = new FencingGuard();
    const accepted: Array<{ who: number; token: bigint; at: 'enter' | 'exit' }> = [];
    const write = (who: number, token: bigint, at: 'enter' | 'exit') => {
      if (!guard.admit(token)) return false;
      accepted.push({ who, token, at });
      return true;
    };
    let turns = 0;
    let killed = false;
    await Promise.all(sessions.map(async (session, who) => {
      const lock = new Lock(session, '/recipes/cluster-lock');
      for (let round = 0; round < ROUNDS; round++) {
        const lease = await lock.acquire({ timeoutMs: 30_000 });
        const entered = accepted.length;
        write(who, lease.token, 'enter');
        turns++;
        if (turns === 3 && !killed) {
          killed = true;
          await cluster.kill(leader); // while holding the lock: release has to go to the new leader
        }
        await session.request('/v1/stat/recipes/cluster-lock'); // a round trip inside the section
        const exitAccepted = write(who, lease.token, 'exit');
        if (exitAccepted) expect(accepted.slice(entered + 1, -1).every((w) => w.who === who)).toBe(true);
        await lease.release();
      }
    }));
    expect(killed).toBe(true);
    expect(turns).toBe(CONTENDERS * ROUNDS);
    const tokens = accepted.map((w) => w.token);
    expect([...tokens].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(tokens);
  }, 90_000);
});
