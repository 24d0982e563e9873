import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderLatch } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

const leaders = (latches: readonly LeaderLatch[]) => latches.filter((l) => l.isLeader());

describe('LeaderLatch', () => {
  it('elects exactly one leader among participants, the first to join', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => harness.session()));
    const latches = sessions.map((s, i) => new LeaderLatch(s, '/recipes/latch-one', `p${i}`));
    for (const latch of latches) await latch.start();
    expect(leaders(latches)).toEqual([latches[0]]);
    expect(latches[0]!.epoch).toBeTypeOf('bigint');
    expect(latches[1]!.epoch).toBeUndefined();
    for (const latch of latches) await latch.close();
  });

  it('moves leadership to the next participant when the leader closes, telling both through onChange', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => harness.session()));
    const latches = sessions.map((s) => new LeaderLatch(s, '/recipes/latch-close'));
    const changes: string[] = [];
    latches.forEach((latch, i) => latch.onChange((leads) => changes.push(`${i}:${leads}`)));
    for (const latch of latches) await latch.start();
    const firstEpoch = latches[0]!.epoch!;
    await latches[0]!.close();
    await latches[1]!.awaitLeadership({ timeoutMs: 5000 });
    expect(leaders(latches)).toEqual([latches[1]]);
    expect(latches[1]!.epoch! > firstEpoch).toBe(true);
    expect(changes).toEqual(['0:true', '0:false', '1:true']);
    // Closing the session (not the latch) hands leadership on as well.
    await sessions[1]!.close();
    await latches[2]!.awaitLeadership({ timeoutMs: 5000 });
    await waitFor(() => !latches[1]!.isLeader(), { timeoutMs: 5000, what: 'the closed session to relinquish' });
    expect(leaders(latches)).toEqual([latches[2]]);
    await latches[2]!.close();
  });

  it('moves leadership when the leader session expires, and the old leader relinquishes once it learns', async () => {
    const cut = await harness.partitionable(400);
    const other = await harness.session();
    const old = new LeaderLatch(cut.session, '/recipes/latch-expiry');
    const next = new LeaderLatch(other, '/recipes/latch-expiry');
    await old.start();
    await next.start();
    expect(old.isLeader()).toBe(true);
    cut.cut();
    await next.awaitLeadership({ timeoutMs: 5000 });
    cut.heal();
    await waitFor(() => !old.isLeader(), { timeoutMs: 5000, what: 'the expired leader to relinquish' });
    expect(cut.session.ended).toBe('expired');
    expect(leaders([old, next])).toEqual([next]);
    await next.close();
  });

  it('times out awaitLeadership with OPERATIONTIMEOUT while another participant leads', async () => {
    const [a, b] = await Promise.all([harness.session(), harness.session()]);
    const first = new LeaderLatch(a!, '/recipes/latch-timeout');
    const second = new LeaderLatch(b!, '/recipes/latch-timeout');
    await first.start();
    await second.start();
    await expect(second.awaitLeadership({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
    await first.close();
    await second.close();
  });
});
