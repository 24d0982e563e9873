/**
 * Specs of membership changes in the Raft core (Raft thesis §4.1, single-server changes): add a
 * learner, promote it, remove a member — one change at a time through the log, in force once
 * appended, refused when it would lose the quorum or the learner lags. Voters 1, 2, 3; members
 * 4 and 5 run but are not in the configuration until a change adds them.
 */
import { describe, expect, it } from 'vitest';
import { clusterConfig } from '../../src/core/consensus/cluster-config.ts';
import { applyConfChange, decodeConfChange, encodeConfChange, type ConfChange } from '../../src/core/consensus/conf-change.ts';
import { ConfHistory } from '../../src/core/consensus/conf-history.ts';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import { MemStableLog } from './mem-stable-log.ts';
import { ELECTION_TICKS, Network } from './raft-network.ts';

const FOUNDERS = [1, 2, 3];
const OFFSETS = { 1: 0, 2: 3, 3: 6, 4: 0, 5: 0 };

function led(overrides: Record<string, unknown> = {}): Network {
  const net = new Network([1, 2, 3, 4, 5], { timeoutOffsets: OFFSETS, overrides: { members: FOUNDERS, ...overrides } });
  net.elect(1);
  net.tick();
  return net;
}

const isVote = (m: RaftMessage) => m.type === 'MsgVote' || m.type === 'MsgPreVote';

/** Proposes `change` at `leader`, expecting it taken, and lets it commit. */
function change(net: Network, leader: number, conf: ConfChange): number {
  const result = net.raft(leader).proposeConfChange(conf);
  if (!result.ok) throw new Error(`${conf.type} ${conf.id} refused: ${result.code} ${result.message}`);
  net.tick(2);
  return result.index;
}

describe('configuration change entries', () => {
  it('round-trip through their encoding, and nothing else decodes as one', () => {
    const add: ConfChange = { type: 'addLearner', id: 4, address: { client: '127.0.0.1:8184', peer: '127.0.0.1:9184' } };
    expect(decodeConfChange(encodeConfChange(add))).toEqual(add);
    expect(decodeConfChange(encodeConfChange({ type: 'remove', id: 2 }))).toEqual({ type: 'remove', id: 2 });
    expect(decodeConfChange('')).toBeUndefined();
    expect(decodeConfChange('{"timeMs":1}')).toBeUndefined();
    expect(decodeConfChange('conf:{"type":"remove","id":-1}')).toBeUndefined();
    expect(decodeConfChange('conf:not json')).toBeUndefined();
  });

  it('apply forgivingly: a change already in force changes nothing, and the last voter stays', () => {
    const base = clusterConfig([1, 2, 3], [4]);
    expect(applyConfChange(base, { type: 'addLearner', id: 4 })).toEqual(base);
    expect(applyConfChange(base, { type: 'promote', id: 2 })).toEqual(base);
    expect(applyConfChange(base, { type: 'remove', id: 9 })).toEqual(base);
    expect(applyConfChange(clusterConfig([1]), { type: 'remove', id: 1 })).toEqual(clusterConfig([1]));
    expect(applyConfChange(base, { type: 'promote', id: 4 })).toEqual(clusterConfig([1, 2, 3, 4]));
  });

  it('are remembered per index, forgotten when truncated, and reset by a checkpoint', () => {
    const history = new ConfHistory(0, clusterConfig([1, 2, 3]));
    history.appended([{ term: 1, index: 1, data: '' }, { term: 1, index: 2, data: encodeConfChange({ type: 'addLearner', id: 4 }) }]);
    history.appended([{ term: 1, index: 3, data: encodeConfChange({ type: 'promote', id: 4 }) }]);
    expect(history.at(1).learners).toEqual([]);
    expect(history.at(2).learners).toEqual([4]);
    expect(history.current().voters).toEqual([1, 2, 3, 4]);
    history.appended([{ term: 2, index: 3, data: '' }]);
    expect(history.current()).toEqual(clusterConfig([1, 2, 3], [4]));
    history.restore(10, clusterConfig([1, 2]));
    expect(history.at(5)).toEqual(clusterConfig([1, 2]));
    expect(history.lastChangeIndex()).toBe(10);
  });
});

