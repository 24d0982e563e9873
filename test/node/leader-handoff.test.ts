/**
 * LeaderHandoff (src/node/leader-handoff.ts): which targets it refuses before asking the core,
 * and how a wait ends — the leader moved, the time ran out, or the node closed.
 */
import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/core/consensus/types.ts';
import { LeaderHandoff } from '../../src/node/leader-handoff.ts';

function handoff(options: { leader?: number; voters?: number } = {}) {
  const state = { leader: options.leader ?? 1, now: 0, asked: [] as number[] };
  const roles: Record<number, 'voter' | 'observer'> = { 1: 'voter', 2: 'voter', 3: 'voter', 4: 'observer' };
  const h = new LeaderHandoff({
    status: () => ({ leader: state.leader }) as Status,
    transfer: (to) => {
      state.asked.push(to);
      return state.leader !== 0;
    },
    roleOf: (id) => roles[id],
    voterCount: () => options.voters ?? 3,
    nowMs: () => state.now,
  });
  return { h, state };
}

describe('LeaderHandoff', () => {
  it.each([
    [4, /member 4 is an observer/],
    [9, /member 9 is not in the cluster/],
  ])('refuses target %i with BADARGUMENTS before asking the core', async (to, message) => {
    const { h, state } = handoff();
    expect(await h.transfer(to, 1000)).toMatchObject({ code: 'BADARGUMENTS', message: expect.stringMatching(message) });
    expect(state.asked).toEqual([]);
  });

  it('refuses with CONNECTIONLOSS when no leader is known', async () => {
    const { h } = handoff({ leader: 0 });
    expect(await h.transfer(2, 1000)).toMatchObject({ code: 'CONNECTIONLOSS' });
  });

  it('refuses with BADARGUMENTS in a cluster of one voter', async () => {
    const { h } = handoff({ voters: 1 });
    expect(await h.transfer(undefined, 1000)).toMatchObject({ code: 'BADARGUMENTS' });
  });

  it('answers at once when the target already leads', async () => {
    const { h, state } = handoff();
    expect(await h.transfer(1, 1000)).toEqual({ leader: 1, from: 1 });
    expect(state.asked).toEqual([]);
  });

  it('resolves with the new leader once a tick sees it, asking the core for 0 when no target is named', async () => {
    const { h, state } = handoff();
    const outcome = h.transfer(undefined, 1000);
    expect(state.asked).toEqual([0]);
    h.tick();
    state.leader = 3;
    h.tick();
    expect(await outcome).toEqual({ leader: 3, from: 1 });
  });

  it('ends with OPERATIONTIMEOUT once the time is up and leadership did not move', async () => {
    const { h, state } = handoff();
    const outcome = h.transfer(2, 1000);
    state.now = 999;
    h.tick();
    state.now = 1000;
    h.tick();
    expect(await outcome).toMatchObject({ code: 'OPERATIONTIMEOUT' });
  });

  it('ends every wait with CONNECTIONLOSS when the node closes', async () => {
    const { h } = handoff();
    const outcome = h.transfer(2, 1000);
    h.close();
    expect(await outcome).toMatchObject({ code: 'CONNECTIONLOSS' });
  });
});
