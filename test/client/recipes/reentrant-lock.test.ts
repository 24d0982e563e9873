import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lock, type LockLease } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { children } from './queue-test-helpers.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

describe('Lock with { reentrant: true } (InterProcessMutex reentrancy)', () => {
  it('acquires again without a new node, keeps the first token, and deletes the node on the last release', async () => {
    const session = await harness.session();
    const lock = new Lock(session, '/recipes/reentrant', { reentrant: true });
    const first = await lock.acquire({ timeoutMs: 5000 });
    const second = await lock.acquire({ timeoutMs: 5000 });
    expect(second.token).toBe(first.token);
    expect(second.path).toBe(first.path);
    expect(lock.holdCount).toBe(2);
    expect(await children(session, '/recipes/reentrant')).toHaveLength(1);
    await second.release();
    await second.release(); // a lease counts down once, however often it is released
    expect(lock.holdCount).toBe(1);
    expect(await children(session, '/recipes/reentrant')).toHaveLength(1);
    await first.release();
    expect(lock.isHeld()).toBe(false);
    expect(await children(session, '/recipes/reentrant')).toEqual([]);
  });

  it('keeps another owner out until the last release', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const owner = new Lock(a!, '/recipes/reentrant-excl', { reentrant: true });
    const outer = await owner.acquire();
    const inner = await owner.acquire();
    let otherHolds = false;
    const other = new Lock(b!, '/recipes/reentrant-excl').acquire({ timeoutMs: 10_000 }).then((lease) => ((otherHolds = true), lease));
    await waitFor(async () => (await children(a!, '/recipes/reentrant-excl')).length === 2, { timeoutMs: 5000, what: 'the other owner queued' });
    await inner.release();
    await expect(new Lock(b!, '/recipes/reentrant-excl').acquire({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    expect(otherHolds).toBe(false);
    await outer.release();
    const lease = await other;
    expect(lease.token > outer.token).toBe(true);
    await lease.release();
  });

  it('joins an acquire of the same object in flight instead of queueing a second node', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const blocker = await new Lock(a!, '/recipes/reentrant-pending').acquire();
    const lock = new Lock(b!, '/recipes/reentrant-pending', { reentrant: true });
    const both = [lock.acquire({ timeoutMs: 10_000 }), lock.acquire({ timeoutMs: 10_000 })];
    await waitFor(async () => (await children(a!, '/recipes/reentrant-pending')).length >= 2, { timeoutMs: 5000, what: 'the reentrant owner queued' });
    expect(await children(a!, '/recipes/reentrant-pending')).toHaveLength(2);
    await blocker.release();
    const [one, two] = await Promise.all(both);
    expect(one!.path).toBe(two!.path);
    expect(lock.holdCount).toBe(2);
    await one!.release();
    await two!.release();
    expect(await children(a!, '/recipes/reentrant-pending')).toEqual([]);
  });

  it('takes a new node with a larger token once the held one is lost (deleted by someone else)', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const lock = new Lock(a!, '/recipes/reentrant-lost', { reentrant: true });
    const lease = await lock.acquire();
    await lock.acquire();
    await b!.request(`/v1/znodes${lease.path}`, { method: 'DELETE' }).then((r) => r.body?.cancel());
    await waitFor(() => lease.lost.aborted, { timeoutMs: 5000, what: 'the lease told it was lost' });
    expect(lock.holdCount).toBe(0);
    const again = await lock.acquire({ timeoutMs: 5000 });
    expect(again.token > lease.token).toBe(true);
    expect(lock.holdCount).toBe(1);
    await lease.release(); // a lost lease's release does not touch the new holding
    expect(lock.holdCount).toBe(1);
    await again.release();
  });

  it('holds exactly one node while any acquisition is unreleased, over random acquire/release orders (property)', async () => {
    const session = await harness.session();
    // Each step: acquire once more, or release one of the unreleased leases (by index modulo their count).
    const step = fc.oneof(fc.constant({ op: 'acquire' as const }), fc.nat(7).map((pick) => ({ op: 'release' as const, pick })));
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
      const path = `/recipes/reentrant-prop-${run++}`;
      const lock = new Lock(session, path, { reentrant: true });
      const open: LockLease[] = [];
      let token: bigint | undefined;
      for (const s of steps) {
        if (s.op === 'acquire') {
          const lease = await lock.acquire({ timeoutMs: 5000 });
          if (open.length > 0) expect(lease.token).toBe(token);
          token = lease.token;
          open.push(lease);
        } else if (open.length > 0) {
          await open.splice(s.pick % open.length, 1)[0]!.release();
        }
        expect(lock.holdCount).toBe(open.length);
        expect(await children(session, path)).toHaveLength(open.length > 0 ? 1 : 0);
      }
      for (const lease of open.splice(0)) await lease.release();
      expect(await children(session, path)).toEqual([]);
    }), { seed: 17, numRuns: 12 });
  });

  it('refuses a second acquire on a Lock that is not reentrant with 409 NODEEXISTS', async () => {
    const session = await harness.session();
    const lock = new Lock(session, '/recipes/not-reentrant');
    const lease = await lock.acquire();
    await expect(lock.acquire({ timeoutMs: 1000 })).rejects.toMatchObject({ status: 409, code: 'NODEEXISTS' });
    await lease.release();
  });
});