describe('adding a learner', () => {
  it('takes effect on append, before it commits, on the leader and on a follower', () => {
    const net = led();
    net.dropIf = (m) => m.type === 'MsgAppResp' && m.to === 1; // nothing commits
    const result = net.raft(1).proposeConfChange({ type: 'addLearner', id: 4 });
    expect(result.ok).toBe(true);
    expect(net.raft(1).clusterConfig().learners).toEqual([4]);
    net.flush();
    expect(net.raft(2).clusterConfig().learners).toEqual([4]);
    expect(net.raft(1).status().commitIndex).toBeLessThan(result.ok ? result.index : 0);
  });

  it('replicates the whole log to the new member, which applies it and never votes', () => {
    const net = led();
    net.raft(1).propose('before');
    net.tick();
    change(net, 1, { type: 'addLearner', id: 4, address: { client: 'c4', peer: 'p4' } });
    net.raft(1).propose('after');
    net.tick(2);
    expect(net.member(4).applied.map((e) => e.data)).toContain('before');
    expect(net.member(4).applied.map((e) => e.data)).toContain('after');
    expect(net.raft(4).clusterConfig().addresses['4']).toEqual({ client: 'c4', peer: 'p4' });
    net.isolate(1);
    net.tick(4 * ELECTION_TICKS);
    expect(net.delivered.filter((m) => m.from === 4 && isVote(m))).toEqual([]);
    expect(net.raft(4).status().role).toBe('follower');
  });

  it('refuses a member already in the cluster', () => {
    const net = led();
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 2 })).toMatchObject({ ok: false, code: 'MEMBEREXISTS' });
  });
});

describe('one change at a time', () => {
  it('refuses a second change while the first is uncommitted, and takes it once committed', () => {
    const net = led();
    net.dropIf = (m) => m.type === 'MsgAppResp' && m.to === 1;
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 4 }).ok).toBe(true);
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 5 })).toMatchObject({ ok: false, code: 'CHANGEPENDING' });
    net.heal();
    net.tick(2);
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 5 }).ok).toBe(true);
  });

  it('refuses a change from a new leader until it has committed an entry of its own term', () => {
    const net = new Network([1, 2, 3], { timeoutOffsets: OFFSETS });
    net.dropIf = (m) => m.type === 'MsgAppResp' && m.to === 1;
    net.elect(1);
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 4 })).toMatchObject({ ok: false, code: 'NOTREADY' });
    net.heal();
    net.tick(2);
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 4 }).ok).toBe(true);
  });

  it('is refused on a follower, which names the leader', () => {
    const net = led();
    expect(net.raft(2).proposeConfChange({ type: 'addLearner', id: 4 })).toMatchObject({ ok: false, code: 'NOTLEADER', leader: 1 });
  });
});

describe('promoting a learner', () => {
  it('is refused while the learner lags more than the bound, and taken once it caught up', () => {
    const net = led({ promoteLagMax: 2 });
    change(net, 1, { type: 'addLearner', id: 4 });
    net.dropIf = (m) => m.type === 'MsgApp' && m.to === 4 && m.entries.length > 0;
    for (const value of ['a', 'b', 'c', 'd']) net.raft(1).propose(value);
    net.tick(2);
    const refused = net.raft(1).proposeConfChange({ type: 'promote', id: 4 });
    expect(refused).toMatchObject({ ok: false, code: 'NOTCAUGHTUP' });
    expect(refused.ok ? '' : refused.message).toMatch(/lags \d+ entries/);
    net.heal();
    net.tick(2);
    change(net, 1, { type: 'promote', id: 4 });
    expect(net.raft(1).clusterConfig().voters).toEqual([1, 2, 3, 4]);
  });

  it('makes the learner a voter whose acknowledgement counts: 3 of 4 voters commit', () => {
    const net = led();
    change(net, 1, { type: 'addLearner', id: 4 });
    change(net, 1, { type: 'promote', id: 4 });
    net.crash(2);
    net.crash(3);
    const stuck = net.raft(1).propose('x');
    net.tick(2);
    expect(net.raft(1).status().commitIndex).toBeLessThan(stuck.ok ? stuck.index : 0);
    net.crash(4);
    net.tick();
    expect(net.leaders()).toEqual([1]);
  });

  it('refuses a member that is not a learner', () => {
    const net = led();
    expect(net.raft(1).proposeConfChange({ type: 'promote', id: 2 })).toMatchObject({ ok: false, code: 'NOTLEARNER' });
    expect(net.raft(1).proposeConfChange({ type: 'promote', id: 7 })).toMatchObject({ ok: false, code: 'NOMEMBER' });
  });
});

