/**
 * Specs of leadership transfer (Raft thesis §3.10; etcd-raft's MsgTransferLeader and
 * MsgTimeoutNow): the leader stops taking proposals, brings the transferee up to date, tells it
 * to campaign at once; the transferee's vote passes the voters' lease; the leader gives up after
 * an election timeout and takes proposals again.
 */
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { ELECTION_TICKS, Network } from './raft-network.ts';

/** Node 1 times out first, then 2, then 3. */
const FIRST_IS_ONE = { timeoutOffsets: { 1: 0, 2: 3, 3: 6, 4: 8, 5: 9 } };

function led(): Network {
  const net = new Network([1, 2, 3], FIRST_IS_ONE);
  net.elect(1);
  net.tick();
  return net;
}

const types = (net: Network, type: RaftMessage['type']) => net.delivered.filter((m) => m.type === type);

describe('leadership transfer', () => {
  it('hands leadership to an up-to-date voter at once, in the next term, without pre-vote', () => {
    const net = led();
    const term = net.raft(1).status().term;
    expect(net.raft(1).transferLeader(2)).toBe(true);
    net.flush();
    expect(net.leaders()).toEqual([2]);
    expect(net.raft(2).status().term).toBe(term + 1);
    expect(types(net, 'MsgTimeoutNow')).toEqual([{ type: 'MsgTimeoutNow', from: 1, to: 2, term }]);
    const votes = types(net, 'MsgVote').filter((m) => m.term === term + 1);
    expect(votes.every((m) => m.type === 'MsgVote' && m.transfer === true)).toBe(true);
    expect(types(net, 'MsgPreVote').filter((m) => m.term === term + 1)).toEqual([]);
  });

  it('loses no committed entry: the new leader holds and commits everything the old one had', () => {
    const net = led();
    net.raft(1).propose('a');
    net.raft(1).propose('b');
    net.flush();
    net.raft(1).transferLeader(3);
    net.flush();
    expect(net.leaders()).toEqual([3]);
    net.raft(3).propose('c');
    net.tick(2);
    for (const id of [1, 2, 3]) expect(net.member(id).applied.map((e) => e.data).filter(Boolean)).toEqual(['a', 'b', 'c']);
  });

  it('brings a lagging transferee up to date before telling it to campaign', () => {
    const net = led();
    net.cutLink(1, 3);
    for (const value of ['a', 'b', 'c']) net.raft(1).propose(value);
    net.flush();
    const last = net.raft(1).status().lastIndex;
    expect(net.raft(3).status().lastIndex).toBeLessThan(last);
    net.raft(1).transferLeader(3);
    net.flush();
    expect(types(net, 'MsgTimeoutNow')).toEqual([]);
    net.heal();
    net.tickUntil(() => net.leaders().includes(3), ELECTION_TICKS, 'member 3 leading');
    const timeoutNow = types(net, 'MsgTimeoutNow');
    expect(timeoutNow).toHaveLength(1);
    expect(net.raft(3).log.term(last)).toBe(net.raft(1).log.term(last));
  });

  it('refuses proposals while the transfer runs, naming itself as still leading', () => {
    const net = led();
    net.cutLink(1, 3);
    net.raft(1).propose('a');
    net.flush();
    net.raft(1).transferLeader(3);
    expect(net.raft(1).status().transferee).toBe(3);
    expect(net.raft(1).propose('x')).toEqual({ ok: false, leader: 1, transferring: true });
  });

  it('gives up after an election timeout and takes proposals again, still leading', () => {
    const net = led();
    net.isolate(3);
    net.raft(1).propose('a');
    net.flush();
    net.raft(1).transferLeader(3);
    net.tickUntil(() => net.raft(1).status().transferee === 0, ELECTION_TICKS + 1, 'the transfer abandoned');
    expect(net.leaders()).toEqual([1]);
    expect(net.raft(1).propose('y')).toMatchObject({ ok: true });
  });

  it('does not keep a cut-off leader in office: transfers asked over and over neither delay check-quorum nor extend the transfer', () => {
    const net = led();
    net.isolate(1);
    for (let tick = 0; tick < 2 * ELECTION_TICKS && net.raft(1).status().role === 'leader'; tick++) {
      net.raft(1).transferLeader(tick % 2 === 0 ? 2 : 3);
      expect(net.raft(1).status().transferee).not.toBe(0);
      net.tick();
    }
    expect(net.raft(1).status().role).not.toBe('leader');
  });

  it('lets the transferee\'s vote through the voters\' check-quorum lease (a plain vote would be ignored)', () => {
    const net = led();
    const term = net.raft(1).status().term;
    const lease = { type: 'MsgVote', from: 2, to: 3, term: term + 1, lastIndex: net.raft(2).status().lastIndex, lastTerm: term } as const;
    net.raft(3).step(lease);
    expect(net.raft(3).status()).toMatchObject({ term, leader: 1 });
    net.raft(3).step({ ...lease, transfer: true });
    expect(net.raft(3).status().term).toBe(term + 1);
  });

  it('is forwarded to the leader when asked of a follower', () => {
    const net = led();
    expect(net.raft(3).transferLeader(2)).toBe(true);
    net.flush();
    expect(types(net, 'MsgTransferLeader')).toEqual([{ type: 'MsgTransferLeader', from: 3, to: 1, term: 0, transferee: 2 }]);
    expect(net.leaders()).toEqual([2]);
  });

  it('is refused by a member that knows no leader', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    expect(net.raft(2).transferLeader(3)).toBe(false);
  });

  it.each([
    ['itself', 1],
    ['a learner', 4],
    ['no member', 9],
  ])('does nothing when asked to transfer to %s', (_what, to) => {
    const net = new Network([1, 2, 3, 4], { ...FIRST_IS_ONE, overrides: { members: [1, 2, 3], learners: [4] } });
    net.elect(1);
    net.raft(1).transferLeader(to);
    net.flush();
    expect(net.raft(1).status().transferee).toBe(0);
    expect(net.raft(1).propose('z')).toMatchObject({ ok: true });
    expect(types(net, 'MsgTimeoutNow')).toEqual([]);
  });

  it('ignores a MsgTimeoutNow on a learner, and one that does not come from its leader', () => {
    const net = new Network([1, 2, 3, 4], { ...FIRST_IS_ONE, overrides: { members: [1, 2, 3], learners: [4] } });
    net.elect(1);
    const term = net.raft(1).status().term;
    net.raft(4).step({ type: 'MsgTimeoutNow', from: 1, to: 4, term });
    net.raft(3).step({ type: 'MsgTimeoutNow', from: 2, to: 3, term });
    expect(net.raft(4).status().role).toBe('follower');
    expect(net.raft(3).status().role).toBe('follower');
  });

  it('names the most caught-up voter as the target (not a learner, not a lagging voter)', () => {
    const net = new Network([1, 2, 3, 4], { ...FIRST_IS_ONE, overrides: { members: [1, 2, 3], learners: [4] } });
    net.elect(1);
    net.cutLink(1, 2);
    net.raft(1).propose('a');
    net.flush();
    expect(net.raft(1).mostCaughtUpVoter()).toBe(3);
    expect(net.raft(2).mostCaughtUpVoter()).toBe(0);
  });
});
