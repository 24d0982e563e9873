import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralError, FencingGuard, Lock, type CorralSession, type LockLease } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

async function children(session: CorralSession, path: string): Promise<string[]> {
  const response = await session.request(`/v1/children${path}`);
  return response.ok ? ((await response.json()) as { children: string[] }).children : [];
}

/** Starts acquiring and waits until the contender's node is in the queue, so arrival order is known. */
async function enqueue(lock: Lock, expectedNodes: number): Promise<{ lease: Promise<LockLease> }> {
  const lease = lock.acquire({ timeoutMs: 10_000 });
  lease.catch(() => undefined);
  await waitFor(async () => (await children(lock.session, lock.path)).length >= expectedNodes, { timeoutMs: 5000, what: `${expectedNodes} nodes in ${lock.path}` });
  return { lease }; // wrapped: an async function answering a promise would wait for it
}

describe('Lock (fair, ephemeral-sequential, fencing token)', () => {
  it('lets only one of N contenders hold the lock at a time', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, () => harness.session()));
    let inside = 0;
    let most = 0;
    let entries = 0;
    await Promise.all(sessions.map(async (session) => {
      const lock = new Lock(session, '/recipes/mutex');
      for (let round = 0; round < 3; round++) {
        const lease = await lock.acquire({ timeoutMs: 10_000 });
        inside++;
        entries++;
        most = Math.max(most, inside);
        await Promise.resolve(); // let the other contenders run while we hold it
        await children(session, '/recipes/mutex');
        inside--;
        await lease.release();
      }
    }));
    expect(entries).toBe(15);
    expect(most).toBe(1);
    expect(await children(sessions[0]!, '/recipes/mutex')).toEqual([]);
  });

  it('grants the lock in arrival order (FIFO)', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => harness.session()));
    const locks = sessions.map((s) => new Lock(s, '/recipes/fifo'));
    const first = await locks[0]!.acquire();
    const order: number[] = [];
    const waiting = [];
    for (let i = 1; i < 4; i++) {
      const { lease: pending } = await enqueue(locks[i]!, i + 1);
      waiting.push(pending.then(async (lease) => {
        order.push(i);
        await lease.release();
      }));
    }
    await first.release();
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
  });

  it('makes each waiter watch only the node just before its own (no herd)', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => harness.session()));
    const locks = sessions.map((s) => new Lock(s, '/recipes/herd'));
    const holder = await locks[0]!.acquire();
    const pending = [];
    for (let i = 1; i < 4; i++) pending.push((await enqueue(locks[i]!, i + 1)).lease);
    const queue = (await children(sessions[0]!, '/recipes/herd')).sort((a, b) => a.slice(-10).localeCompare(b.slice(-10)));
    const waiterIds = new Set(sessions.slice(1).map((s) => s.id));
    const expected = [1, 2, 3].map((i) => ({ sessionId: sessions[i]!.id, kind: 'data', path: `/recipes/herd/${queue[i - 1]}` }));
    const byWaiters = () => harness.watchesUnder('/recipes/herd').filter((w) => waiterIds.has(w.sessionId));
    await waitFor(() => byWaiters().length === 3, { timeoutMs: 5000, what: 'three waiter watches' });
    expect(byWaiters().sort((a, b) => a.path.localeCompare(b.path))).toEqual(expected.sort((a, b) => a.path.localeCompare(b.path)));
    // One deletion wakes one waiter: the others still watch their own predecessor.
    await holder.release();
    const second = await pending[0]!;
    expect(harness.watchesUnder('/recipes/herd').filter((w) => w.sessionId === sessions[2]!.id || w.sessionId === sessions[3]!.id))
      .toHaveLength(2);
    await second.release();
    for (const next of pending.slice(1)) await (await next).release();
  });

  it('gives each later holder a larger fencing token, and a checking resource refuses a stale one', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => harness.session()));
    const guard = new FencingGuard();
    const tokens: bigint[] = [];
    for (const session of sessions) {
      const lease = await new Lock(session, '/recipes/fenced').acquire({ timeoutMs: 5000 });
      expect(guard.admit(lease.token)).toBe(true);
      tokens.push(lease.token);
      await lease.release();
    }
    expect(tokens[1]! > tokens[0]!).toBe(true);
    expect(tokens[2]! > tokens[1]!).toBe(true);
    expect(guard.admit(tokens[0]!)).toBe(false);
    expect(guard.admit(tokens[2]!)).toBe(true); // the current holder may write again
  });

  it('gives up with OPERATIONTIMEOUT when the wait runs out, and leaves the queue', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const held = await new Lock(a!, '/recipes/timeout').acquire();
    await expect(new Lock(b!, '/recipes/timeout').acquire({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    expect(await children(a!, '/recipes/timeout')).toEqual([held.path.split('/').pop()]);
    await held.release();
  });

  it('stops waiting when the caller aborts, with the abort reason, and leaves the queue', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const held = await new Lock(a!, '/recipes/abort').acquire();
    const controller = new AbortController();
    const pending = new Lock(b!, '/recipes/abort').acquire({ signal: controller.signal });
    pending.catch(() => undefined);
    await waitFor(async () => (await children(a!, '/recipes/abort')).length === 2, { timeoutMs: 5000, what: 'the waiter queued' });
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    await waitFor(async () => (await children(a!, '/recipes/abort')).length === 1, { timeoutMs: 5000, what: 'the waiter gone from the queue' });
    await held.release();
  });

  it('loses the lock when the holder session expires: the next waiter gets it and the stale token is refused', async () => {
    const holder = await harness.partitionable(400);
    const waiter = await harness.session();
    const guard = new FencingGuard();
    const old = await new Lock(holder.session, '/recipes/expiry').acquire();
    expect(guard.admit(old.token)).toBe(true);
    const { lease: next } = await enqueue(new Lock(waiter, '/recipes/expiry'), 2);
    holder.cut();
    const lease = await next; // the server expired the holder: its node went, the waiter was woken
    expect(lease.token > old.token).toBe(true);
    expect(guard.admit(lease.token)).toBe(true);
    // The old holder, cut off, does not know yet: its writes with the old token are refused.
    expect(old.lost.aborted).toBe(false);
    expect(guard.admit(old.token)).toBe(false);
    holder.heal();
    await waitFor(() => old.lost.aborted, { timeoutMs: 5000, what: 'the old holder told it lost the lock' });
    expect(old.lost.reason).toBeInstanceOf(CorralError);
    // The resumed stream may deliver the node's deletion (caused by the expiry) before the session event.
    expect(['SESSIONEXPIRED', 'NONODE']).toContain((old.lost.reason as CorralError).code);
    await lease.release();
  });

  it('finds its own node again when a create answer is lost (protected mode), leaking none', async () => {
    let loseCreates = true;
    let lost = 0;
    const { CorralClient, CorralSession } = await import('../../../src/client/index.ts');
    const lossy: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      if (loseCreates && request.method === 'POST' && new URL(request.url).pathname.startsWith('/v1/znodes/recipes/protected/')) {
        lost++;
        throw new TypeError('fetch failed (answer lost by the test)');
      }
      if (request.method === 'GET' && new URL(request.url).pathname.startsWith('/v1/children/recipes/protected')) loseCreates = false;
      return response;
    };
    const a = await harness.session();
    await new Lock(a, '/recipes/protected').acquire().then((l) => l.release()); // the parent exists
    const session = await CorralSession.open(new CorralClient({ baseUrl: harness.server.url, fetch: lossy, retryForMs: 100 }), 2000);
    try {
      const lease = await new Lock(session, '/recipes/protected').acquire({ timeoutMs: 5000 });
      expect(lost).toBeGreaterThan(0);
      expect(await children(a, '/recipes/protected')).toEqual([lease.path.split('/').pop()]);
      await lease.release();
      expect(await children(a, '/recipes/protected')).toEqual([]);
    } finally {
      await session.close();
    }
  });
});