describe('removing a member', () => {
  it('is refused when the voters left that answered lately are fewer than the new quorum', () => {
    const net = led();
    net.crash(3);
    net.tick(ELECTION_TICKS + 1);
    const refused = net.raft(1).proposeConfChange({ type: 'remove', id: 2 });
    expect(refused).toMatchObject({ ok: false, code: 'QUORUM' });
    expect(refused.ok ? '' : refused.message).toMatch(/fewer than the quorum of 2/);
  });

  it('is refused when a voter left died a moment ago, though it still counts as recently active', () => {
    const net = led();
    net.crash(3);
    net.tick(3);
    // Within an election timeout of its death, 3 is still "recently active" (the check-quorum and listing view)…
    expect(net.raft(1).recentlyActive(3)).toBe(true);
    // …but it answers no heartbeat: removing 2 would leave {1, 3} with 3 unable to acknowledge anything.
    const refused = net.raft(1).proposeConfChange({ type: 'remove', id: 2 });
    expect(refused).toMatchObject({ ok: false, code: 'QUORUM' });
    expect(refused.ok ? '' : refused.message).toMatch(/would leave 1 recently active voter\(s\) \(1\) of 2.*last two heartbeats/);
    expect(net.raft(1).clusterConfig().voters).toEqual([1, 2, 3]);
  });

  it('counts a voter whose answers to the last two heartbeats were lost, not one silent for three', () => {
    const removalAfterSilence = (ticks: number) => {
      const net = led();
      net.dropIf = (m) => m.from === 3 && m.to === 1;
      net.tick(ticks);
      return net.raft(1).proposeConfChange({ type: 'remove', id: 2 }).ok;
    };
    expect(removalAfterSilence(2)).toBe(true);
    expect(removalAfterSilence(3)).toBe(false);
  });

  it('counts a voter active only once it answered this leader: a new leader does not count a dead one', () => {
    const net = new Network([1, 2, 3], { timeoutOffsets: OFFSETS });
    net.crash(3);
    net.elect(1);
    net.tick(2);
    expect(net.raft(1).proposeConfChange({ type: 'remove', id: 2 })).toMatchObject({ ok: false, code: 'QUORUM' });
  });

  it('removes a dead voter, after which the two left commit alone', () => {
    const net = led();
    net.crash(3);
    net.tick(ELECTION_TICKS + 1);
    change(net, 1, { type: 'remove', id: 3 });
    expect(net.raft(1).clusterConfig().voters).toEqual([1, 2]);
    const proposal = net.raft(1).propose('y');
    net.tick(2);
    expect(net.raft(1).status().commitIndex).toBe(proposal.ok ? proposal.index : -1);
  });

  it('stops a removed member from campaigning and from being replicated to', () => {
    const net = led();
    change(net, 1, { type: 'remove', id: 3 });
    net.tick(2);
    const sentBefore = net.delivered.length;
    net.isolate(1);
    net.heal();
    net.cutLink(3, 1);
    net.cutLink(3, 2);
    net.tick(5 * ELECTION_TICKS);
    expect(net.delivered.slice(sentBefore).filter((m) => m.from === 3 && isVote(m))).toEqual([]);
    expect(net.raft(3).status().learner).toBe(true);
  });

  it('lets a leader remove itself: it leads until the change commits, then hands over and never stands again', () => {
    const net = led();
    const index = change(net, 1, { type: 'remove', id: 1 });
    expect(net.raft(2).status().commitIndex).toBeGreaterThanOrEqual(index);
    net.tickUntil(() => net.leaders().length === 1 && net.leaders()[0] !== 1, 3 * ELECTION_TICKS, 'a new leader among 2 and 3');
    const sentBefore = net.delivered.length;
    net.tick(5 * ELECTION_TICKS);
    expect(net.delivered.slice(sentBefore).filter((m) => m.from === 1 && isVote(m))).toEqual([]);
    const leader = net.leaders()[0]!;
    const proposal = net.raft(leader).propose('z');
    net.tick(2);
    expect(net.raft(leader).status().commitIndex).toBe(proposal.ok ? proposal.index : -1);
  });

  it('refuses to remove the last voter', () => {
    const net = new Network([1], {});
    net.tick();
    expect(net.raft(1).proposeConfChange({ type: 'remove', id: 1 })).toMatchObject({ ok: false, code: 'QUORUM' });
  });
});

