import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, CorralSession, Semaphore, type SemaphoreLease } from '../../../src/client/index.ts';
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

describe('Semaphore (leases, serialised by a fair lock)', () => {
  it('never has more than N holders among many contenders, and every contender gets its turns', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, () => harness.session()));
    let inside = 0;
    let waiting = 0;
    let most = 0;
    let turns = 0;
    await Promise.all(sessions.map(async (session) => {
      const semaphore = new Semaphore(session, '/recipes/sem-many', 2);
      for (let round = 0; round < 2; round++) {
        waiting++;
        const [lease] = await semaphore.acquire(1, { timeoutMs: 30_000 });
        waiting--;
        inside++;
        turns++;
        most = Math.max(most, inside);
        // Hold until the next acquirer's lease node is in (it is counting) or no one else wants in:
        // a semaphore that let it in would show 3 holders here.
        const leases = () => children(session, '/recipes/sem-many/leases');
        await waitFor(async () => waiting === 0 || (await leases()).length > 2, { timeoutMs: 15_000, what: 'an acquirer counting, or none left' });
        inside--;
        await lease!.release();
      }
    }));
    expect(turns).toBe(10);
    expect(most).toBe(2);
    expect(await children(sessions[0]!, '/recipes/sem-many/leases')).toEqual([]);
  });

  it('keeps the N+1th acquirer out while N leases are held, and lets it in on a release', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => harness.session()));
    const semaphores = sessions.map((s) => new Semaphore(s, '/recipes/sem-bound', 2));
    const held = [(await semaphores[0]!.acquire())[0]!, (await semaphores[1]!.acquire())[0]!];
    await expect(semaphores[2]!.acquire(1, { timeoutMs: 500 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    await held[0]!.release();
    const [third] = await semaphores[2]!.acquire(1, { timeoutMs: 10_000 });
    expect(third!.token > held[1]!.token).toBe(true);
    await held[1]!.release();
    await third!.release();
  });

  it('takes several leases together, and waits until they all fit', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const held = await new Semaphore(a!, '/recipes/sem-several', 3).acquire(2);
    expect(held).toHaveLength(2);
    let got: SemaphoreLease[] | undefined;
    const pending = new Semaphore(b!, '/recipes/sem-several', 3).acquire(2, { timeoutMs: 10_000 }).then((l) => (got = l));
    // The waiter's two nodes are in, over the bound, while it waits for room.
    await waitFor(async () => (await children(a!, '/recipes/sem-several/leases')).length === 4, { timeoutMs: 5000, what: 'the waiter counting' });
    expect(got).toBeUndefined();
    await held[0]!.release();
    expect(got).toBeUndefined(); // 3 leases in use after one release: still no room for two more
    await held[1]!.release();
    const leases = await pending;
    expect(leases).toHaveLength(2);
    expect(leases[1]!.token > leases[0]!.token).toBe(true);
    for (const lease of leases) await lease.release();
  });

  it('gives a holder\'s lease back when its session expires', async () => {
    const cut = await harness.partitionable(400);
    const other = await harness.session();
    const [stale] = await new Semaphore(cut.session, '/recipes/sem-expiry', 1).acquire();
    const pending = new Semaphore(other, '/recipes/sem-expiry', 1).acquire(1, { timeoutMs: 10_000 });
    cut.cut();
    const [lease] = await pending;
    expect(lease!.token > stale!.token).toBe(true);
    cut.heal();
    await waitFor(() => stale!.lost.aborted, { timeoutMs: 5000, what: 'the expired holder told it lost its lease' });
    expect(await new Semaphore(other, '/recipes/sem-expiry', 1).leaseCount()).toBe(1);
    await lease!.release();
  });

  it('tells a holder its lease is lost when someone deletes its node, and the lease is free again', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const [lease] = await new Semaphore(a!, '/recipes/sem-deleted', 1).acquire();
    const pending = new Semaphore(b!, '/recipes/sem-deleted', 1).acquire(1, { timeoutMs: 10_000 });
    await b!.request(`/v1/znodes${lease!.path}`, { method: 'DELETE' }).then((r) => r.body?.cancel());
    await waitFor(() => lease!.lost.aborted, { timeoutMs: 5000, what: 'the holder told' });
    expect(lease!.lost.reason).toMatchObject({ code: 'NONODE' });
    const [next] = await pending;
    await next!.release();
    await lease!.release(); // its node is gone already: nothing to do, no error
  });

  it('finds its own lease node again when a create answer is lost, so no lease leaks', async () => {
    let loseCreates = true;
    let lost = 0;
    const lossy: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      if (loseCreates && request.method === 'POST' && new URL(request.url).pathname.startsWith('/v1/znodes/recipes/sem-lossy/leases/')) {
        lost++;
        loseCreates = false; // once: the retry's search must find the node the server did create
        throw new TypeError('fetch failed (answer lost by the test)');
      }
      return response;
    };
    const a = await harness.session();
    const session = await CorralSession.open(new CorralClient({ baseUrl: harness.server.url, fetch: lossy, retryForMs: 100 }), 2000);
    try {
      const leases = await new Semaphore(session, '/recipes/sem-lossy', 2).acquire(2, { timeoutMs: 5000 });
      expect(lost).toBe(1);
      expect((await children(a, '/recipes/sem-lossy/leases')).sort()).toEqual(leases.map((l) => l.path.split('/').pop()).sort());
      for (const lease of leases) await lease.release();
      expect(await children(a, '/recipes/sem-lossy/leases')).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('times out with OPERATIONTIMEOUT and leaves neither its leases nor its lock node behind', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const held = await new Semaphore(a!, '/recipes/sem-timeout', 1).acquire();
    await expect(new Semaphore(b!, '/recipes/sem-timeout', 1).acquire(1, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    await waitFor(async () => (await children(a!, '/recipes/sem-timeout/leases')).length === 1, { timeoutMs: 5000, what: 'the waiter\'s lease gone' });
    expect(await children(a!, '/recipes/sem-timeout/lock')).toEqual([]);
    await held[0]!.release();
  });

  it('lets only the acquirer at the head of the queue watch the leases (no herd)', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => harness.session()));
    const [held] = await new Semaphore(sessions[0]!, '/recipes/sem-herd', 1).acquire();
    const pending = sessions.slice(1).map((s) => new Semaphore(s, '/recipes/sem-herd', 1).acquire(1, { timeoutMs: 15_000 }));
    for (const p of pending) p.catch(() => undefined);
    await waitFor(async () => (await children(sessions[0]!, '/recipes/sem-herd/lock')).length === 3, { timeoutMs: 5000, what: 'three acquirers queued' });
    const watches = () => harness.watchesUnder('/recipes/sem-herd');
    const onLockNodes = () => watches().filter((w) => w.kind === 'data' && w.path.startsWith('/recipes/sem-herd/lock/'));
    // The head of the lock queue watches its own lock node (held) and the leases' children; the two behind it their predecessor.
    await waitFor(() => onLockNodes().length === 3 && watches().some((w) => w.kind === 'child'), { timeoutMs: 5000, what: 'the queue watches' });
    expect(watches().filter((w) => w.kind === 'child').map((w) => w.path)).toEqual(['/recipes/sem-herd/leases']);
    expect(new Set(onLockNodes().map((w) => w.sessionId)).size).toBe(3);
    await held!.release();
    for (const next of pending) await (await next)[0]!.release();
  });

  const refusals = [
    { what: 'asks for more leases than the semaphore has', call: (s: CorralSession) => new Semaphore(s, '/recipes/sem-args', 2).acquire(3) },
    { what: 'asks for a fraction of a lease', call: (s: CorralSession) => new Semaphore(s, '/recipes/sem-args', 2).acquire(0.5) },
    { what: 'says another lease count than the semaphore was made with', call: async (s: CorralSession) => {
      await (await new Semaphore(s, '/recipes/sem-args', 2).acquire())[0]!.release();
      return new Semaphore(s, '/recipes/sem-args', 5).acquire();
    } },
    { what: 'gives zero leases', call: async (s: CorralSession) => new Semaphore(s, '/recipes/sem-args', 0).acquire() },
  ] as const;
  it.each(refusals)('refuses with 400 BADARGUMENTS when a client $what', async ({ call }) => {
    const session = await harness.session();
    await expect(call(session)).rejects.toMatchObject({ status: 400, code: 'BADARGUMENTS' });
  });
});
