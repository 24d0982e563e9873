/**
 * Specs of learners (observers) in the Raft core: members that get the log like any follower but
 * never vote, never campaign, and count toward no quorum (etcd-raft's learners, ZooKeeper's
 * observers). Three voters (1, 2, 3) and two learners (4, 5) unless a spec says otherwise.
 */
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { clusterConfig, committedIndex, voteResult } from '../../src/core/consensus/cluster-config.ts';
import { ELECTION_TICKS, Network } from './raft-network.ts';

const VOTERS = [1, 2, 3];
const LEARNERS = [4, 5];
/** Node 1 times out first; the learners would time out before anyone if they could stand. */
const OPTIONS = { timeoutOffsets: { 1: 2, 2: 5, 3: 7, 4: 0, 5: 0 }, overrides: { members: VOTERS, learners: LEARNERS } };

function cluster(): Network {
  return new Network([...VOTERS, ...LEARNERS], OPTIONS);
}

const isVote = (m: RaftMessage) => m.type === 'MsgVote' || m.type === 'MsgPreVote';

describe('cluster configuration (voters and learners)', () => {
  it('counts only the voters\' matches toward the commit index', () => {
    const config = clusterConfig([1, 2, 3], [4, 5]);
    const matches: Record<number, number> = { 1: 9, 2: 3, 3: 2, 4: 9, 5: 9 };
    expect(committedIndex(config, (id) => matches[id]!)).toBe(3);
  });

  it('counts only the voters\' answers in an election', () => {
    const config = clusterConfig([1, 2, 3], [4, 5]);
    expect(voteResult(config, new Map([[1, true], [4, true], [5, true]]))).toBe('pending');
    expect(voteResult(config, new Map([[1, true], [2, true]]))).toBe('won');
    expect(voteResult(config, new Map([[2, false], [3, false], [4, true]]))).toBe('lost');
  });

  it.each([
    [[], []],
    [[1, 2], [2]],
    [[1, 1], []],
  ])('refuses voters %j with learners %j', (voters, learners) => {
    expect(() => clusterConfig(voters, learners)).toThrow();
  });
});

describe('learners', () => {
  it('never campaign, however long they hear no leader', () => {
    const net = cluster();
    net.isolate(4);
    net.tick(10 * ELECTION_TICKS);
    expect(net.raft(4).status()).toMatchObject({ role: 'follower', term: 0, learner: true });
    expect(net.delivered.filter((m) => m.from === 4 && isVote(m))).toEqual([]);
  });

  it('are never asked for a vote, and a leader is elected by the voters alone', () => {
    const net = cluster();
    net.elect(1);
    expect(net.delivered.filter((m) => isVote(m) && LEARNERS.includes(m.to))).toEqual([]);
    net.tick(2);
    for (const id of LEARNERS) expect(net.raft(id).status()).toMatchObject({ role: 'follower', leader: 1 });
  });

  it('replicate the log and apply every committed entry', () => {
    const net = cluster();
    net.elect(1);
    net.raft(1).propose('a');
    net.tick(2);
    for (const id of LEARNERS) expect(net.member(id).applied.map((e) => e.data)).toContain('a');
  });

  it('commit with two of three voters while both learners are down', () => {
    const net = cluster();
    net.elect(1);
    net.crash(3);
    net.crash(4);
    net.crash(5);
    const proposal = net.raft(1).propose('b');
    net.tick(2);
    expect(proposal.ok && net.raft(1).status().commitIndex).toBe(proposal.ok && proposal.index);
  });

  it('do not commit an entry that only learners acknowledged', () => {
    const net = cluster();
    net.elect(1);
    const before = net.raft(1).status().commitIndex;
    // Only the learners' links stay up.
    net.cutLink(1, 2);
    net.cutLink(1, 3);
    const proposal = net.raft(1).propose('c');
    net.flush();
    expect(proposal.ok).toBe(true);
    for (const id of LEARNERS) expect(net.member(id).store.lastIndex()).toBe(proposal.ok ? proposal.index : -1);
    expect(net.raft(1).status().commitIndex).toBe(before);
  });

  it('keep no leader in office: a leader with only its learners steps down (check-quorum)', () => {
    const net = cluster();
    net.elect(1);
    net.cutLink(1, 2);
    net.cutLink(1, 3);
    net.tick(2 * ELECTION_TICKS);
    expect(net.raft(1).status().role).not.toBe('leader');
  });

  it('do not confirm a leader\'s read: only voters\' heartbeat answers count (ReadIndex)', () => {
    const net = cluster();
    net.elect(1);
    net.raft(1).propose('a');
    net.flush();
    net.cutLink(1, 2);
    net.cutLink(1, 3);
    expect(net.raft(1).readIndex('r1')).toBe(true);
    net.flush();
    expect(net.member(1).reads).toEqual([]);
    net.heal();
    net.tick();
    expect(net.member(1).reads!.map((r) => r.context)).toEqual(['r1']);
  });

  it('serve a linearizable read through the leader\'s read index', () => {
    const net = cluster();
    net.elect(1);
    net.raft(1).propose('a');
    net.flush();
    const commit = net.raft(1).status().commitIndex;
    expect(net.raft(4).readIndex('r4')).toBe(true);
    net.flush();
    expect(net.member(4).reads).toEqual([{ context: 'r4', index: commit }]);
  });

  it('lose nothing acknowledged when the leader dies: a voter takes over and the learners follow it', () => {
    const net = cluster();
    net.elect(1);
    const proposal = net.raft(1).propose('d');
    net.flush();
    expect(proposal.ok && net.member(1).applied.some((e) => e.data === 'd')).toBe(true);
    net.crash(1);
    net.tickUntil(() => net.leaders().length === 1, 6 * ELECTION_TICKS, 'a new leader');
    const [leader] = net.leaders();
    expect(VOTERS).toContain(leader);
    net.raft(leader!).propose('e');
    net.tick(2);
    for (const id of LEARNERS) {
      expect(net.raft(id).status().leader).toBe(leader);
      expect(net.member(id).applied.map((e) => e.data)).toEqual(expect.arrayContaining(['d', 'e']));
    }
  });

  it('forget a leader they no longer hear from after an election timeout', () => {
    const net = cluster();
    net.elect(1);
    net.isolate(4);
    net.tick(2 * ELECTION_TICKS + 1);
    expect(net.raft(4).status()).toMatchObject({ leader: 0, role: 'follower' });
  });

  it('commit on their own when the only voter is up (one voter, two learners)', () => {
    const net = new Network([1, 2, 3], { overrides: { members: [1], learners: [2, 3] } });
    expect(net.raft(1).status().role).toBe('leader');
    net.crash(2);
    net.crash(3);
    const proposal = net.raft(1).propose('f');
    net.flush();
    net.flush();
    expect(proposal.ok && net.raft(1).status().commitIndex).toBe(proposal.ok && proposal.index);
  });
});
