/**
 * Protocol specs of the Raft core (src/core/consensus/raft.ts), read against the Raft paper
 * (§5, §9.6 pre-vote) and etcd-raft's behaviour (check-quorum, Ready). Members run over the
 * in-process Network of raft-network.ts: persist each Ready, then deliver its messages.
 */
import { describe, expect, it } from 'vitest';
import type { RaftMessage, VoteRequest } from '../../src/core/consensus/messages.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { HardState } from '../../src/core/consensus/types.ts';
import { MemStableLog } from './mem-stable-log.ts';
import { drain, ELECTION_TICKS, HEARTBEAT_TICKS, Network } from './raft-network.ts';

/** A member with a persisted log of `terms` and `hardState`, driven by hand. */
function lone(terms: readonly number[], hardState: HardState, id = 1, members = [1, 2, 3]) {
  const store = MemStableLog.withTerms(terms, hardState);
  const raft = new Raft({
    id, members, log: store, hardState, appliedIndex: 0,
    electionTicks: ELECTION_TICKS, heartbeatTicks: HEARTBEAT_TICKS, random: () => 0,
  });
  return { raft, store, applied: [], drain: () => drain({ raft, store, applied: [] }) };
}

function voteRequest(fields: Partial<VoteRequest>): RaftMessage {
  return { type: 'MsgVote', from: 2, to: 1, term: 3, lastIndex: 3, lastTerm: 2, ...fields } as RaftMessage;
}

/** Node 1 times out first, then 2, then 3 (... ). */
const FIRST_IS_ONE = { timeoutOffsets: { 1: 0, 2: 3, 3: 6, 4: 8, 5: 9 } };

