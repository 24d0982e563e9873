import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderSelector, type CorralSession } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

/** A takeLeadership that leads until told to stop (or its signal aborts), recording who leads. */
function leadUntilReleased(log: string[], name: string) {
  let release: () => void = () => undefined;
  let leading = false;
  const takeLeadership = (signal: AbortSignal) => new Promise<void>((resolve) => {
    leading = true;
    log.push(`${name}+`);
    const done = () => ((leading = false), log.push(`${name}-`), resolve());
    release = done;
    signal.addEventListener('abort', done, { once: true });
  });
  return { takeLeadership, release: () => release(), leading: () => leading };
}

const sessions = (n: number): Promise<CorralSession[]> => Promise.all(Array.from({ length: n }, () => harness.session()));

describe('LeaderSelector', () => {
  it('runs takeLeadership on one participant at a time, handing over in queue order when it returns', async () => {
    const log: string[] = [];
    const workers = ['a', 'b', 'c'].map((name) => leadUntilReleased(log, name));
    const selectors = (await sessions(3)).map((s, i) => new LeaderSelector(s, '/recipes/selector-turns', workers[i]!.takeLeadership, { id: `p${i}` }));
    for (const [i, selector] of selectors.entries()) {
      selector.start();
      await waitFor(async () => (await selector.participants()).length === i + 1, { timeoutMs: 5000, what: `p${i} queued` });
    }
    await waitFor(() => workers[0]!.leading(), { timeoutMs: 5000, what: 'a leading' });
    expect(selectors.map((s) => s.hasLeadership())).toEqual([true, false, false]);
    expect((await selectors[1]!.participants()).map((p) => `${p.id}:${p.isLeader}`)).toEqual(['p0:true', 'p1:false', 'p2:false']);
    const firstEpoch = selectors[0]!.epoch!;
    workers[0]!.release();
    await waitFor(() => workers[1]!.leading(), { timeoutMs: 5000, what: 'b leading' });
    expect(selectors[1]!.epoch! > firstEpoch).toBe(true);
    workers[1]!.release();
    await waitFor(() => workers[2]!.leading(), { timeoutMs: 5000, what: 'c leading' });
    workers[2]!.release();
    await waitFor(() => log.length === 6, { timeoutMs: 5000, what: 'c done' });
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(selectors.map((s) => s.hasLeadership())).toEqual([false, false, false]);
    for (const selector of selectors) await selector.close();
  });

  it('queues again after leading when autoRequeue is set, and not otherwise', async () => {
    const [a, b] = await sessions(2);
    let aTurns = 0;
    let bTurns = 0;
    const again = new LeaderSelector(a!, '/recipes/selector-requeue', async () => void aTurns++, { autoRequeue: true });
    const once = new LeaderSelector(b!, '/recipes/selector-requeue', async () => void bTurns++);
    again.start();
    once.start();
    await waitFor(() => aTurns >= 3 && bTurns === 1, { timeoutMs: 10_000, what: 'a leading repeatedly, b once' });
    expect(once.requeue()).toBe(true);
    await waitFor(() => bTurns === 2, { timeoutMs: 10_000, what: 'b leading again after requeue()' });
    await again.close();
    await once.close();
    expect(bTurns).toBe(2);
  });

  it('aborts the leader\'s signal and drops hasLeadership when its session expires; the next participant leads with a larger epoch', async () => {
    const cut = await harness.partitionable(400);
    const [other] = await sessions(1);
    const log: string[] = [];
    const oldWork = leadUntilReleased(log, 'old');
    const nextWork = leadUntilReleased(log, 'next');
    const old = new LeaderSelector(cut.session, '/recipes/selector-expiry', oldWork.takeLeadership, { autoRequeue: true });
    const next = new LeaderSelector(other!, '/recipes/selector-expiry', nextWork.takeLeadership);
    old.start();
    await waitFor(() => old.hasLeadership(), { timeoutMs: 5000, what: 'old leading' });
    const oldEpoch = old.epoch!;
    next.start();
    await waitFor(async () => (await next.participants()).length === 2, { timeoutMs: 5000, what: 'next queued' });
    cut.cut();
    await waitFor(() => next.hasLeadership(), { timeoutMs: 5000, what: 'next leading after the expiry' });
    expect(next.epoch! > oldEpoch).toBe(true);
    cut.heal();
    await waitFor(() => !old.hasLeadership() && !oldWork.leading(), { timeoutMs: 5000, what: 'old told its leadership ended' });
    expect(log).toEqual(['old+', 'next+', 'old-']);
    nextWork.release();
    await next.close();
    await old.close(); // closed itself when its session ended: close() answers at once
  });

  it('ends leadership when someone deletes the leader\'s node: the signal aborts and the next participant leads', async () => {
    const [a, b] = await sessions(2);
    const log: string[] = [];
    const first = new LeaderSelector(a!, '/recipes/selector-deleted', leadUntilReleased(log, 'a').takeLeadership);
    const second = new LeaderSelector(b!, '/recipes/selector-deleted', leadUntilReleased(log, 'b').takeLeadership);
    first.start();
    await waitFor(() => first.hasLeadership(), { timeoutMs: 5000, what: 'a leading' });
    second.start();
    await waitFor(async () => (await second.participants()).length === 2, { timeoutMs: 5000, what: 'b queued' });
    const [leaderNode] = (await (await b!.request('/v1/children/recipes/selector-deleted')).json() as { children: string[] }).children
      .sort((x, y) => x.slice(-10).localeCompare(y.slice(-10)));
    await b!.request(`/v1/znodes/recipes/selector-deleted/${leaderNode}`, { method: 'DELETE' }).then((r) => r.body?.cancel());
    await waitFor(() => second.hasLeadership() && !first.hasLeadership(), { timeoutMs: 5000, what: 'b leading, a not' });
    expect(log).toContain('a-');
    await first.close();
    await second.close();
  });

  it('hands leadership on when interruptLeadership() aborts the signal, and requeues the interrupted one with autoRequeue', async () => {
    const [a, b] = await sessions(2);
    const log: string[] = [];
    const aWork = leadUntilReleased(log, 'a');
    const bWork = leadUntilReleased(log, 'b');
    const first = new LeaderSelector(a!, '/recipes/selector-interrupt', aWork.takeLeadership, { autoRequeue: true });
    const second = new LeaderSelector(b!, '/recipes/selector-interrupt', bWork.takeLeadership);
    first.start();
    await waitFor(() => first.hasLeadership(), { timeoutMs: 5000, what: 'a leading' });
    second.start();
    await waitFor(async () => (await second.participants()).length === 2, { timeoutMs: 5000, what: 'b queued' });
    first.interruptLeadership();
    await waitFor(() => second.hasLeadership(), { timeoutMs: 5000, what: 'b leading' });
    bWork.release();
    await waitFor(() => first.hasLeadership(), { timeoutMs: 5000, what: 'a leading again (requeued)' });
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'a+']);
    await first.close();
    await second.close();
  });

  it('aborts takeLeadership on close(), and the next participant leads', async () => {
    const [a, b] = await sessions(2);
    const log: string[] = [];
    const first = new LeaderSelector(a!, '/recipes/selector-close', leadUntilReleased(log, 'a').takeLeadership);
    const secondWork = leadUntilReleased(log, 'b');
    const second = new LeaderSelector(b!, '/recipes/selector-close', secondWork.takeLeadership);
    first.start();
    await waitFor(() => first.hasLeadership(), { timeoutMs: 5000, what: 'a leading' });
    second.start();
    await first.close();
    await waitFor(() => second.hasLeadership(), { timeoutMs: 5000, what: 'b leading' });
    expect(log).toEqual(['a+', 'a-', 'b+']);
    expect(first.requeue()).toBe(false);
    secondWork.release();
    await second.close();
  });

  it('reports what takeLeadership throws through onError and hands leadership on', async () => {
    const [a, b] = await sessions(2);
    const errors: unknown[] = [];
    const failing = new LeaderSelector(a!, '/recipes/selector-error', async () => {
      throw new Error('work failed');
    }, { onError: (error) => errors.push(error) });
    let bLed = false;
    const next = new LeaderSelector(b!, '/recipes/selector-error', async () => void (bLed = true));
    failing.start();
    await waitFor(() => errors.length === 1, { timeoutMs: 5000, what: 'the error reported' });
    next.start();
    await waitFor(() => bLed, { timeoutMs: 5000, what: 'b leading after a failed leader' });
    expect((errors[0] as Error).message).toBe('work failed');
    await failing.close();
    await next.close();
  });
});
