import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Barrier, DoubleBarrier } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';
import { childrenNow } from './recipe-truth.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

describe('Barrier', () => {
  it('holds waiters while set and releases every one when removed', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => harness.session()));
    await new Barrier(sessions[0]!, '/barriers/simple').setBarrier();
    let released = 0;
    const waiting = sessions.slice(1).map((s) => new Barrier(s, '/barriers/simple').waitOnBarrier({ timeoutMs: 10_000 }).then(() => released++));
    await waitFor(() => harness.watchesUnder('/barriers/simple').length === 2, { timeoutMs: 5000, what: 'both waiters watching' });
    expect(released).toBe(0);
    await new Barrier(sessions[0]!, '/barriers/simple').removeBarrier();
    await Promise.all(waiting);
    expect(released).toBe(2);
  });

  it('does not wait when the barrier is not set, and leaves no watch', async () => {
    const barrier = new Barrier(await harness.session(), '/barriers/unset');
    await barrier.waitOnBarrier({ timeoutMs: 1000 });
    expect(harness.watchesUnder('/barriers/unset')).toEqual([]);
  });

  it('keeps waiting across a data change of the barrier node', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    await new Barrier(a!, '/barriers/touched').setBarrier();
    let done = false;
    const waiting = new Barrier(b!, '/barriers/touched').waitOnBarrier({ timeoutMs: 10_000 }).then(() => (done = true));
    await waitFor(() => harness.watchesUnder('/barriers/touched').length === 1, { timeoutMs: 5000, what: 'the waiter watching' });
    await a!.client.setData('/barriers/touched', 'still set');
    await waitFor(() => harness.watchesUnder('/barriers/touched').length === 1, { timeoutMs: 5000, what: 'the watch set again' });
    expect(done).toBe(false);
    await new Barrier(a!, '/barriers/touched').removeBarrier();
    await waiting;
  });

  it('times out with OPERATIONTIMEOUT while set', async () => {
    const barrier = new Barrier(await harness.session(), '/barriers/timeout');
    await barrier.setBarrier();
    await expect(barrier.waitOnBarrier({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    await barrier.removeBarrier();
  });
});

describe('DoubleBarrier', () => {
  it('lets no member in before all N have entered, and none out before all have left', async () => {
    const N = 4;
    const sessions = await Promise.all(Array.from({ length: N }, () => harness.session()));
    const barriers = sessions.map((s, i) => new DoubleBarrier(s, '/barriers/double', N, `m${i}`));
    const log: string[] = [];
    const entering = barriers.slice(0, N - 1).map((b, i) => b.enter({ timeoutMs: 10_000 }).then(() => log.push(`in ${i}`)));
    await waitFor(async () => (await childrenNow(sessions[0]!, '/barriers/double')).length === N - 1, { timeoutMs: 5000, what: 'three members entered' });
    expect(log).toEqual([]);
    await barriers[N - 1]!.enter({ timeoutMs: 10_000 });
    await Promise.all(entering);
    expect(log).toHaveLength(N - 1);
    const leaving = barriers.slice(1).map((b, i) => b.leave({ timeoutMs: 10_000 }).then(() => log.push(`out ${i + 1}`)));
    await waitFor(async () => (await childrenNow(sessions[0]!, '/barriers/double')).filter((n) => n !== 'ready').length === 1, { timeoutMs: 5000, what: 'the others gone' });
    expect(log.filter((l) => l.startsWith('out'))).toEqual([]); // m0 is still in: nobody is out
    await barriers[0]!.leave({ timeoutMs: 10_000 });
    await Promise.all(leaving);
    expect(await childrenNow(sessions[0]!, '/barriers/double')).toEqual([]);
  });

  it('gives up enter with OPERATIONTIMEOUT and leaves the count', async () => {
    const session = await harness.session();
    await expect(new DoubleBarrier(session, '/barriers/short', 2, 'alone').enter({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    expect(await childrenNow(session, '/barriers/short')).toEqual([]);
  });

  it('refuses a member id "ready" with 400 BADARGUMENTS', async () => {
    const session = await harness.session();
    expect(() => new DoubleBarrier(session, '/barriers/bad', 2, 'ready')).toThrow(expect.objectContaining({ code: 'BADARGUMENTS' }));
  });
});