describe('election', () => {
  it('leads at once as a single member, committing its empty entry once persisted', () => {
    const { raft, drain: take } = lone([], { term: 0, vote: 0, commit: 0 }, 1, [1]);
    expect(raft.status()).toMatchObject({ role: 'leader', term: 1, leader: 1 });
    const ready = take();
    expect(ready.softState).toEqual({ role: 'leader', leader: 1, term: 1 });
    expect(ready.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(ready.entries).toEqual([{ term: 1, index: 1, data: '' }]);
    expect(ready.committed).toEqual([]);
    expect(raft.propose('x')).toEqual({ ok: true, term: 1, index: 2 });
    // The empty entry committed at advance (now durable); 'x' once its own Ready is persisted.
    const second = take();
    expect(second.committed.map((e) => e.data)).toEqual(['']);
    expect(second.entries.map((e) => e.data)).toEqual(['x']);
    expect(take().committed.map((e) => e.data)).toEqual(['x']);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('elects exactly one leader among three members (seed %i)', (seed) => {
    const net = new Network([1, 2, 3], { seed });
    const ticks = net.tickUntil(() => net.leaders().length > 0, 4 * ELECTION_TICKS, 'a leader');
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
    expect(net.leaders()).toHaveLength(1);
    net.tick(3 * ELECTION_TICKS);
    const [leader] = net.leaders();
    expect(net.leaders()).toEqual([leader]);
    const statuses = net.ids.map((id) => net.raft(id).status());
    expect(new Set(statuses.map((s) => s.term)).size).toBe(1);
    expect(statuses.every((s) => s.leader === leader)).toBe(true);
  });

  it('rejects a vote from a stale term', () => {
    const member = lone([1, 1, 2], { term: 5, vote: 0, commit: 0 });
    member.raft.step(voteRequest({ term: 4, lastIndex: 9, lastTerm: 4 }));
    const ready = member.drain();
    expect(ready.messages).toEqual([{ type: 'MsgVoteResp', from: 1, to: 2, term: 5, granted: false }]);
    expect(ready.hardState).toBeUndefined();
    expect(member.raft.status().term).toBe(5);
  });

  // The voter's log ends at (3, term 2); the request is for term 3.
  const upToDate = [
    { lastIndex: 3, lastTerm: 2, granted: true },
    { lastIndex: 5, lastTerm: 2, granted: true },
    { lastIndex: 1, lastTerm: 3, granted: true },
    { lastIndex: 2, lastTerm: 2, granted: false },
    { lastIndex: 7, lastTerm: 1, granted: false },
  ] as const;
  it.each(upToDate)('grants a vote to a log ending at ($lastIndex, $lastTerm): $granted', ({ lastIndex, lastTerm, granted }) => {
    const member = lone([1, 1, 2], { term: 2, vote: 0, commit: 0 });
    member.raft.step(voteRequest({ lastIndex, lastTerm }));
    const ready = member.drain();
    expect(ready.messages).toEqual([{ type: 'MsgVoteResp', from: 1, to: 2, term: 3, granted }]);
    // The vote is durable (in this Ready's hardState) before the response goes out.
    expect(ready.hardState).toEqual({ term: 3, vote: granted ? 2 : 0, commit: 0 });
  });

  it('votes once per term, repeating the same answer to the same candidate', () => {
    const member = lone([1, 1, 2], { term: 2, vote: 0, commit: 0 });
    const answers = [2, 3, 2].map((from) => {
      member.raft.step(voteRequest({ from }));
      return (member.drain().messages[0] as RaftMessage & { granted: boolean }).granted;
    });
    expect(answers).toEqual([true, false, true]);
    expect(member.store.hardState().vote).toBe(2);
  });

  it('keeps its vote across a restart', () => {
    const member = lone([1, 1, 2], { term: 3, vote: 2, commit: 0 });
    member.raft.step(voteRequest({ from: 3, lastIndex: 9 }));
    expect(member.drain().messages).toEqual([{ type: 'MsgVoteResp', from: 1, to: 3, term: 3, granted: false }]);
  });

  it('grants a pre-vote without changing its term or vote', () => {
    const member = lone([1, 1, 2], { term: 2, vote: 1, commit: 0 });
    member.raft.step(voteRequest({ type: 'MsgPreVote' }));
    const ready = member.drain();
    expect(ready.messages).toEqual([{ type: 'MsgPreVoteResp', from: 1, to: 2, term: 3, granted: true }]);
    expect(ready.hardState).toBeUndefined();
    expect(member.raft.status()).toMatchObject({ term: 2, role: 'follower' });
  });

  it('does not raise the term of a partitioned member, which rejoins without disrupting the leader', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    const term = net.raft(1).status().term;
    net.isolate(3);
    net.tick(10 * ELECTION_TICKS);
    expect(net.raft(3).status()).toMatchObject({ term, role: 'precandidate' });
    net.heal();
    net.tick(3 * ELECTION_TICKS);
    expect(net.leaders()).toEqual([1]);
    expect(net.ids.map((id) => net.raft(id).status().term)).toEqual([term, term, term]);
    expect(net.raft(3).status()).toMatchObject({ role: 'follower', leader: 1 });
  });

  it('steps down as a leader cut off from the majority within two election timeouts (check-quorum)', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.tick(ELECTION_TICKS + 3);
    net.isolate(1);
    const ticks = net.tickUntil(() => net.raft(1).status().role !== 'leader', 2 * ELECTION_TICKS, 'step-down');
    expect(ticks).toBeGreaterThan(0);
    expect(net.raft(1).status()).toMatchObject({ role: 'follower', leader: 0 });
  });

  it('ignores a vote request while it heard from its leader within an election timeout (lease)', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    const { term, lastIndex } = net.raft(2).status();
    const request = voteRequest({ from: 3, to: 2, term: term + 1, lastIndex: lastIndex + 5, lastTerm: term });
    for (const type of ['MsgPreVote', 'MsgVote'] as const) net.raft(2).step({ ...request, type } as RaftMessage);
    const ready = drain(net.member(2));
    expect(ready.messages).toEqual([]);
    expect(net.raft(2).status()).toMatchObject({ term, leader: 1, role: 'follower' });
  });

  it('grants a vote once the lease has expired', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.crash(1);
    for (let i = 0; i < ELECTION_TICKS; i++) net.raft(2).tick();
    const { term, lastIndex } = net.raft(2).status();
    net.raft(2).step(voteRequest({ from: 3, to: 2, term: term + 1, lastIndex, lastTerm: term }));
    expect(drain(net.member(2)).messages).toEqual([{ type: 'MsgVoteResp', from: 2, to: 3, term: term + 1, granted: true }]);
  });
});

