import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_RULE, ReadWriteFencingGuard, ReadWriteLock, WRITE_RULE, type LockLease } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { children, seededRandom } from './queue-test-helpers.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

type Side = 'read' | 'write';

/** Starts acquiring one side and waits until its node is queued, so arrival order is known. */
async function enqueue(rw: ReadWriteLock, side: Side, expectedNodes: number): Promise<{ lease: Promise<LockLease>; granted: () => boolean }> {
  let granted = false;
  const lease = (side === 'read' ? rw.readLock : rw.writeLock).acquire({ timeoutMs: 15_000 }).then((l) => ((granted = true), l));
  lease.catch(() => undefined);
  await waitFor(async () => (await children(rw.session, rw.path)).length >= expectedNodes, { timeoutMs: 5000, what: `${expectedNodes} nodes in ${rw.path}` });
  return { lease, granted: () => granted };
}

describe('ReadWriteLock queue rules (pure, property-based)', () => {
  const queueOf = (sides: readonly Side[]) => sides.map((side, i) => `_c_x-${side}-${String(i).padStart(10, '0')}`);
  const blockerOf = (members: readonly string[], at: number) => (members[at]!.includes('-write-') ? WRITE_RULE : READ_RULE).blockerOf(members, at);

  it('holds either the first writer alone or the readers before the first writer, and each waiter watches one earlier node', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom<Side>('read', 'write'), { minLength: 1, maxLength: 30 }), (sides) => {
      const members = queueOf(sides);
      const holders = members.filter((_, at) => blockerOf(members, at) === undefined);
      const firstWriter = sides.indexOf('write');
      const expected = firstWriter === 0 ? [members[0]] : members.slice(0, firstWriter < 0 ? members.length : firstWriter);
      expect(holders).toEqual(expected);
      members.forEach((name, at) => {
        const blocker = blockerOf(members, at);
        if (blocker === undefined) return;
        expect(members.indexOf(blocker)).toBeLessThan(at);
        // A writer waits for the node just before it; a reader for the last writer before it.
        if (sides[at] === 'write') expect(blocker).toBe(members[at - 1]);
        else expect(blocker).toBe(members.slice(0, at).filter((m) => m.includes('-write-')).pop());
      });
    }), { seed: 17, numRuns: 300 });
  });
});

describe('ReadWriteLock (fair, shared readers, exclusive writer, fencing tokens)', () => {
  it('lets readers hold the lock together', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => harness.session()));
    const leases = await Promise.all(sessions.map((s) => new ReadWriteLock(s, '/recipes/rw-share').readLock.acquire({ timeoutMs: 5000 })));
    expect(new Set(leases.map((l) => l.path)).size).toBe(3);
    for (const lease of leases) await lease.release();
  });

  it('makes a writer wait for everyone before it, and a reader after a waiting writer wait for it (fair order)', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => harness.session()));
    const [r1, w, r2] = sessions.map((s) => new ReadWriteLock(s, '/recipes/rw-fair'));
    const first = await r1!.readLock.acquire();
    const writer = await enqueue(w!, 'write', 2);
    const reader = await enqueue(r2!, 'read', 3);
    await expect(new ReadWriteLock(sessions[0]!, '/recipes/rw-fair').writeLock.acquire({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    expect([writer.granted(), reader.granted()]).toEqual([false, false]);
    await first.release();
    const held = await writer.lease;
    expect(reader.granted()).toBe(false);
    expect(held.token > first.token).toBe(true);
    await held.release();
    const read = await reader.lease;
    expect(read.token > held.token).toBe(true);
    await read.release();
  });

  it('makes each waiter watch only the node that blocks it (no herd)', async () => {
    const sides: Side[] = ['write', 'read', 'read', 'write', 'read'];
    const sessions = await Promise.all(sides.map(() => harness.session()));
    const locks = sessions.map((s) => new ReadWriteLock(s, '/recipes/rw-herd'));
    const head = await locks[0]!.writeLock.acquire();
    const pending = [];
    for (let i = 1; i < sides.length; i++) pending.push(await enqueue(locks[i]!, sides[i]!, i + 1));
    const queue = await children(sessions[0]!, '/recipes/rw-herd');
    const at = (i: number) => `/recipes/rw-herd/${queue[i]}`;
    // r1 and r2 wait for w0; w3 waits for r2 (just before it); r4 waits for w3 (the last writer before it).
    const expected = [[1, 0], [2, 0], [3, 2], [4, 3]].map(([who, blocker]) => `${sessions[who!]!.id} data ${at(blocker!)}`).sort();
    const watches = () => harness.watchesUnder('/recipes/rw-herd').filter((w) => w.sessionId !== sessions[0]!.id).map((w) => `${w.sessionId} ${w.kind} ${w.path}`).sort();
    await waitFor(() => watches().length === 4, { timeoutMs: 5000, what: 'four waiter watches' });
    expect(watches()).toEqual(expected);
    await head.release();
    const readers = await Promise.all([pending[0]!.lease, pending[1]!.lease]);
    expect(pending[2]!.granted()).toBe(false);
    for (const lease of readers) await lease.release();
    await (await pending[2]!.lease).release();
    await (await pending[3]!.lease).release();
  });

  it('never grants a writer together with anyone else under a random workload, per a checking resource', async () => {
    const random = seededRandom('rw-lock workload');
    const sessions = await Promise.all(Array.from({ length: 5 }, () => harness.session()));
    const guard = new ReadWriteFencingGuard();
    let readers = 0;
    let writers = 0;
    let violations = 0;
    const plan = sessions.map(() => Array.from({ length: 4 }, (): Side => (random() < 0.4 ? 'write' : 'read')));
    await Promise.all(sessions.map(async (session, who) => {
      const rw = new ReadWriteLock(session, '/recipes/rw-random');
      for (const side of plan[who]!) {
        const lease = await (side === 'read' ? rw.readLock : rw.writeLock).acquire({ timeoutMs: 30_000 });
        if (side === 'read') readers++;
        else writers++;
        if (writers > 1 || (writers === 1 && readers > 0)) violations++;
        expect(side === 'read' ? guard.admitRead(lease.token) : guard.admitWrite(lease.token)).toBe(true);
        await session.request('/v1/stat/recipes/rw-random'); // a round trip inside the section
        if (side === 'read') readers--;
        else writers--;
        await lease.release();
      }
    }));
    expect(violations).toBe(0);
  });

  it('refuses a stale writer whose session expired, once a later holder used the resource', async () => {
    const cut = await harness.partitionable(400);
    const other = await harness.session();
    const guard = new ReadWriteFencingGuard();
    const stale = await new ReadWriteLock(cut.session, '/recipes/rw-expiry').writeLock.acquire();
    expect(guard.admitWrite(stale.token)).toBe(true);
    const { lease: next } = await enqueue(new ReadWriteLock(other, '/recipes/rw-expiry'), 'read', 2);
    cut.cut();
    const read = await next; // the server expired the writer: its node went, the reader was woken
    expect(guard.admitRead(read.token)).toBe(true);
    expect(guard.admitWrite(stale.token)).toBe(false);
    cut.heal();
    await waitFor(() => stale.lost.aborted, { timeoutMs: 5000, what: 'the stale writer told it lost the lock' });
    await read.release();
  });
});