describe('the configuration across faults and restarts', () => {
  it('undoes a change whose entry a new leader truncates', () => {
    const net = led();
    net.isolate(1);
    expect(net.raft(1).proposeConfChange({ type: 'addLearner', id: 4 }).ok).toBe(true);
    net.tick();
    expect(net.raft(1).clusterConfig().learners).toEqual([4]);
    net.tickUntil(() => net.leaders().includes(2) || net.leaders().includes(3), 4 * ELECTION_TICKS, 'a leader among 2 and 3');
    net.heal();
    net.tickUntil(() => net.raft(1).status().role === 'follower' && net.raft(1).status().leader !== 0, 4 * ELECTION_TICKS, '1 following');
    net.tick(2);
    expect(net.raft(1).clusterConfig().learners).toEqual([]);
  });

  it('is recovered from the log on restart', () => {
    const net = led();
    change(net, 1, { type: 'addLearner', id: 4 });
    change(net, 1, { type: 'promote', id: 4 });
    const store = net.member(2).store;
    const restarted = new Raft({
      id: 2, members: FOUNDERS, log: store, hardState: store.hardState(), appliedIndex: 0,
      electionTicks: ELECTION_TICKS, heartbeatTicks: 1, random: () => 0,
    });
    expect(restarted.clusterConfig().voters).toEqual([1, 2, 3, 4]);
  });

  it('comes with a checkpoint to a member that needs one, and the log after it adds the rest', () => {
    const net = led();
    change(net, 1, { type: 'addLearner', id: 4, address: { client: 'c4', peer: 'p4' } });
    net.raft(1).propose('p');
    net.tick(2);
    const leaderStore = net.member(1).store;
    const compactAt = net.raft(1).status().commitIndex;
    leaderStore.compact(compactAt, leaderStore.term(compactAt));
    const snaps: RaftMessage[] = [];
    const drop = net.dropIf;
    net.dropIf = (m) => {
      if (m.type === 'MsgSnap') snaps.push(m);
      return drop(m);
    };
    change(net, 1, { type: 'addLearner', id: 5 });
    net.tick(2);
    expect(snaps[0]).toMatchObject({ to: 5, config: { voters: FOUNDERS, learners: [4] } });
    expect(net.raft(5).clusterConfig()).toEqual(clusterConfig(FOUNDERS, [4, 5], { 4: { client: 'c4', peer: 'p4' } }));
  });

  it('reports a change in the next Ready, once', () => {
    const net = led();
    net.raft(1).proposeConfChange({ type: 'addLearner', id: 4 });
    const first = net.raft(1).ready();
    expect(first.config?.learners).toEqual([4]);
    net.member(1).store.persist(first);
    net.raft(1).advance(first);
    expect(net.raft(1).hasReady() ? net.raft(1).ready().config : undefined).toBeUndefined();
  });
});