describe('leader step-down', () => {
  const higher = [
    { type: 'MsgAppResp', index: 0, rejected: true },
    { type: 'MsgHeartbeat', commit: 0 },
    { type: 'MsgApp', prevIndex: 0, prevTerm: 0, entries: [], commit: 0 },
    { type: 'MsgHeartbeatResp' },
    { type: 'MsgVoteResp', granted: false },
  ] as const;
  it.each(higher)('becomes a follower when it sees a $type of a higher term', (fields) => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    const term = net.raft(1).status().term;
    net.raft(1).step({ from: 2, to: 1, term: term + 1, ...fields } as RaftMessage);
    const expectedLeader = fields.type === 'MsgApp' || fields.type === 'MsgHeartbeat' ? 2 : 0;
    expect(net.raft(1).status()).toMatchObject({ role: 'follower', term: term + 1, leader: expectedLeader });
    expect(drain(net.member(1)).hardState).toEqual({ term: term + 1, vote: 0, commit: net.raft(1).status().commitIndex });
  });

  it('rejoins as a follower of the new leader after a partition, dropping its uncommitted proposals', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.isolate(1);
    const stale = net.raft(1).propose('lost');
    expect(stale.ok).toBe(true);
    net.tickUntil(() => net.leaders().some((id) => id !== 1), 4 * ELECTION_TICKS, 'a new leader');
    const [newLeader] = net.leaders().filter((id) => id !== 1);
    net.heal();
    net.tick(2 * ELECTION_TICKS);
    expect(net.leaders()).toEqual([newLeader]);
    expect(net.raft(1).status()).toMatchObject({ role: 'follower', leader: newLeader });
    expect(net.member(1).applied.map((e) => e.data)).not.toContain('lost');
    expect(net.logTerms(1)).toEqual(net.logTerms(newLeader!));
  });
});

describe('replication', () => {
  it('commits a proposal once a quorum has persisted it', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    const before = net.raft(1).status().commitIndex;
    net.isolate(1);
    const proposal = net.raft(1).propose('a');
    net.flush();
    expect(net.raft(1).status().commitIndex).toBe(before);
    net.heal();
    net.cutLink(1, 3);
    net.tick();
    expect(proposal.ok && net.raft(1).status().commitIndex).toBe(proposal.ok && proposal.index);
    expect(net.member(1).applied.map((e) => e.data)).toContain('a');
  });

  it('acknowledges an append only in the Ready that persists it', () => {
    const member = lone([1], { term: 1, vote: 0, commit: 1 }, 2);
    member.raft.step({ type: 'MsgApp', from: 1, to: 2, term: 2, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ term: 2, index: 2, data: 'a' }] });
    const ready = member.drain();
    expect(ready.entries).toEqual([{ term: 2, index: 2, data: 'a' }]);
    expect(ready.messages).toEqual([{ type: 'MsgAppResp', from: 2, to: 1, term: 2, index: 2, rejected: false }]);
  });

  it('truncates a follower\'s divergent uncommitted suffix (log matching)', () => {
    // Member 3 led term 2 and appended 3..4 that nobody else has; 1 and 2 then elect 1 in term 3.
    const stores = {
      1: MemStableLog.withTerms([1, 1], { term: 2, vote: 3, commit: 2 }),
      2: MemStableLog.withTerms([1, 1], { term: 2, vote: 3, commit: 2 }),
      3: MemStableLog.withTerms([1, 1, 2, 2], { term: 2, vote: 3, commit: 2 }),
    };
    const net = new Network([1, 2, 3], { ...FIRST_IS_ONE, stores });
    net.isolate(3);
    net.elect(1);
    net.heal();
    net.tick(2);
    expect(net.logTerms(3)).toEqual([1, 1, 3]);
    expect(net.ids.map((id) => net.logTerms(id))).toEqual([[1, 1, 3], [1, 1, 3], [1, 1, 3]]);
  });

  it('does not commit an earlier term\'s entry on a majority until an entry of its own term commits (Figure 8)', () => {
    // Figure 8 (c): S1 led term 2 and put index 2 on S1, S2; S5 led term 3 with index 2 on itself only.
    const stores = {
      1: MemStableLog.withTerms([1, 2], { term: 3, vote: 0, commit: 1 }),
      2: MemStableLog.withTerms([1, 2], { term: 3, vote: 0, commit: 1 }),
      3: MemStableLog.withTerms([1], { term: 3, vote: 5, commit: 1 }),
      4: MemStableLog.withTerms([1], { term: 3, vote: 5, commit: 1 }),
      5: MemStableLog.withTerms([1, 3], { term: 3, vote: 5, commit: 1 }),
    };
    const net = new Network([1, 2, 3, 4, 5], { stores, timeoutOffsets: { 1: 0, 2: 9, 3: 9, 4: 9, 5: 0 }, overrides: { maxEntriesPerMessage: 1 } });
    net.isolate(5);
    // Entries of S1's own term 4 never arrive anywhere.
    const ownTerm = (m: RaftMessage) => m.type === 'MsgApp' && m.entries.some((e) => e.term === 4);
    net.dropIf = ownTerm;
    net.elect(1);
    net.flush();
    expect(net.logTerms(3).slice(0, 2)).toEqual([1, 2]);
    expect(net.raft(1).status()).toMatchObject({ term: 4, commitIndex: 1 });
    // (d): S1 crashes; S5 (last term 3) wins term 5 and overwrites index 2 everywhere: safe, as never committed.
    net.crash(1);
    net.heal();
    net.dropIf = () => false;
    net.tickUntil(() => net.leaders().includes(5), 6 * ELECTION_TICKS, 'S5 leading');
    net.tick(2);
    for (const id of [2, 3, 4, 5]) expect(net.logTerms(id).slice(0, 2)).toEqual([1, 3]);
    for (const id of [1, 2, 3, 4, 5]) expect(net.member(id).applied.some((e) => e.index === 2 && e.term === 2)).toBe(false);
  });

  it('commits an earlier term\'s entry together with the first entry of its own term', () => {
    const stores = {
      1: MemStableLog.withTerms([1, 2], { term: 3, vote: 0, commit: 1 }),
      2: MemStableLog.withTerms([1], { term: 3, vote: 0, commit: 1 }),
      3: MemStableLog.withTerms([1], { term: 3, vote: 0, commit: 1 }),
    };
    const net = new Network([1, 2, 3], { ...FIRST_IS_ONE, stores });
    net.elect(1);
    net.tick();
    expect(net.raft(1).status()).toMatchObject({ term: 4, commitIndex: 3 });
    expect(net.member(1).applied.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 2], [3, 4]]);
  });

  it('hands out committed entries in log order, each exactly once, on every member', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    for (let i = 0; i < 40; i++) {
      net.raft(1).propose(`v${i}`);
      if (i % 3 === 0) net.flush();
      if (i % 7 === 0) net.tick();
    }
    net.tick(3);
    const logs = net.ids.map((id) => net.member(id).applied);
    for (const applied of logs) {
      expect(applied.map((e) => e.index)).toEqual(applied.map((_, i) => i + 1));
      expect(applied.map((e) => e.data).filter((d) => d !== '')).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`));
    }
    expect(logs[1]).toEqual(logs[0]);
    expect(logs[2]).toEqual(logs[0]);
  });

  it('refuses a proposal on a follower and names the leader', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    expect(net.raft(2).propose('x')).toEqual({ ok: false, leader: 0 });
    net.elect(1);
    expect(net.raft(2).propose('x')).toEqual({ ok: false, leader: 1 });
    expect(net.raft(2).hasReady()).toBe(false);
  });

  it('lets followers learn a new commit index without waiting for a heartbeat', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.tick();
    net.raft(1).propose('a');
    net.flush();
    const commit = net.raft(1).status().commitIndex;
    expect(net.ids.map((id) => net.raft(id).status().commitIndex)).toEqual([commit, commit, commit]);
  });

  it('sends a snapshot to a follower whose next entries were compacted away', () => {
    // 1 and 2 checkpointed through index 3 and dropped entries 1..3; 3 has nothing yet.
    const compacted = () => {
      const store = MemStableLog.withTerms([1, 1, 1, 1], { term: 1, vote: 0, commit: 4 });
      store.compact(3);
      return store;
    };
    const net = new Network([1, 2, 3], { ...FIRST_IS_ONE, stores: { 1: compacted(), 2: compacted() } });
    net.elect(1);
    net.tick(2 * ELECTION_TICKS);
    const toThree = new Set(net.delivered.filter((m) => m.to === 3).map((m) => m.type as string));
    expect([...toThree]).toContain('MsgSnap');
    // Once its host installed the checkpoint, member 3 follows the log from there.
    net.raft(1).propose('after');
    net.flush();
    const last = net.raft(1).status().lastIndex;
    expect(net.raft(3).status()).toMatchObject({ lastIndex: last, commitIndex: last });
    expect(net.raft(1).followers().get(3)).toMatchObject({ match: last });
  });

  it('sends a checkpoint once, then waits for the follower to answer before sending it again', () => {
    const compacted = () => {
      const store = MemStableLog.withTerms([1, 1, 1, 1], { term: 1, vote: 0, commit: 4 });
      store.compact(3);
      return store;
    };
    const net = new Network([1, 2, 3], { ...FIRST_IS_ONE, stores: { 1: compacted(), 2: compacted() } });
    // Every checkpoint sent to member 3 is lost; everything else arrives.
    let snapshotsSent = 0;
    net.dropIf = (m) => m.type === 'MsgSnap' && ++snapshotsSent > 0;
    net.elect(1);
    net.tick(ELECTION_TICKS);
    // 3 answered every heartbeat meanwhile: none of those answers made the leader send it again.
    expect(snapshotsSent).toBe(1);
    expect(net.raft(1).followers().get(3)).toMatchObject({ pendingSnapshot: 3 });
    // Two election timeouts without an answer about it: the leader sends it again, once.
    net.tick(ELECTION_TICKS + 1);
    expect(snapshotsSent).toBe(2);
    // Delivered at last, it is answered, and 3 follows the log from there.
    net.dropIf = () => false;
    net.tick(2 * ELECTION_TICKS + 1);
    const last = net.raft(1).status().lastIndex;
    expect(net.raft(1).followers().get(3)).toMatchObject({ pendingSnapshot: 0, match: last });
  });

  it('keeps its log when a late checkpoint arrives for entries it already holds', () => {
    // Member 1 holds entries 1..5 of term 1, commit 2; the leader (2) once sent a checkpoint at 3.
    const member = lone([1, 1, 1, 1, 1], { term: 1, vote: 0, commit: 2 });
    member.raft.step({ type: 'MsgSnap', from: 2, to: 1, term: 1, snapshotIndex: 3, snapshotTerm: 1 });
    const ready = member.drain();
    expect(ready.snapshot).toBeUndefined();
    expect(member.raft.status()).toMatchObject({ lastIndex: 5, commitIndex: 3, pendingSnapshot: 0 });
    expect(ready.messages).toEqual([{ type: 'MsgAppResp', from: 1, to: 2, term: 1, index: 3, rejected: false }]);
  });

  it('replaces its log with a checkpoint whose last entry it does not hold', () => {
    const member = lone([1, 1, 1], { term: 2, vote: 0, commit: 1 });
    member.raft.step({ type: 'MsgSnap', from: 2, to: 1, term: 2, snapshotIndex: 4, snapshotTerm: 2 });
    expect(member.raft.status()).toMatchObject({ pendingSnapshot: 4, commitIndex: 4, appliedIndex: 4 });
    const ready = member.drain();
    expect(ready.snapshot).toEqual({ index: 4, term: 2 });
    expect(member.store.firstIndex()).toBe(5);
    expect(member.raft.status()).toMatchObject({ lastIndex: 4, pendingSnapshot: 0 });
  });

  it('ignores a checkpoint at or behind its commit index', () => {
    const member = lone([1, 1, 1, 1], { term: 1, vote: 0, commit: 4 });
    member.raft.step({ type: 'MsgSnap', from: 2, to: 1, term: 1, snapshotIndex: 3, snapshotTerm: 1 });
    const ready = member.drain();
    expect(ready.snapshot).toBeUndefined();
    expect(member.raft.status()).toMatchObject({ lastIndex: 4, commitIndex: 4 });
  });

  it('goes quiet after a duplicated, stale append rejection arrives late', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.isolate(2);
    for (const value of ['a', 'b', 'c']) net.raft(1).propose(value);
    net.flush();
    net.heal();
    net.tick();
    const rejection = net.delivered.find((m) => m.type === 'MsgAppResp' && m.rejected && m.from === 2);
    expect(rejection).toBeDefined();
    const last = net.raft(1).status().lastIndex;
    expect(net.raft(1).followers().get(2)).toMatchObject({ match: last });
    net.deliver(rejection!);
    expect(() => net.flush()).not.toThrow();
    const progress = net.raft(1).followers().get(2)!;
    expect(progress.next).toBeGreaterThan(progress.match);
  });
});

describe('linearizable reads (ReadIndex)', () => {
  const reads = (net: Network, id: number) => net.member(id).reads ?? [];

  it('grants a lone leader its commit index at once', () => {
    const { raft, drain: take } = lone([], { term: 0, vote: 0, commit: 0 }, 1, [1]);
    take();
    expect(raft.readIndex('r1')).toBe(true);
    expect(take().readStates).toEqual([{ context: 'r1', index: 1 }]);
  });

  it('grants a leader its commit index only once a quorum answered a heartbeat carrying the read', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.raft(1).propose('a');
    net.flush();
    const commit = net.raft(1).status().commitIndex;
    let confirmations = 0;
    net.dropIf = (m) => m.type === 'MsgHeartbeatResp' && m.context === 'r1' && ++confirmations > 0 && true;
    expect(net.raft(1).readIndex('r1')).toBe(true);
    net.flush();
    expect(confirmations, 'both followers answered, and both answers were lost').toBe(2);
    expect(reads(net, 1)).toEqual([]);
    net.dropIf = () => false;
    net.tick(); // the next heartbeat carries the read again
    expect(reads(net, 1)).toEqual([{ context: 'r1', index: commit }]);
  });

  it('confirms every read that arrived before the next Ready with one heartbeat round', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    const before = net.delivered.filter((m) => m.type === 'MsgHeartbeat').length;
    for (const context of ['r1', 'r2', 'r3']) net.raft(1).readIndex(context);
    net.flush();
    expect(net.delivered.filter((m) => m.type === 'MsgHeartbeat').length - before).toBe(2);
    expect(reads(net, 1).map((r) => r.context)).toEqual(['r1', 'r2', 'r3']);
  });

  it('never grants a read to a leader cut off from the quorum (a newer leader may have committed more)', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.isolate(1);
    net.raft(1).readIndex('stale');
    net.tick(3 * ELECTION_TICKS);
    expect(reads(net, 1)).toEqual([]);
  });

  it('answers a follower with the leader\'s commit index, confirmed by a quorum', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    net.elect(1);
    net.raft(1).propose('a');
    net.flush();
    const commit = net.raft(1).status().commitIndex;
    expect(net.raft(2).readIndex('f1')).toBe(true);
    net.flush();
    expect(reads(net, 2)).toEqual([{ context: 'f1', index: commit }]);
    expect(reads(net, 1)).toEqual([]);
  });

  it('refuses a read when no leader is known', () => {
    const net = new Network([1, 2, 3], FIRST_IS_ONE);
    expect(net.raft(2).readIndex('nobody')).toBe(false);
  });

  it('makes a new leader wait for its first commit before granting reads', () => {
    // Member 1 won with entries 1..2 of term 1 not yet known committed: its commit index could be behind.
    const member = lone([1, 1], { term: 1, vote: 0, commit: 0 });
    const net = new Network([1, 2, 3], { ...FIRST_IS_ONE, stores: { 1: member.store } });
    net.dropIf = (m) => m.type === 'MsgAppResp';
    net.elect(1);
    net.raft(1).readIndex('early');
    net.flush();
    expect(reads(net, 1)).toEqual([]);
    net.dropIf = () => false;
    net.tick(2);
    const commit = net.raft(1).status().commitIndex;
    expect(commit).toBeGreaterThanOrEqual(3);
    expect(reads(net, 1)).toEqual([{ context: 'early', index: commit }]);
  });
});
